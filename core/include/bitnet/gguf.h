/*
 * GGUF reader and writer (versions 2 and 3, little-endian).
 *
 * Reader: the file is mapped read-only (MAP_PRIVATE) and every byte is
 * validated on open - counts against file size, string lengths, tensor
 * shapes, sizes, offsets, alignment, overlaps, duplicate keys and names -
 * so nothing read later can run past the mapping. A file is accepted even
 * when some tensors have types the engine cannot run: each tensor carries
 * the type it was identified as and a `supported` flag with a reason, so a
 * tool can list them; a model loader calls bn_gguf_require_tensor(s) to
 * refuse the first one it needs but cannot use.
 *
 * Ids 36-39 mean different things in BitNet's llama.cpp fork (I2_S, I8_S,
 * TL1, TL2) and in upstream llama.cpp (IQ4_NL_4_4, IQ4_NL_4_8, IQ4_NL_8_8
 * - all removed repacked types - and MXFP4). They are identified by the
 * bytes the tensor spans in the file (the distance to the next tensor, in
 * file order, or to the end of the file, less alignment padding): exactly
 * one interpretation must fit, otherwise the file is refused naming the
 * tensor. Nothing is guessed. A size "fits" when size <= span <= size
 * rounded up to the alignment; sizes for n elements:
 *   I2_S n/4 + 32 (n % 4 == 0; the engine also needs n % 128 == 0),
 *   IQ4_NL_x_y 18 bytes per 32, MXFP4 17 bytes per 32, I8_S n .. n + 32,
 *   TL1/TL2 (tiled, size not derivable) any span in [n/8, 3n/8 + 64].
 * So a small id-39 tensor can be refused as ambiguous, and so can an id
 * 36-39 tensor followed by stray bytes at the end of the file.
 *
 * Strings in the file are not NUL-terminated. Keys, tensor names and scalar
 * string values are copied and NUL-terminated on open; string array
 * elements are handed out as bn_gguf_str (pointer into the mapping + length,
 * NOT NUL-terminated) so large vocabularies cost no copies.
 *
 * Memory: metadata and the tensor table are parsed into small structures
 * (at most a few times the size of the header part of the file); tensor
 * data is never copied.
 *
 * All pointers returned stay valid until bn_gguf_close. Failing calls
 * return a status and set bn_last_error() (e.g. "key 'llama.block_count':
 * expected an integer, found string").
 */
#ifndef BITNET_GGUF_H
#define BITNET_GGUF_H

#include <stddef.h>
#include <stdint.h>

#include "bitnet/bitnet.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BN_GGUF_MAGIC "GGUF"
#define BN_GGUF_DEFAULT_ALIGNMENT 32
#define BN_GGUF_MAX_DIMS 4

/* Metadata value types, as numbered in the file. */
typedef enum bn_gguf_vtype {
    BN_GGUF_U8 = 0,
    BN_GGUF_I8 = 1,
    BN_GGUF_U16 = 2,
    BN_GGUF_I16 = 3,
    BN_GGUF_U32 = 4,
    BN_GGUF_I32 = 5,
    BN_GGUF_F32 = 6,
    BN_GGUF_BOOL = 7,
    BN_GGUF_STR = 8,
    BN_GGUF_ARR = 9,
    BN_GGUF_U64 = 10,
    BN_GGUF_I64 = 11,
    BN_GGUF_F64 = 12,
    BN_GGUF_VTYPE_COUNT
} bn_gguf_vtype;

/* "uint32", "string", "array", ... ("?" if out of range). */
BN_API const char *bn_gguf_vtype_name(int vtype);

/* A string inside the mapping: not NUL-terminated. */
typedef struct bn_gguf_str {
    const char *ptr;
    uint64_t len;
} bn_gguf_str;

typedef struct bn_gguf bn_gguf;             /* an open file */
typedef struct bn_gguf_value bn_gguf_value; /* a metadata value, owned by bn_gguf */

/* ---- GGML type ids ------------------------------------------------------- */

/* Facts about one GGML type id (the numbering GGUF files use). */
typedef struct bn_ggml_type_desc {
    uint32_t id;
    const char *name;    /* "Q4_0", "TQ2_0", "MXFP4", ... */
    int64_t block_elems; /* elements per block; 0 when the size does not follow
                            from the shape alone (I2_S: n/4 + 32; TL1/TL2: tiled) */
    int64_t block_bytes; /* bytes per block; 0 as above */
    int32_t engine_type; /* bn_type the engine can run, or -1 */
} bn_ggml_type_desc;

/* Description of an id whose meaning is unambiguous (0..35), or NULL for
 * ids 36..39 (see top of file; use bn_gguf_tensor.type_name) and unknown
 * ids. */
BN_API const bn_ggml_type_desc *bn_ggml_type_lookup(uint32_t id);

/* ---- reader -------------------------------------------------------------- */

/* One tensor of the file, validated. */
typedef struct bn_gguf_tensor {
    const char *name;
    int32_t n_dims;             /* 1..4 */
    int64_t ne[BN_GGUF_MAX_DIMS]; /* ne[0] innermost; unused dimensions are 1 */
    int64_t n_elems;            /* product of ne */
    uint32_t ggml_type;         /* raw id from the file */
    const char *type_name;      /* identified type: "Q8_0", "I2_S", "MXFP4", "TL2", ... */
    int32_t type;               /* bn_type of the identified type when bn_type has
                                   one (incl. TL1/TL2, I8/I16/I32), else -1; whether
                                   the engine runs it is `supported` */
    uint64_t offset;            /* relative to the data section (as in the file) */
    uint64_t file_offset;       /* absolute offset in the file */
    uint64_t size;              /* bytes of data (TL1/TL2: the whole span it has) */
    const void *data;           /* into the mapping; aligned to the file alignment
                                   relative to the file start */
    int supported;              /* non-zero if the engine can use this tensor */
    const char *reason;         /* why not, naming the tensor; "" if supported */
} bn_gguf_tensor;

/* Map and validate a file. On failure *out is NULL and the message says
 * what is wrong (BN_ERR_NOT_FOUND / BN_ERR_IO for the file, BN_ERR_FORMAT
 * for the contents, BN_ERR_UNSUPPORTED for GGUF v1 or a newer version). */
BN_API bn_status bn_gguf_open(const char *path, bn_gguf **out);
/* Same over caller memory (no copy): `data` must outlive the bn_gguf. */
BN_API bn_status bn_gguf_open_memory(const void *data, size_t size, bn_gguf **out);
BN_API void bn_gguf_close(bn_gguf *g);

BN_API uint32_t bn_gguf_version(const bn_gguf *g);
BN_API uint64_t bn_gguf_file_size(const bn_gguf *g);
BN_API uint32_t bn_gguf_alignment(const bn_gguf *g);   /* general.alignment or 32 */
BN_API uint64_t bn_gguf_data_offset(const bn_gguf *g); /* start of the data section */
BN_API const void *bn_gguf_base(const bn_gguf *g);     /* first byte of the file */

/* -- metadata: iteration (file order) and lookup -- */

BN_API uint64_t bn_gguf_kv_count(const bn_gguf *g);
BN_API const char *bn_gguf_kv_key(const bn_gguf *g, uint64_t i);          /* NULL if i out of range */
BN_API const bn_gguf_value *bn_gguf_kv_value(const bn_gguf *g, uint64_t i); /* NULL if i out of range */
/* NULL if the key is absent (no error message set). */
BN_API const bn_gguf_value *bn_gguf_find(const bn_gguf *g, const char *key);

/* bn_gguf_vtype of a value. */
BN_API int bn_gguf_value_type(const bn_gguf_value *v);
/* Key the value belongs to (for nested array elements: the outer key). */
BN_API const char *bn_gguf_value_key(const bn_gguf_value *v);

/* Scalar conversions with type checking. Integer getters accept any integer
 * type whose value fits the destination (files disagree on uint32 vs int32
 * for the same key) and fail on anything else, including out-of-range
 * values. Float getters accept float32 and float64. Bool accepts only bool.
 * Strings only string: *s is NUL-terminated, *len (may be NULL) its length. */
BN_API bn_status bn_gguf_value_u32(const bn_gguf_value *v, uint32_t *out);
BN_API bn_status bn_gguf_value_i32(const bn_gguf_value *v, int32_t *out);
BN_API bn_status bn_gguf_value_u64(const bn_gguf_value *v, uint64_t *out);
BN_API bn_status bn_gguf_value_i64(const bn_gguf_value *v, int64_t *out);
BN_API bn_status bn_gguf_value_f32(const bn_gguf_value *v, float *out);
BN_API bn_status bn_gguf_value_f64(const bn_gguf_value *v, double *out);
BN_API bn_status bn_gguf_value_bool(const bn_gguf_value *v, int *out);
BN_API bn_status bn_gguf_value_str(const bn_gguf_value *v, const char **s, size_t *len);

/* The same by key: BN_ERR_NOT_FOUND ("key 'x' not found") if absent,
 * BN_ERR_FORMAT on a type mismatch. Use bn_gguf_find first for optional keys. */
BN_API bn_status bn_gguf_get_u32(const bn_gguf *g, const char *key, uint32_t *out);
BN_API bn_status bn_gguf_get_i32(const bn_gguf *g, const char *key, int32_t *out);
BN_API bn_status bn_gguf_get_u64(const bn_gguf *g, const char *key, uint64_t *out);
BN_API bn_status bn_gguf_get_i64(const bn_gguf *g, const char *key, int64_t *out);
BN_API bn_status bn_gguf_get_f32(const bn_gguf *g, const char *key, float *out);
BN_API bn_status bn_gguf_get_f64(const bn_gguf *g, const char *key, double *out);
BN_API bn_status bn_gguf_get_bool(const bn_gguf *g, const char *key, int *out);
BN_API bn_status bn_gguf_get_str(const bn_gguf *g, const char *key, const char **s, size_t *len);

/* -- arrays -- */

/* The array under `key`: fails if absent, not an array, or (when
 * elem_type >= 0) its elements are not of elem_type. arr / n may be NULL. */
BN_API bn_status bn_gguf_get_array(const bn_gguf *g, const char *key, int elem_type,
                                   const bn_gguf_value **arr, uint64_t *n);
/* Element bn_gguf_vtype of an array value, -1 if v is not an array. */
BN_API int bn_gguf_array_type(const bn_gguf_value *arr);
/* Element count, 0 if v is not an array. */
BN_API uint64_t bn_gguf_array_len(const bn_gguf_value *arr);
/* Element i (bounds-checked, type-checked as the scalar getters above). */
BN_API bn_status bn_gguf_array_str(const bn_gguf_value *arr, uint64_t i, bn_gguf_str *out);
BN_API bn_status bn_gguf_array_i64(const bn_gguf_value *arr, uint64_t i, int64_t *out);
BN_API bn_status bn_gguf_array_u64(const bn_gguf_value *arr, uint64_t i, uint64_t *out);
BN_API bn_status bn_gguf_array_f64(const bn_gguf_value *arr, uint64_t i, double *out);
BN_API bn_status bn_gguf_array_bool(const bn_gguf_value *arr, uint64_t i, int *out);
/* Element i of an array of arrays. */
BN_API bn_status bn_gguf_array_elem(const bn_gguf_value *arr, uint64_t i, const bn_gguf_value **out);
/* Copy all n elements (n must equal the array length) converting:
 * _i32 from any integer element type (range-checked), _f32 from float32 /
 * float64. For token types and scores. */
BN_API bn_status bn_gguf_array_copy_i32(const bn_gguf_value *arr, int32_t *dst, uint64_t n);
BN_API bn_status bn_gguf_array_copy_f32(const bn_gguf_value *arr, float *dst, uint64_t n);

/* -- tensors -- */

BN_API uint64_t bn_gguf_tensor_count(const bn_gguf *g);
/* Tensor i in the order of the file's tensor table; NULL if out of range. */
BN_API const bn_gguf_tensor *bn_gguf_tensor_at(const bn_gguf *g, uint64_t i);
/* NULL if absent (no error message set). */
BN_API const bn_gguf_tensor *bn_gguf_find_tensor(const bn_gguf *g, const char *name);
/* Find a tensor the caller needs: BN_ERR_NOT_FOUND ("tensor 'x' not found
 * in the file") or BN_ERR_UNSUPPORTED (the tensor's reason, e.g. "tensor
 * 'blk.3.ffn_up.weight': type id 13 (Q5_K) is not supported by bitnet").
 * *out may be NULL-checked by the caller; it is set only on success. */
BN_API bn_status bn_gguf_require_tensor(const bn_gguf *g, const char *name, const bn_gguf_tensor **out);
/* Check a list of needed tensors; fails on the first missing or
 * unsupported one, naming it. */
BN_API bn_status bn_gguf_require_tensors(const bn_gguf *g, const char *const *names, size_t n);

/* ---- writer -------------------------------------------------------------- */

/*
 * Builds a GGUF v3 file. Metadata keys keep insertion order; setting a key
 * again replaces its value in place. Tensor data is NOT copied: the pointer
 * given to add_tensor must stay valid until bn_gguf_writer_write returns, or
 * a fill callback produces the bytes in chunks while writing - so a large
 * model is never held twice. The file is written to "<path>.tmp.XXXXXX" in
 * the same directory, flushed, and renamed over path: a failed write leaves
 * no partial file behind. Alignment is general.alignment if set (uint32,
 * power of two), else 32.
 *
 * Tensor sizes are checked against the shape for every type whose size
 * follows from the shape (bn_ggml_type_lookup != NULL with block_elems > 0).
 * Ids 36..39 and unknown ids are written as given (converters of fork files,
 * tests of the reader's refusals).
 */
typedef struct bn_gguf_writer bn_gguf_writer;

/* Produce `n` bytes of the tensor's data starting at byte `offset` into buf. */
typedef bn_status (*bn_gguf_fill_fn)(void *arg, uint64_t offset, void *buf, size_t n);

BN_API bn_status bn_gguf_writer_create(bn_gguf_writer **out);
BN_API void bn_gguf_writer_free(bn_gguf_writer *w);

BN_API bn_status bn_gguf_writer_set_u8(bn_gguf_writer *w, const char *key, uint8_t v);
BN_API bn_status bn_gguf_writer_set_i8(bn_gguf_writer *w, const char *key, int8_t v);
BN_API bn_status bn_gguf_writer_set_u16(bn_gguf_writer *w, const char *key, uint16_t v);
BN_API bn_status bn_gguf_writer_set_i16(bn_gguf_writer *w, const char *key, int16_t v);
BN_API bn_status bn_gguf_writer_set_u32(bn_gguf_writer *w, const char *key, uint32_t v);
BN_API bn_status bn_gguf_writer_set_i32(bn_gguf_writer *w, const char *key, int32_t v);
BN_API bn_status bn_gguf_writer_set_u64(bn_gguf_writer *w, const char *key, uint64_t v);
BN_API bn_status bn_gguf_writer_set_i64(bn_gguf_writer *w, const char *key, int64_t v);
BN_API bn_status bn_gguf_writer_set_f32(bn_gguf_writer *w, const char *key, float v);
BN_API bn_status bn_gguf_writer_set_f64(bn_gguf_writer *w, const char *key, double v);
BN_API bn_status bn_gguf_writer_set_bool(bn_gguf_writer *w, const char *key, int v);
BN_API bn_status bn_gguf_writer_set_str(bn_gguf_writer *w, const char *key, const char *s);
BN_API bn_status bn_gguf_writer_set_strn(bn_gguf_writer *w, const char *key, const char *s, size_t len);
/* Array of a fixed-size element type (not STR / ARR): n elements packed in
 * host (little-endian) order, copied. Bool elements are one byte each. */
BN_API bn_status bn_gguf_writer_set_array(bn_gguf_writer *w, const char *key, int elem_type,
                                          const void *data, uint64_t n);
/* Arrays of strings, copied: NUL-terminated, or pointer + length. */
BN_API bn_status bn_gguf_writer_set_str_array(bn_gguf_writer *w, const char *key,
                                              const char *const *strs, uint64_t n);
BN_API bn_status bn_gguf_writer_set_strn_array(bn_gguf_writer *w, const char *key,
                                               const bn_gguf_str *strs, uint64_t n);
/* Copy any value read from a file (nested arrays included) - converters
 * carry metadata over with this. */
BN_API bn_status bn_gguf_writer_set_value(bn_gguf_writer *w, const char *key, const bn_gguf_value *v);
/* Remove a key if present. */
BN_API void bn_gguf_writer_remove(bn_gguf_writer *w, const char *key);

/* Tensors are written in the order added. ne[0] is innermost; n_dims 1..4;
 * names 1..63 bytes (longer ones llama.cpp cannot read) and unique. */
BN_API bn_status bn_gguf_writer_add_tensor(bn_gguf_writer *w, const char *name, uint32_t ggml_type,
                                           int n_dims, const int64_t *ne, const void *data,
                                           uint64_t size);
BN_API bn_status bn_gguf_writer_add_tensor_fill(bn_gguf_writer *w, const char *name,
                                                uint32_t ggml_type, int n_dims, const int64_t *ne,
                                                uint64_t size, bn_gguf_fill_fn fill, void *arg);

BN_API bn_status bn_gguf_writer_write(bn_gguf_writer *w, const char *path);

#ifdef __cplusplus
}
#endif
#endif /* BITNET_GGUF_H */
