/* Structures shared by the GGUF reader and writer (libbitnet only). */
#ifndef BITNET_GGUF_INTERNAL_H
#define BITNET_GGUF_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "bitnet/gguf.h"
#include "internal.h"

/* ---- arena: every allocation of one open file, freed at once ------------ */

typedef struct gguf_chunk gguf_chunk;
typedef struct gguf_arena {
    gguf_chunk *head;
} gguf_arena;

void *gguf_arena_alloc(gguf_arena *a, size_t size); /* zeroed, 16-aligned */
char *gguf_arena_strndup(gguf_arena *a, const char *s, size_t len);
char *gguf_arena_printf(gguf_arena *a, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
    ;
void gguf_arena_free(gguf_arena *a);

/* ---- values -------------------------------------------------------------- */

struct bn_gguf_value {
    uint32_t type;      /* bn_gguf_vtype */
    uint32_t elem_type; /* arrays: element vtype */
    const char *key;    /* owning key (outer key for nested elements) */
    union {
        uint64_t u;     /* U8..U64, BOOL */
        int64_t i;      /* I8..I64 */
        double f;       /* F32, F64 */
    } num;
    const char *str;    /* STR: NUL-terminated copy */
    uint64_t len;       /* STR: byte length; ARR: element count */
    const uint8_t *raw; /* ARR of fixed-size elements: first element in the file */
    bn_gguf_str *strs;  /* ARR of STR */
    bn_gguf_value *elems; /* ARR of ARR */
};

/* Bytes of one fixed-size element, 0 for STR / ARR / unknown. */
size_t gguf_vtype_size(uint32_t vtype);

/* ---- lookup table (open addressing over names) --------------------------- */

typedef struct gguf_index {
    uint64_t *slots; /* entry index + 1, 0 = empty */
    uint64_t mask;
} gguf_index;

uint64_t gguf_hash(const char *s);

/* ---- an open file --------------------------------------------------------- */

struct bn_gguf {
    const uint8_t *base;
    uint64_t size;
    int mapped; /* munmap on close */
    uint32_t version;
    uint32_t alignment;
    uint64_t data_offset;
    uint64_t n_kv;
    const char **keys;
    bn_gguf_value *values;
    gguf_index kv_index;
    uint64_t n_tensors;
    bn_gguf_tensor *tensors;
    gguf_index tensor_index;
    gguf_arena arena;
};

/* Parse and validate everything; g->base / g->size set. */
bn_status gguf_parse(bn_gguf *g);
/* Tensor table after the metadata: validate shapes, identify types, check
 * sizes, offsets, overlaps; cur is the offset just after the metadata. */
bn_status gguf_parse_tensors(bn_gguf *g, uint64_t *cur);
bn_status gguf_layout_tensors(bn_gguf *g);

/* Build an index over n names; fails (naming `what`) on duplicates. */
bn_status gguf_index_build(gguf_arena *a, gguf_index *ix, const char *const *names, size_t stride,
                           uint64_t n, const char *what);
/* Entry index or -1. names/stride as given to build. */
int64_t gguf_index_find(const gguf_index *ix, const char *const *names, size_t stride, const char *name);

/* ---- type identification (gguf_types.c) --------------------------------- */

/* Identify tensor t (n_elems, ggml_type, ne set) given the bytes it spans in
 * the file up to the next tensor or end of file; fills type_name, type,
 * size, supported, reason. */
bn_status gguf_identify_tensor(gguf_arena *a, bn_gguf_tensor *t, uint64_t span, uint32_t alignment);
/* Size from the shape for ids whose size is derivable; 0 with a message
 * set into msg when the shape does not fit the block or overflows. */
uint64_t gguf_fixed_size(const bn_ggml_type_desc *d, const int64_t *ne, int64_t n_elems);

static inline uint64_t gguf_align_up(uint64_t x, uint64_t a) { return (x + a - 1) & ~(a - 1); }

#endif

/* Bounds-checked reads for the tensor table (gguf_parse.c). */
bn_status gguf_read_u32(const bn_gguf *g, uint64_t *pos, uint32_t *v, const char *what);
bn_status gguf_read_u64(const bn_gguf *g, uint64_t *pos, uint64_t *v, const char *what);
bn_status gguf_read_str(const bn_gguf *g, uint64_t *pos, bn_gguf_str *s, const char *what);
bn_status gguf_check_name(const bn_gguf_str *s, const char *what, uint64_t i);

#endif
