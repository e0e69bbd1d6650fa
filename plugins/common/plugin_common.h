/*
 * Code every CPU plugin compiles in unchanged: the skeleton (context,
 * init/shutdown, errors, capability query, host memory, scratch), tensor-view
 * checks and addressing, the number formats and storage decoders, the
 * encoders and the scalar ops every plugin keeps (copy, softmax).
 * Plugins share source, not binaries: each module compiles these files
 * itself (hidden symbols), so a plugin still needs only bitnet/backend.h at
 * run time.
 *
 * A plugin built on the skeleton
 *   - defines struct bn_backend_ctx with a pc_ctx named `pc` as its FIRST
 *     member (then its own fields); a host-memory plugin leaves struct
 *     bn_buffer to common/memory.c;
 *   - defines pc_this_plugin (its context size, init hooks, capabilities and
 *     attention implementation);
 *   - fills its bn_backend with PC_BACKEND_INFO, PC_SKELETON_SLOTS,
 *     PC_HOST_MEMORY_SLOTS (host-memory plugins) and its own kernels, and
 *     exports it with PC_PLUGIN_ENTRY.
 */
#ifndef BITNET_PLUGIN_COMMON_H
#define BITNET_PLUGIN_COMMON_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "bitnet/backend.h"

#if defined(__GNUC__)
#define PC_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define PC_PRINTF(a, b)
#endif

#define PC_ALIGN 64          /* alignment of every allocation (context, buffers, weights, scratch) */
#define PC_ERR_LEN 512
#define PC_SCRATCH_SLOTS 4   /* grow-only scratch areas of a context (pc_scratch_get) */

/* ---- common/skeleton.c: the context and the plugin's own part ------------------- */
typedef struct pc_scratch {
    atomic_flag busy;
    void *p;
    size_t size;
} pc_scratch;

/* What every context holds; the first member (`pc`) of each plugin's
 * struct bn_backend_ctx. */
typedef struct pc_ctx {
    const bn_services *svc;
    int n_threads;          /* slots for per-thread scratch (>= 1) */
    float f16_table[65536]; /* fp16 bits -> f32, built with pc_f16_to_f32 */
    pc_scratch scratch[PC_SCRATCH_SLOTS];
    char err[PC_ERR_LEN];
} pc_ctx;

/* The plugin's context seen as its first member. */
static inline pc_ctx *pc_base(bn_backend_ctx *ctx) { return (pc_ctx *)(void *)ctx; }
static inline const pc_ctx *pc_base_const(const bn_backend_ctx *ctx) {
    return (const pc_ctx *)(const void *)ctx;
}

/* A plugin's attention implementation, for both attention slots. */
typedef struct pc_attn_map pc_attn_map;
typedef bn_status (*pc_attn_run_fn)(bn_backend_ctx *ctx, const bn_tensor *q, const bn_tensor *k, const bn_tensor *v,
                                    const bn_attn_args *a, const pc_attn_map *map, bn_tensor *out);

/* What the capability query (pc_supports) needs to know of a plugin. */
typedef struct pc_caps {
    int32_t max_kernel; /* ternary matmul kernels BN_KERNEL_AUTO .. max_kernel */
    int kv_q8;          /* the 8-bit KV cache: attention over Q8_0, copy F32/Q8_0 -> Q8_0 */
} pc_caps;

typedef struct pc_plugin {
    size_t ctx_size; /* sizeof(struct bn_backend_ctx) */
    /* init refuses with BN_ERR_UNSUPPORTED when this returns 0 (NULL: never) */
    int (*init_gate)(const bn_hw_info *hw, char *why, size_t why_len);
    /* after the common fields are set (NULL: nothing); on failure init frees the context */
    bn_status (*init)(bn_backend_ctx *ctx, const bn_hw_info *hw);
    /* before the scratch areas and the context are freed (NULL: nothing) */
    void (*shutdown)(bn_backend_ctx *ctx);
    pc_caps caps;
    pc_attn_run_fn attention; /* behind pc_attention / pc_attention_paged */
    /* one row of the ABI's absmax int8 quantisation: returns the scale (behind pc_quantize_act) */
    float (*quantize_row)(const float *x, int64_t n, int8_t *q);
} pc_plugin;

/* Defined by each plugin (its entry.c). */
extern const pc_plugin pc_this_plugin;

/* Record an error message on the context and return st. */
bn_status pc_fail(bn_backend_ctx *ctx, bn_status st, const char *fmt, ...) PC_PRINTF(3, 4);
/* The context's table of all 65536 fp16 values as f32. */
const float *pc_f16_lut(const bn_backend_ctx *ctx);
/* The slots init, shutdown, last_error and supports. */
bn_status pc_init(const bn_services *svc, const bn_hw_info *hw, bn_backend_ctx **out);
void pc_shutdown(bn_backend_ctx *ctx);
const char *pc_last_error(bn_backend_ctx *ctx);
int pc_supports(bn_backend_ctx *ctx, const bn_op_desc *d); /* over pc_this_plugin.caps */
int pc_supports_caps(const bn_op_desc *d, const pc_caps *caps);
/* One activation: clamp(round_half_even(v * s), -128, 127), NaN -> 0 (the
 * scalar rule every quantize_row follows; its tail elements). */
int8_t pc_quant_one(float v, float s);
/* The quantize_act slot: checks, then pc_this_plugin.quantize_row per row. */
bn_status pc_quantize_act(bn_backend_ctx *ctx, const bn_tensor *x, bn_tensor *q, bn_tensor *s);

#define PC_BACKEND_INFO(NAME, VERSION, DESCRIPTION, DEVICE)                                         \
    {                                                                                               \
        .abi_major = BN_ABI_MAJOR, .abi_minor = BN_ABI_MINOR, .struct_size = sizeof(bn_backend),     \
        .name = (NAME), .version = (VERSION), .description = (DESCRIPTION), .device = (DEVICE),      \
    }
/* The slots the skeleton fills for every plugin. */
#define PC_SKELETON_SLOTS                                                                           \
    .init = pc_init, .shutdown = pc_shutdown, .last_error = pc_last_error
/* The memory slots of a plugin whose buffers are host memory (common/memory.c). */
#define PC_HOST_MEMORY_SLOTS                                                                        \
    .buffer_alloc = pc_buffer_alloc, .buffer_free = pc_buffer_free, .buffer_base = pc_buffer_base,  \
    .buffer_is_host = pc_buffer_is_host, .upload = pc_upload, .download = pc_download,              \
    .synchronize = pc_synchronize
/* The one exported symbol. */
#define PC_PLUGIN_ENTRY(BACKEND)                                                                    \
    BN_PLUGIN_EXPORT const bn_backend *bn_plugin_entry(void);                                       \
    BN_PLUGIN_EXPORT const bn_backend *bn_plugin_entry(void) { return &(BACKEND); }

/* ---- common/memory.c: host memory and scratch ------------------------------------ */
void *pc_alloc(bn_backend_ctx *ctx, size_t size); /* PC_ALIGN aligned, NULL on failure */
void pc_free(bn_backend_ctx *ctx, void *p);
/* parallel_for over the core's pool, or serially when the core gave none. */
void pc_parallel(bn_backend_ctx *ctx, int64_t n, int64_t grain, bn_range_fn fn, void *arg);
/* Scratch of at least `size` bytes from area `slot` (< PC_SCRATCH_SLOTS), or a
 * private block when the area is busy (a second caller at the same time);
 * give it back with pc_scratch_put. NULL = no memory. */
void *pc_scratch_get(bn_backend_ctx *ctx, int slot, size_t size);
void pc_scratch_put(bn_backend_ctx *ctx, int slot, void *p);
bn_status pc_buffer_alloc(bn_backend_ctx *ctx, size_t size, bn_buffer **out);
void pc_buffer_free(bn_backend_ctx *ctx, bn_buffer *buf);
void *pc_buffer_base(bn_backend_ctx *ctx, bn_buffer *buf);
int pc_buffer_is_host(bn_backend_ctx *ctx, bn_buffer *buf);
bn_status pc_upload(bn_backend_ctx *ctx, bn_buffer *dst, size_t offset, const void *src, size_t n);
bn_status pc_download(bn_backend_ctx *ctx, bn_buffer *src, size_t offset, void *dst, size_t n);
bn_status pc_synchronize(bn_backend_ctx *ctx);

/* ---- common/weight_rows.c: dequantize / get_rows over a plugin's row decoder -- */
typedef struct pc_weight_dims {
    const char *name;
    int64_t n_rows, n_cols;
} pc_weight_dims;
/* Row r of w as f32, every scale applied (the plugin's own layout). */
typedef void (*pc_weight_row_fn)(const bn_backend_ctx *ctx, const bn_weight *w, int64_t r, float *out);
bn_status pc_dequantize_rows(bn_backend_ctx *ctx, const bn_weight *w, const pc_weight_dims *d, int64_t row0,
                             bn_tensor *dst, pc_weight_row_fn row);
bn_status pc_get_rows(bn_backend_ctx *ctx, const bn_weight *w, const pc_weight_dims *d, const bn_tensor *ids,
                      bn_tensor *dst, pc_weight_row_fn row);

/* Ternary values t[0..n) times their scales as f32: d[c / 256] per TQ
 * block (d non-NULL) or the tensor's scale. t may lie in the tail bytes of
 * out (written front to back). */
void pc_ternary_row_f32(const int8_t *t, int64_t n, const float *d, float scale, float *out);
/* out[0..n) *= extra (the weight's extra per-tensor scale; nothing when 1). */
void pc_scale_row(float *out, int64_t n, float extra);

/* The matmul slot's argument checks for a weight of dims d (NULL: no
 * weight) and storage type: x F32 or I8 (ternary / Q8_0, with its row
 * scales), y F32 or I32 (ternary), shapes. */
bn_status pc_matmul_check(bn_backend_ctx *ctx, const pc_weight_dims *d, int32_t type, const bn_tensor *x,
                          const bn_tensor *x_scale, const bn_tensor *y);

/* The checks every weight_prepare starts with: arguments (clears *out), the
 * storage type (no TL1/TL2 files; ternary or float storage), the kernel and
 * the data size. On BN_OK, *name is the tensor's name for messages and
 * *ternary says whether its storage is ternary. */
bn_status pc_weight_src_check(bn_backend_ctx *ctx, const bn_weight_src *src, bn_weight **out, const char **name,
                              int *ternary);
/* Float storage has only the MAD kernel (kernel: resolved, never AUTO). */
bn_status pc_float_kernel_check(bn_backend_ctx *ctx, const char *name, int32_t type, int32_t kernel);
/* *raw = a copy of the stored bytes (pc_alloc). */
bn_status pc_keep_bytes(bn_backend_ctx *ctx, const bn_weight_src *src, const char *name, uint8_t **raw);
/* Float storage kept as stored: the kernel check, then *raw (a copy) and
 * *raw_row_bytes. */
bn_status pc_keep_float(bn_backend_ctx *ctx, const bn_weight_src *src, const char *name, int32_t kernel,
                        uint8_t **raw, size_t *raw_row_bytes);

/* ---- common/tensor.c: validation and addressing of bn_tensor views -------------- */
size_t pc_elem_size(int32_t type); /* 0 for non-element types */
/* Checks data, type (one of `types`, terminated by -1), ne >= 1 and nb[0]. */
bn_status pc_check(bn_backend_ctx *ctx, const bn_tensor *t, const char *op, const char *what,
                    const int32_t *types);
int pc_same_shape(const bn_tensor *a, const bn_tensor *b);
/* The copy op of the CPU plugins (F32/F16/BF16 both ways, F32 -> Q8_0,
 * Q8_0 -> Q8_0), and its argument checks for a plugin's own fast path. */
bn_status pc_copy(bn_backend_ctx *ctx, const bn_tensor *src, bn_tensor *dst);
bn_status pc_copy_check(bn_backend_ctx *ctx, const bn_tensor *src, const bn_tensor *dst);
/* The softmax op of the CPU plugins (scalar, in double; off the forward path:
 * attention has its own). */
bn_status pc_softmax(bn_backend_ctx *ctx, const bn_tensor *x, float scale, bn_tensor *dst);
/* n (a multiple of 32) floats as Q8_0 blocks, ggml's reference rule. */
void pc_encode_q8_0_row(const float *x, int64_t n, uint8_t *out);
int64_t pc_n_rows(const bn_tensor *t); /* ne[1] * ne[2] * ne[3] */
/* Row r of a tensor seen as ne[1]*ne[2]*ne[3] rows, and element i of it. Inline with a
 * division-free path for the common 2-D case: kernels call it per output
 * element group, where three 64-bit divisions showed up as 8% of a prompt. */
static inline char *pc_row(const bn_tensor *t, int64_t r) {
    if (t->ne[2] == 1 && t->ne[3] == 1)
        return (char *)t->data + r * t->nb[1];
    int64_t i1 = r % t->ne[1], i2 = (r / t->ne[1]) % t->ne[2], i3 = r / (t->ne[1] * t->ne[2]);
    return (char *)t->data + i1 * t->nb[1] + i2 * t->nb[2] + i3 * t->nb[3];
}
float pc_load(const bn_backend_ctx *ctx, const bn_tensor *t, const char *row, int64_t i);
void pc_store(const bn_tensor *t, char *row, int64_t i, float v);
/* Pointer to the per-row scale of row r in `s`: either s has one entry per
 * row in ne[0] (other dims 1), or ne[0] == 1 and ne[1..3] match `rows_of`. */
const float *pc_row_scale(const bn_tensor *s, const bn_tensor *rows_of, int64_t r);
bn_status pc_check_row_scale(bn_backend_ctx *ctx, const bn_tensor *s, const bn_tensor *rows_of,
                              const char *op);

/* ---- common/formats.c ----------------------------------------------------------- */
float pc_f16_to_f32(uint16_t h);
uint16_t pc_f32_to_f16(float f);
float pc_bf16_to_f32(uint16_t h);
uint16_t pc_f32_to_bf16(float f);
uint16_t pc_rd16(const uint8_t *p); /* little-endian loads / stores */
float pc_rdf32(const uint8_t *p);
void pc_wr16(uint8_t *p, uint16_t v);
void pc_wrf32(uint8_t *p, float v);
/* Bytes of one stored row of a row-blocked type (not I2_S). */
size_t pc_row_bytes(int32_t type, int64_t n_cols);
/* Decode one stored row of F32/F16/BF16/Q8_0/Q6_K into f32 (no extra scale). */
void pc_decode_float_row(const bn_backend_ctx *ctx, int32_t type, const uint8_t *row, int64_t n,
                          float *out);
/* Decode row r of a ternary tensor (I2_S/TQ1_0/TQ2_0) into t[n_cols] in
 * {-1,0,1}; for TQ types also the row's block scales into d[n_cols/256].
 * Returns the column of an invalid code (2-bit code 3), or -1 when all fine. */
int64_t pc_decode_ternary_row(int32_t type, const uint8_t *data, int64_t n_cols, int64_t r,
                               int8_t *t, float *d);
/* One TQ1_0 trit: digit n (0 = most significant) of stored byte b. */
int pc_tq1_trit(uint8_t b, int n);

/* ---- common/attention_map.c: where each query's keys live ------------------------ */
/* One view of a contiguous cache (attention) and of a paged pool
 * (attention_paged): query t sees keys [0, pc_attn_keys(m, t)); key j of kv
 * head g lies at pc_kv_at(kv, pages, page_size, j, g) with pages =
 * pc_attn_pages(m, t) (NULL for a contiguous cache), and keys from j up
 * to pc_kv_span_end() are contiguous rows (nb[1] apart). */
struct pc_attn_map {
    const int32_t *rows; /* paged: (position, sequence) per query; NULL: contiguous */
    const int32_t *pt;   /* page table, max_pages entries per sequence */
    int64_t max_pages, page_size, pos0;
    int64_t max_keys; /* the most keys any query sees */
};

static inline int64_t pc_attn_keys(const pc_attn_map *m, int64_t t) {
    return m->rows ? (int64_t)m->rows[2 * t] + 1 : m->pos0 + t + 1;
}
static inline const int32_t *pc_attn_pages(const pc_attn_map *m, int64_t t) {
    return m->rows ? m->pt + (int64_t)m->rows[2 * t + 1] * m->max_pages : NULL;
}
static inline const char *pc_kv_at(const bn_tensor *kv, const int32_t *pages, int64_t page_size, int64_t j,
                                   int64_t g) {
    if (!pages)
        return (const char *)kv->data + j * kv->nb[1] + g * kv->nb[2];
    return (const char *)kv->data + (int64_t)pages[j / page_size] * kv->nb[3] + (j % page_size) * kv->nb[1] +
           g * kv->nb[2];
}
static inline int64_t pc_kv_span_end(const int32_t *pages, int64_t page_size, int64_t j, int64_t n_keys) {
    if (!pages)
        return n_keys;
    int64_t e = (j / page_size + 1) * page_size;
    return e < n_keys ? e : n_keys;
}
/* Check the arguments of attention / attention_paged (shapes, types, every
 * page a query needs inside the pool) and describe them in *m; the paged
 * form also gives the per-head arguments in *flat (pos0 0). Each plugin's
 * two slots call one of these, then one implementation. */
bn_status pc_attn_check(bn_backend_ctx *ctx, const bn_tensor *q, const bn_tensor *k, const bn_tensor *v,
                        const bn_attn_args *a, const bn_tensor *out, pc_attn_map *m);
bn_status pc_attn_paged_check(bn_backend_ctx *ctx, const bn_tensor *q, const bn_tensor *k, const bn_tensor *v,
                              const bn_tensor *rows, const bn_tensor *pt, const bn_paged_attn_args *a,
                              const bn_tensor *out, pc_attn_map *m, bn_attn_args *flat);
/* The two slots: check the arguments, then run pc_this_plugin.attention. */
bn_status pc_attention(bn_backend_ctx *ctx, const bn_tensor *q, const bn_tensor *k, const bn_tensor *v,
                       const bn_attn_args *args, bn_tensor *out);
bn_status pc_attention_paged(bn_backend_ctx *ctx, const bn_tensor *q, const bn_tensor *k, const bn_tensor *v,
                             const bn_tensor *rows, const bn_tensor *pt, const bn_paged_attn_args *args,
                             bn_tensor *out);

/* ---- common/attention_run.c: the SIMD plugins' attention driver ----------------- */
/* One work item is a token and up to PC_ATTN_HEADS_MAX query heads sharing
 * a kv head; the plugin's kernels score its keys, turn each head's scores
 * into softmax numerators and weigh the V rows. */
#define PC_ATTN_HEADS_MAX 4
typedef struct pc_attn_item {
    const float *q[PC_ATTN_HEADS_MAX]; /* query rows; entries past nh repeat the first */
    float *out[PC_ATTN_HEADS_MAX];     /* output rows, likewise */
    const float *p[PC_ATTN_HEADS_MAX]; /* score rows (slot_len apart), likewise */
    const int32_t *pages;              /* pc_attn_pages of the token */
    int64_t g, n_keys;                 /* kv head, keys the token sees */
    int nh;                            /* heads in the item (1..PC_ATTN_HEADS_MAX) */
} pc_attn_item;

typedef struct pc_attn_job pc_attn_job;
typedef struct pc_attn_kernels {
    /* scores[r * jb->slot_len + j] = scale * q_r . k_j for r < nh, j < n_keys */
    void (*score)(const pc_attn_job *jb, const pc_attn_item *it, float *scores);
    /* s[j] <- exp(s[j] - max) for j < n; returns their sum. s has room up
     * to n rounded up to 16 (it may pad there). */
    double (*softmax)(float *s, int64_t n);
    /* out_r = inv[r] * sum_j p_r[j] v_j for r < nh */
    void (*weigh)(const pc_attn_job *jb, const pc_attn_item *it, const float *inv);
} pc_attn_kernels;

struct pc_attn_job {
    const bn_tensor *q, *k, *v;
    bn_tensor *out;
    const bn_attn_args *a;
    const pc_attn_map *map;
    const pc_attn_kernels *kern;
    float *scratch; /* n_slots * heads_per_item * slot_len scores */
    int64_t slot_len;
    int n_slots, heads_per_item, items_per_group;
    atomic_int bad_thread;
};
/* Splits the call into items over the pool, each thread's scores in
 * scratch area `slot`. */
bn_status pc_attn_drive(bn_backend_ctx *ctx, int slot, const pc_attn_kernels *kern, const bn_tensor *q,
                        const bn_tensor *k, const bn_tensor *v, const bn_attn_args *a, const pc_attn_map *map,
                        bn_tensor *out);

/* Element kinds of a KV cache. */
enum { PC_KV_F32 = 0, PC_KV_F16 = 1, PC_KV_Q8 = 2 };
static inline int pc_kv_kind(const bn_tensor *t) {
    return t->type == BN_TYPE_F16 ? PC_KV_F16 : t->type == BN_TYPE_Q8_0 ? PC_KV_Q8 : PC_KV_F32;
}

/* ---- common/row_ops.c: the scalar parts of the CPU plugins' row-wise ops -------- */
/* Argument checks; rms_norm's also gives the weight vector (NULL: none). */
bn_status pc_rms_norm_check(bn_backend_ctx *ctx, const bn_tensor *x, const bn_tensor *weight,
                            const bn_tensor *dst, const float **wv);
bn_status pc_rope_check(bn_backend_ctx *ctx, const bn_tensor *x, const bn_tensor *pos, const bn_rope_args *args);
bn_status pc_ffn_act_check(bn_backend_ctx *ctx, const bn_tensor *gate, const bn_tensor *up, int32_t act,
                           const bn_tensor *dst);
bn_status pc_add_check(bn_backend_ctx *ctx, const bn_tensor *a, const bn_tensor *b, const bn_tensor *dst);
/* rope's cos/sin tables of one call, angles in double with the reference's
 * expression: [n_tok][n_dims / 2] each (NEOX), or [n_tok][n_dims] (NORM:
 * duplicated per pair, sin with the sign of its lane: -s, s). */
void pc_rope_tables(const bn_tensor *pos, const bn_rope_args *a, int64_t n_tok, float *cs, float *sn);
/* act(g) of one element (the vector loops' tail): relu2 or silu with expf. */
float pc_act_one(float g, int32_t act);

/* ---- common/encode.c ------------------------------------------------------------ */
bn_status pc_encode(bn_backend_ctx *ctx, int32_t type, const float *src, int64_t n_rows,
                     int64_t n_cols, void *dst, size_t dst_size, size_t *written);

#endif
