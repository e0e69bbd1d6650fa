/*
 * bitnet backend plugin ABI.
 *
 * This is the only header a plugin needs. A plugin is a shared object that
 * exports exactly one symbol, BN_PLUGIN_ENTRY_SYMBOL, which returns a pointer
 * to a constant bn_backend vtable.
 *
 * Versioning (in the manner of sqlite3_vfs): slots are only ever appended.
 * The core refuses a plugin whose abi_major differs from its own, and never
 * reads a slot that lies beyond the plugin's info.struct_size. A NULL slot
 * means "not supported by this plugin".
 *
 * Numerics contract for ternary weights (W1.58 A8), per activation row x:
 *   s_x = 127 / max(max_i |x_i|, 1e-5)
 *   q_i = clamp(round_half_even(x_i * s_x), -128, 127)
 *   y_j = (sum_k t_jk * q_k) * w_scale / s_x          (sum exact in int32)
 * Integer sums are therefore comparable bit for bit across plugins.
 */
#ifndef BITNET_BACKEND_H
#define BITNET_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BN_ABI_MAJOR 1
#define BN_ABI_MINOR 1

#define BN_PLUGIN_ENTRY_SYMBOL "bn_plugin_entry"

#if defined(_WIN32)
#define BN_PLUGIN_EXPORT __declspec(dllexport)
#else
#define BN_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

/* ---- status codes ------------------------------------------------------ */

typedef enum bn_status {
    BN_OK = 0,
    BN_ERR_INVALID = -1,     /* bad argument, shape or type combination */
    BN_ERR_NOMEM = -2,       /* allocation failed */
    BN_ERR_UNSUPPORTED = -3, /* op/type/kernel not implemented here */
    BN_ERR_IO = -4,          /* file or OS error */
    BN_ERR_FORMAT = -5,      /* malformed data */
    BN_ERR_DEVICE = -6,      /* device (GPU) error */
    BN_ERR_ABI = -7,         /* incompatible plugin */
    BN_ERR_NOT_FOUND = -8,   /* missing file, symbol, plugin, key */
    BN_ERR_INTERNAL = -9
} bn_status;

/* ---- element / storage types: values are the GGML type ids ------------- */

typedef enum bn_type {
    BN_TYPE_F32 = 0,
    BN_TYPE_F16 = 1,
    BN_TYPE_Q8_0 = 8,
    BN_TYPE_Q6_K = 14,
    BN_TYPE_I8 = 24,
    BN_TYPE_I16 = 25,
    BN_TYPE_I32 = 26,
    BN_TYPE_BF16 = 30,
    BN_TYPE_TQ1_0 = 34,
    BN_TYPE_TQ2_0 = 35,
    BN_TYPE_I2_S = 36, /* BitNet fork id; see DESIGN.md on id reuse */
    BN_TYPE_TL1 = 38,  /* BitNet fork id; per-shape tiled, not decoded */
    BN_TYPE_TL2 = 39   /* BitNet fork id; per-shape tiled, not decoded */
} bn_type;

/* Block geometry of each storage type. */
#define BN_QK_Q8_0 32
#define BN_QK_K 256         /* TQ1_0, TQ2_0, Q6_K super-block */
#define BN_I2S_BLOCK 128    /* I2_S x86 block: 128 weights -> 32 bytes */
#define BN_I2S_TRAILER 32   /* float32 scale + padding after packed data */

/* Elements per block and bytes per block of a storage type (0 if the type
 * is unknown or has no fixed block, as for I2_S, TL1, TL2). */
static inline int64_t bn_type_block_elems(int32_t type) {
    switch (type) {
    case BN_TYPE_F32: case BN_TYPE_F16: case BN_TYPE_BF16:
    case BN_TYPE_I8: case BN_TYPE_I16: case BN_TYPE_I32: return 1;
    case BN_TYPE_Q8_0: return BN_QK_Q8_0;
    case BN_TYPE_Q6_K: case BN_TYPE_TQ1_0: case BN_TYPE_TQ2_0: return BN_QK_K;
    default: return 0;
    }
}

static inline int64_t bn_type_block_bytes(int32_t type) {
    switch (type) {
    case BN_TYPE_F32: case BN_TYPE_I32: return 4;
    case BN_TYPE_F16: case BN_TYPE_BF16: case BN_TYPE_I16: return 2;
    case BN_TYPE_I8: return 1;
    case BN_TYPE_Q8_0: return 34;
    case BN_TYPE_Q6_K: return 210;
    case BN_TYPE_TQ1_0: return 54;
    case BN_TYPE_TQ2_0: return 66;
    default: return 0;
    }
}

static inline const char *bn_type_name(int32_t type) {
    switch (type) {
    case BN_TYPE_F32: return "F32";
    case BN_TYPE_F16: return "F16";
    case BN_TYPE_Q8_0: return "Q8_0";
    case BN_TYPE_Q6_K: return "Q6_K";
    case BN_TYPE_I8: return "I8";
    case BN_TYPE_I16: return "I16";
    case BN_TYPE_I32: return "I32";
    case BN_TYPE_BF16: return "BF16";
    case BN_TYPE_TQ1_0: return "TQ1_0";
    case BN_TYPE_TQ2_0: return "TQ2_0";
    case BN_TYPE_I2_S: return "I2_S";
    case BN_TYPE_TL1: return "TL1";
    case BN_TYPE_TL2: return "TL2";
    default: return "unknown";
    }
}

static inline int bn_type_is_ternary(int32_t type) {
    return type == BN_TYPE_I2_S || type == BN_TYPE_TQ1_0 || type == BN_TYPE_TQ2_0 ||
           type == BN_TYPE_TL1 || type == BN_TYPE_TL2;
}

/* Bytes a row-major n_rows x n_cols matrix takes in `type`, or 0 when the
 * shape does not fit the type (n_cols not a multiple of the block; for
 * I2_S the element count not a multiple of 128) or the size overflows. */
static inline uint64_t bn_storage_size(int32_t type, int64_t n_rows, int64_t n_cols) {
    if (n_rows <= 0 || n_cols <= 0 || n_rows > (INT64_C(1) << 40) || n_cols > (INT64_C(1) << 40))
        return 0;
    if ((uint64_t)n_rows > UINT64_MAX / (uint64_t)n_cols)
        return 0;
    uint64_t n = (uint64_t)n_rows * (uint64_t)n_cols;
    if (type == BN_TYPE_I2_S) {
        if (n % BN_I2S_BLOCK)
            return 0;
        return n / 4 + BN_I2S_TRAILER;
    }
    int64_t be = bn_type_block_elems(type), bb = bn_type_block_bytes(type);
    if (be == 0 || n_cols % be)
        return 0;
    uint64_t blocks = n / (uint64_t)be;
    if (blocks > UINT64_MAX / (uint64_t)bb)
        return 0;
    return blocks * (uint64_t)bb;
}

/* ---- devices and hardware description ----------------------------------- */

typedef enum bn_device_kind {
    BN_DEVICE_CPU = 0,
    BN_DEVICE_GPU = 1,
    BN_DEVICE_OTHER = 2
} bn_device_kind;

/* ISA bits: set only when the CPU has the feature AND the OS saves the
 * register state it needs (XCR0 checks for AVX / AVX-512). */
enum {
    BN_ISA_SSE3 = 1u << 0,
    BN_ISA_SSSE3 = 1u << 1,
    BN_ISA_SSE41 = 1u << 2,
    BN_ISA_AVX = 1u << 3,
    BN_ISA_AVX2 = 1u << 4,
    BN_ISA_FMA = 1u << 5,
    BN_ISA_F16C = 1u << 6,
    BN_ISA_AVX_VNNI = 1u << 7,
    BN_ISA_AVX512F = 1u << 8,
    BN_ISA_AVX512BW = 1u << 9,
    BN_ISA_AVX512VL = 1u << 10,
    BN_ISA_AVX512DQ = 1u << 11,
    BN_ISA_AVX512VNNI = 1u << 12,
    BN_ISA_AVX512VBMI = 1u << 13,
    BN_ISA_AVX512BF16 = 1u << 14,
    BN_ISA_NEON = 1u << 16,
    BN_ISA_DOTPROD = 1u << 17,
    BN_ISA_SVE = 1u << 18,
    BN_ISA_I8MM = 1u << 19
};

#define BN_HW_MAX_GPUS 8

typedef struct bn_gpu_info {
    uint16_t pci_vendor; /* 0x10de NVIDIA, 0x1002 AMD, 0x8086 Intel */
    uint16_t pci_device;
    char name[64];
} bn_gpu_info;

typedef struct bn_hw_info {
    uint32_t struct_size; /* sizeof(bn_hw_info) as the core built it */
    char arch[16];        /* "x86_64", "aarch64", ... */
    char cpu_vendor[16];  /* "GenuineIntel", "AuthenticAMD", ... */
    char cpu_brand[64];
    uint32_t isa;        /* BN_ISA_* usable here (CPU + OS support) */
    uint32_t isa_cpu;    /* BN_ISA_* the CPU reports, before OS checks */
    int32_t n_packages;
    int32_t n_cores; /* physical cores */
    int32_t n_pus;   /* hardware threads */
    int32_t n_numa;
    uint64_t l1d_bytes, l2_bytes, l3_bytes; /* per cache instance */
    uint64_t mem_total_bytes;
    uint64_t mem_available_bytes;
    int32_t n_gpus;
    bn_gpu_info gpus[BN_HW_MAX_GPUS];
} bn_hw_info;

/* ---- services the core gives every plugin ------------------------------ */

enum { BN_LOG_ERROR = 0, BN_LOG_WARN = 1, BN_LOG_INFO = 2, BN_LOG_DEBUG = 3 };

/* Work function for parallel_for: process items [begin, end). */
typedef void (*bn_range_fn)(void *arg, int64_t begin, int64_t end, int thread_index);

typedef struct bn_services {
    uint32_t struct_size;
    void *core; /* opaque, pass back to the functions below */
    void (*log)(void *core, int level, const char *fmt, ...)
#if defined(__GNUC__)
        __attribute__((format(printf, 3, 4)))
#endif
        ;
    void *(*aligned_alloc)(void *core, size_t alignment, size_t size);
    void (*aligned_free)(void *core, void *ptr);
    /* Split [0, n) over the core's pinned thread pool: at most one chunk
     * per thread, boundaries on multiples of `grain` (the last chunk takes
     * the remainder); returns when all are done. Called from inside a work
     * function it runs inline. thread_index is unique among the chunks of
     * one call and < n_threads(). */
    void (*parallel_for)(void *core, int64_t n, int64_t grain, bn_range_fn fn, void *arg);
    int (*n_threads)(void *core);
} bn_services;

/* ---- tensors ------------------------------------------------------------ */

typedef struct bn_backend_ctx bn_backend_ctx; /* plugin-defined */
typedef struct bn_buffer bn_buffer;           /* plugin-defined */
typedef struct bn_weight bn_weight;           /* plugin-defined, prepared */

/* A strided view of memory the plugin owns (its address space: host for
 * CPU plugins, device for GPU plugins). ne[0] is the innermost dimension;
 * nb[i] is the byte stride of dimension i (nb[0] = element size).
 * Unused dimensions have ne = 1. Ops require nb[0] == element size. */
typedef struct bn_tensor {
    void *data;
    int32_t type; /* bn_type: F32, F16, BF16, I8, I32; Q8_0 for an 8-bit KV cache
                   * (ne[0] elements in whole 32-element blocks, nb[0] = 34,
                   * the bytes of one block) */
    int32_t _pad;
    int64_t ne[4];
    int64_t nb[4];
} bn_tensor;

/* A weight as stored in the model file, handed to weight_prepare.
 * Matrix of n_rows output features x n_cols input features, row-major in
 * the storage type. data is host memory (often mmap'ed); it stays valid
 * until weight_prepare returns only - plugins copy what they keep. */

/* Kernel methods for ternary matrix products (reference and SIMD). */
typedef enum bn_kernel {
    BN_KERNEL_AUTO = 0, /* plugin's choice */
    BN_KERNEL_MAD = 1,  /* multiply-add on int8 weight codes (I2_S / W2A8) */
    BN_KERNEL_TL1 = 2,  /* LUT over activation pairs (4-bit index per pair) */
    BN_KERNEL_TL2 = 3   /* LUT over activation triples (sign + 4-bit mag) */
} bn_kernel;

typedef struct bn_weight_src {
    const char *name;
    int32_t type; /* storage bn_type */
    int32_t kernel; /* bn_kernel the prepared weight should use */
    int64_t n_rows;
    int64_t n_cols;
    const void *data;
    size_t size;  /* bytes of data; must match type and shape */
    float scale;  /* extra per-tensor scale (e.g. "<name>.scale"), else 1 */
} bn_weight_src;

/* ---- ops ---------------------------------------------------------------- */

typedef enum bn_op {
    BN_OP_MATMUL = 0,     /* y = W x (GEMV when one row, GEMM otherwise) */
    BN_OP_QUANTIZE_ACT,   /* per-row absmax int8 */
    BN_OP_DEQUANTIZE,     /* weight rows -> f32 */
    BN_OP_GET_ROWS,       /* embedding lookup */
    BN_OP_RMS_NORM,
    BN_OP_ROPE,
    BN_OP_SOFTMAX,
    BN_OP_ATTENTION,      /* causal GQA over a KV cache */
    BN_OP_FFN_ACT,        /* act(gate) * up */
    BN_OP_ADD,
    BN_OP_COPY,           /* with type conversion f32 <-> f16/bf16 */
    BN_OP_ENCODE,         /* f32 -> storage type (absmean for ternary) */
    BN_OP_COUNT
} bn_op;

typedef enum bn_rope_style {
    BN_ROPE_NORM = 0, /* rotate adjacent pairs (x[2i], x[2i+1]) */
    BN_ROPE_NEOX = 1  /* rotate halves (x[i], x[i + n_dims/2]) */
} bn_rope_style;

typedef enum bn_act {
    BN_ACT_RELU2 = 0, /* relu(g)^2 * u  (BitNet b1.58 2B-4T) */
    BN_ACT_SILU = 1   /* silu(g) * u    (1bitLLM, llama) */
} bn_act;

typedef struct bn_rope_args {
    int32_t n_dims;      /* leading dims of each head to rotate */
    int32_t style;       /* bn_rope_style */
    float freq_base;     /* theta, e.g. 10000 or 500000 */
    float freq_scale;    /* position multiplier (1 = none) */
} bn_rope_args;

typedef struct bn_attn_args {
    int32_t n_head;
    int32_t n_head_kv;   /* n_head % n_head_kv == 0 */
    int32_t head_dim;
    int32_t n_tokens;    /* queries in this call */
    int32_t pos0;        /* position of the first query; cache holds
                            positions [0, pos0 + n_tokens) */
    float scale;         /* usually 1/sqrt(head_dim) */
} bn_attn_args;

/* ABI 1.1: attention for many sequences at once over a paged KV pool.
 * The pool holds n_pages pages of page_size tokens; K and V of one layer
 * are [head_dim, page_size, n_head_kv, n_pages] (nb[3] = bytes per page).
 * Sequence s keeps its tokens in pages page_table[s][0], [1], ...: its
 * position p lives in page page_table[s][p / page_size], row
 * p % page_size. Query row t belongs to sequence rows[t].seq at position
 * rows[t].pos and sees that sequence's positions [0, pos]. page_size is a
 * multiple of 16; every page a query needs is < n_pages. */
typedef struct bn_paged_attn_args {
    int32_t n_head;
    int32_t n_head_kv;  /* n_head % n_head_kv == 0 */
    int32_t head_dim;
    int32_t n_tokens;   /* query rows in this call */
    int32_t page_size;  /* tokens per page; k->ne[1] */
    int32_t max_pages;  /* entries per page-table row */
    int32_t n_seqs;     /* page-table rows */
    float scale;        /* usually 1/sqrt(head_dim) */
} bn_paged_attn_args;

/* Capability query argument. */
typedef struct bn_op_desc {
    int32_t op;      /* bn_op */
    int32_t wtype;   /* storage type of the weight / src, or -1 */
    int32_t xtype;   /* activation type, or -1 */
    int32_t ytype;   /* output type, or -1 */
    int32_t kernel;  /* bn_kernel, for MATMUL */
} bn_op_desc;

typedef struct bn_backend_info {
    uint16_t abi_major;
    uint16_t abi_minor;
    uint32_t struct_size; /* sizeof(bn_backend) the plugin was built with */
    const char *name;     /* short unique name: "reference", "cpu-avx2" */
    const char *version;
    const char *description;
    int32_t device;       /* bn_device_kind */
} bn_backend_info;

typedef struct bn_backend {
    bn_backend_info info;

    /* 0 if the plugin cannot run here (write why into `why`), otherwise a
     * positive fitness score; the core loads the highest. Convention:
     * portable reference 10, SIMD CPU plugins 100-999 (more for wider or
     * richer ISA), accelerators 1000+. */
    int (*score)(const bn_hw_info *hw, char *why, size_t why_len);

    bn_status (*init)(const bn_services *svc, const bn_hw_info *hw, bn_backend_ctx **out);
    void (*shutdown)(bn_backend_ctx *ctx);
    /* Message for the last failed call on this context (may be ""). */
    const char *(*last_error)(bn_backend_ctx *ctx);
    int (*supports)(bn_backend_ctx *ctx, const bn_op_desc *desc);

    /* memory */
    bn_status (*buffer_alloc)(bn_backend_ctx *ctx, size_t size, bn_buffer **out);
    void (*buffer_free)(bn_backend_ctx *ctx, bn_buffer *buf);
    /* Base address in the plugin's address space (for bn_tensor.data). */
    void *(*buffer_base)(bn_backend_ctx *ctx, bn_buffer *buf);
    /* Non-zero if buffer_base is directly usable by the host CPU. */
    int (*buffer_is_host)(bn_backend_ctx *ctx, bn_buffer *buf);
    bn_status (*upload)(bn_backend_ctx *ctx, bn_buffer *dst, size_t offset, const void *src, size_t n);
    bn_status (*download)(bn_backend_ctx *ctx, bn_buffer *src, size_t offset, void *dst, size_t n);
    bn_status (*synchronize)(bn_backend_ctx *ctx);

    /* weights */
    bn_status (*weight_prepare)(bn_backend_ctx *ctx, const bn_weight_src *src, bn_weight **out);
    void (*weight_free)(bn_backend_ctx *ctx, bn_weight *w);

    /* y[t][n_rows] = W x[t][n_cols] for every token row t.
     * x: F32, or I8 with x_scale an F32 tensor of per-row s_x (see top of
     *    file). Ternary and Q8_0 weights quantise F32 x per token (absmax
     *    int8, as quantize_act) and use exact integer sums; float weights
     *    (F32/F16/BF16) use x as it is.
     * y: F32, or I32 to get raw integer sums (ternary weights, I8 x). */
    bn_status (*matmul)(bn_backend_ctx *ctx, const bn_weight *w, const bn_tensor *x,
                        const bn_tensor *x_scale, bn_tensor *y);
    /* Per-row absmax int8: q = I8 same shape as x, s = F32 with one s_x per row. */
    bn_status (*quantize_act)(bn_backend_ctx *ctx, const bn_tensor *x, bn_tensor *q, bn_tensor *s);
    /* Rows [row0, row0 + dst->ne[1]) of W as F32 (values incl. scales). */
    bn_status (*dequantize)(bn_backend_ctx *ctx, const bn_weight *w, int64_t row0, bn_tensor *dst);
    /* dst[i] = row ids[i] of W as F32; ids is I32 of ne[0] entries. */
    bn_status (*get_rows)(bn_backend_ctx *ctx, const bn_weight *w, const bn_tensor *ids, bn_tensor *dst);
    /* dst = x / rms(x) * weight over ne[0]; weight F32 [ne0] or NULL. */
    bn_status (*rms_norm)(bn_backend_ctx *ctx, const bn_tensor *x, const bn_tensor *weight, float eps,
                          bn_tensor *dst);
    /* In-place RoPE on x = [head_dim, n_head, n_tokens]; pos is I32 [n_tokens]. */
    bn_status (*rope)(bn_backend_ctx *ctx, bn_tensor *x, const bn_tensor *pos, const bn_rope_args *args);
    /* Row-wise softmax over ne[0] of (x * scale); dst may alias x. */
    bn_status (*softmax)(bn_backend_ctx *ctx, const bn_tensor *x, float scale, bn_tensor *dst);
    /* q: F32 [head_dim, n_head, n_tokens]; k, v caches: F32/F16, or Q8_0
     * where supports(ATTENTION, wtype Q8_0) says so, [head_dim, n_ctx,
     * n_head_kv]; out: F32 [head_dim, n_head, n_tokens].
     * Query t sees cache positions [0, pos0 + t]. */
    bn_status (*attention)(bn_backend_ctx *ctx, const bn_tensor *q, const bn_tensor *k,
                           const bn_tensor *v, const bn_attn_args *args, bn_tensor *out);
    /* dst = act(gate) * up, elementwise; all F32 of one shape. */
    bn_status (*ffn_act)(bn_backend_ctx *ctx, const bn_tensor *gate, const bn_tensor *up, int32_t act,
                         bn_tensor *dst);
    /* dst = a + b, elementwise F32; dst may alias a or b. */
    bn_status (*add)(bn_backend_ctx *ctx, const bn_tensor *a, const bn_tensor *b, bn_tensor *dst);
    /* dst = src with type conversion (F32, F16, BF16), same shape; strided.
     * Where supports(COPY) says so also F32 -> Q8_0 (ggml's reference
     * rule) and Q8_0 -> Q8_0: the stores and page copies of an 8-bit KV
     * cache. The core asks before it plans one. */
    bn_status (*copy)(bn_backend_ctx *ctx, const bn_tensor *src, bn_tensor *dst);

    /* Host-side codec: encode n_rows x n_cols f32 into `type` storage
     * (absmean ternarisation for I2_S / TQ1_0 / TQ2_0; per-block for Q8_0).
     * *written receives the byte count; dst_size must be >= bn_type_size. */
    bn_status (*encode)(bn_backend_ctx *ctx, int32_t type, const float *src, int64_t n_rows,
                        int64_t n_cols, void *dst, size_t dst_size, size_t *written);

    /* ---- ABI 1.1 ---- */
    /* Paged attention (bn_paged_attn_args): q, out F32 [head_dim, n_head,
     * n_tokens]; k, v F32/F16 (Q8_0 as for attention) [head_dim, page_size, n_head_kv, n_pages];
     * rows I32 [2, n_tokens] of (position, sequence); page_table I32
     * [max_pages, n_seqs]. Same numerics as attention. */
    bn_status (*attention_paged)(bn_backend_ctx *ctx, const bn_tensor *q, const bn_tensor *k, const bn_tensor *v,
                                 const bn_tensor *rows, const bn_tensor *page_table,
                                 const bn_paged_attn_args *args, bn_tensor *out);
} bn_backend;

/* Whether a plugin's vtable has `slot` (a newer slot may lie beyond its
 * struct_size) and fills it. */
#define BN_BACKEND_HAS(be, slot)                                                                    \
    ((be)->info.struct_size >= offsetof(bn_backend, slot) + sizeof((be)->slot) && (be)->slot != NULL)

typedef const bn_backend *(*bn_plugin_entry_fn)(void);

#ifdef __cplusplus
}
#endif
#endif /* BITNET_BACKEND_H */
