/*
 * Shared declarations of the reference plugin (never installed, never
 * included outside plugins/reference/).
 *
 * The reference plugin is the numerical oracle: every op is written for
 * clarity and exactness first. Integer sums of ternary products are exact;
 * float reductions that are not pinned down by the ABI (float dots, norms,
 * softmax, attention) accumulate in double so the oracle sits as close to
 * the exact result as practical.
 */
#ifndef BITNET_REF_INTERNAL_H
#define BITNET_REF_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "bitnet/backend.h"
#include "plugin_common.h"

/* The context is the skeleton's (plugin_common.h) and nothing more. */
struct bn_backend_ctx {
    pc_ctx pc;
};
_Static_assert(offsetof(struct bn_backend_ctx, pc) == 0, "the skeleton's pc_ctx comes first");

/* A prepared weight. Ternary types keep the ternary values t in {-1,0,1}
 * in the layout of their kernel plus their scales; float types keep the
 * stored bytes unchanged (row-major storage rows) and decode on the fly. */
struct bn_weight {
    char name[128];
    int32_t type;   /* storage bn_type of the source */
    int32_t kernel; /* resolved bn_kernel (never AUTO) */
    int64_t n_rows, n_cols;
    float extra_scale; /* bn_weight_src.scale */

    /* ternary */
    float tensor_scale;     /* I2_S: the float32 scale of the tensor */
    float *block_d;         /* TQ1_0/TQ2_0: n_rows * blocks_per_row fp16 d as f32 */
    int64_t blocks_per_row; /* TQ1_0/TQ2_0: n_cols / 256 */
    int64_t seg_len;        /* columns per scale segment (see lut.c) */
    int64_t n_seg;          /* segments per row */
    size_t seg_bytes;       /* packed bytes per segment */
    uint8_t *packed;        /* n_rows * n_seg segments in the kernel's layout */

    /* float types: F32, F16, BF16, Q8_0, Q6_K storage bytes */
    uint8_t *raw;
    size_t raw_row_bytes;
};

/* tensor views, formats, encoders: plugins/common/plugin_common.h */

/* ---- weights.c ----------------------------------------------------------- */
bn_status ref_weight_prepare(bn_backend_ctx *ctx, const bn_weight_src *src, bn_weight **out);
void ref_weight_free(bn_backend_ctx *ctx, bn_weight *w);
bn_status ref_dequantize(bn_backend_ctx *ctx, const bn_weight *w, int64_t row0, bn_tensor *dst);
bn_status ref_get_rows(bn_backend_ctx *ctx, const bn_weight *w, const bn_tensor *ids, bn_tensor *dst);
/* Ternary values of row r of a prepared ternary weight into t[n_cols]. */
void ref_weight_ternary_row(const bn_weight *w, int64_t r, int8_t *t);

/* ---- lut.c: packed layouts of ternary segments per kernel ------------------
 * A row is cut into segments that carry one scale each: the whole row for
 * I2_S, one 256-block for TQ1_0/TQ2_0. Each segment of `len` columns is
 * packed, tabled and summed independently, so LUT groups never straddle a
 * scale boundary. */
size_t ref_packed_bytes(int32_t kernel, int64_t len);
void ref_pack(int32_t kernel, const int8_t *t, int64_t len, uint8_t *out);
void ref_unpack(int32_t kernel, const uint8_t *packed, int64_t len, int8_t *t);
/* Per-token tables of the LUT kernels (0 entries for MAD), from int8 q. */
size_t ref_lut_entries(int32_t kernel, int64_t len);
void ref_lut_build(int32_t kernel, const int8_t *q, int64_t len, int16_t *table);
/* Exact integer sum_k t_k q_k over one segment. */
int32_t ref_dot(int32_t kernel, const uint8_t *packed, int64_t len, const int8_t *q,
                const int16_t *table);

/* ---- quant_act.c --------------------------------------------------------- */
/* Per-row absmax int8 of x[n] (see backend.h); returns s_x. */
float ref_quantize_row(const float *x, int64_t n, int8_t *q);

/* ---- matmul.c ------------------------------------------------------------ */
bn_status ref_matmul(bn_backend_ctx *ctx, const bn_weight *w, const bn_tensor *x,
                     const bn_tensor *x_scale, bn_tensor *y);

/* ---- norm_rope_act.c / attention.c ---------------------------------------- */
bn_status ref_rms_norm(bn_backend_ctx *ctx, const bn_tensor *x, const bn_tensor *weight, float eps,
                       bn_tensor *dst);
bn_status ref_rope(bn_backend_ctx *ctx, bn_tensor *x, const bn_tensor *pos, const bn_rope_args *args);
bn_status ref_ffn_act(bn_backend_ctx *ctx, const bn_tensor *gate, const bn_tensor *up, int32_t act,
                      bn_tensor *dst);
bn_status ref_add(bn_backend_ctx *ctx, const bn_tensor *a, const bn_tensor *b, bn_tensor *dst);
/* The implementation behind both attention slots (pc_attention). */
bn_status ref_attention_run(bn_backend_ctx *ctx, const bn_tensor *q, const bn_tensor *k, const bn_tensor *v,
                            const bn_attn_args *a, const pc_attn_map *map, bn_tensor *out);

#endif
