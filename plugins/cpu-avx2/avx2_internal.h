/*
 * Shared declarations of the cpu-avx2 plugin (never included outside
 * plugins/cpu-avx2/).
 *
 * Everything except entry.c is compiled with -mavx2 -mfma -mf16c; entry.c
 * (score, vtable, capability query) is compiled without them so nothing runs
 * an AVX instruction before score() has said yes.
 *
 * Ternary weights (I2_S, TQ1_0, TQ2_0) are repacked at weight_prepare into
 * one layout for the MAD kernels: each row padded with zero weights to a
 * multiple of 128 columns, then per 128-column block 32 bytes where byte p
 * holds the 2-bit codes t+1 of columns p, p+32, p+64, p+96 in bits 0-1,
 * 2-3, 4-5, 6-7. Shifts and a mask turn 32 bytes into four vectors of 32
 * codes that line up with 32 consecutive int8 activations each, ready for
 * _mm256_maddubs_epi16 (code u8 x q s8); sum(t q) = sum(code q) - sum(q).
 */
#ifndef BITNET_AVX2_INTERNAL_H
#define BITNET_AVX2_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "bitnet/backend.h"
#include "plugin_common.h"

#define AX_BLOCK 128      /* columns per packed MAD block (32 bytes) */
#define AX_BLOCK_BYTES 32

/* The skeleton's grow-only scratch areas (pc_scratch_get), one per use; a
 * busy area (a second caller at the same time) makes the caller allocate
 * its own. */
enum { AX_SCR_ACT = 0, AX_SCR_ROPE, AX_SCR_ATTN, AX_SCR_LANES, AX_SCR_COUNT };
_Static_assert(AX_SCR_COUNT <= PC_SCRATCH_SLOTS, "more scratch areas than the context has");

/* The context is the skeleton's (plugin_common.h) and nothing more. */
struct bn_backend_ctx {
    pc_ctx pc;
};
_Static_assert(offsetof(struct bn_backend_ctx, pc) == 0, "the skeleton's pc_ctx comes first");

/* A prepared weight. */
struct bn_weight {
    char name[128];
    int32_t type;   /* storage bn_type of the source */
    int32_t kernel; /* resolved bn_kernel (never AUTO) */
    int64_t n_rows, n_cols;
    float extra_scale; /* bn_weight_src.scale */

    /* ternary, MAD layout (see top of file) */
    float tensor_scale;     /* I2_S: the float32 scale of the tensor */
    float *block_d;         /* TQ1_0/TQ2_0: n_rows * blocks_per_row fp16 d as f32 */
    int64_t blocks_per_row; /* TQ1_0/TQ2_0: n_cols / 256, else 0 */
    int64_t k_pad;          /* n_cols rounded up to AX_BLOCK */
    size_t row_bytes;       /* k_pad / 4 */
    uint8_t *codes;         /* n_rows * row_bytes */

    /* ternary, LUT layout (lut.c), when kernel is TL1 / TL2 */
    int64_t lut_group;    /* weights per group: 2 (TL1) or 3 (TL2) */
    int64_t lut_seg_len;  /* columns per scale segment */
    int64_t lut_n_seg, lut_gps; /* segments per row, groups per segment */
    int64_t lut_tiles;    /* tiles of 32 rows */
    uint8_t *lut_idx;     /* [tile][group][16]: 4-bit index of row i (low) and 16+i (high) */
    uint32_t *lut_sign;   /* TL2: [tile][group] bit i = sign of row i */
    float *lut_d;         /* TQ: [tile][segment][32] block scales, 0 for padding rows */

    /* float types: F32, F16, BF16, Q8_0, Q6_K storage bytes */
    uint8_t *raw;
    size_t raw_row_bytes;
};

/* tensor views, formats, encoders: plugins/common/plugin_common.h */

/* ---- weights.c ----------------------------------------------------------- */
bn_status ax_weight_prepare(bn_backend_ctx *ctx, const bn_weight_src *src, bn_weight **out);
void ax_weight_free(bn_backend_ctx *ctx, bn_weight *w);
bn_status ax_dequantize(bn_backend_ctx *ctx, const bn_weight *w, int64_t row0, bn_tensor *dst);
bn_status ax_get_rows(bn_backend_ctx *ctx, const bn_weight *w, const bn_tensor *ids, bn_tensor *dst);
/* Ternary values of row r (from the MAD codes) into t[n_cols]. */
void ax_weight_ternary_row(const bn_weight *w, int64_t r, int8_t *t);

/* ---- lut.c: TL1 / TL2 (see lut.c) ------------------------------------------ */
/* Build the LUT layout of a prepared ternary weight from its MAD codes. */
bn_status ax_lut_prepare(bn_backend_ctx *ctx, bn_weight *w);
bn_status ax_lut_matmul(bn_backend_ctx *ctx, const bn_weight *w, const bn_tensor *x,
                        const bn_tensor *x_scale, bn_tensor *y);

/* ---- quant_act.c --------------------------------------------------------- */
/* Per-row absmax int8 of x[n] (bit-exact with the reference); returns s_x. */
float ax_quantize_row(const float *x, int64_t n, int8_t *q);

/* ---- matmul.c / matmul_float.c ------------------------------------------------ */
bn_status ax_matmul(bn_backend_ctx *ctx, const bn_weight *w, const bn_tensor *x,
                    const bn_tensor *x_scale, bn_tensor *y);
/* matmul_lanes.c: ternary MAD-layout weights, n_tok tokens of int8 q
 * ([n_tok][k_pad], zero padded) with scales s; y F32 or I32. */
bn_status ax_lanes_matmul(bn_backend_ctx *ctx, const bn_weight *w, const int8_t *q, const float *s,
                          int64_t n_tok, bn_tensor *y);
bn_status ax_matmul_float(bn_backend_ctx *ctx, const bn_weight *w, const bn_tensor *x,
                          const bn_tensor *x_scale, bn_tensor *y);

/* ---- norm_rope_act.c / attention.c ---------------------------------------- */
bn_status ax_rms_norm(bn_backend_ctx *ctx, const bn_tensor *x, const bn_tensor *weight, float eps,
                      bn_tensor *dst);
bn_status ax_rope(bn_backend_ctx *ctx, bn_tensor *x, const bn_tensor *pos, const bn_rope_args *args);
bn_status ax_ffn_act(bn_backend_ctx *ctx, const bn_tensor *gate, const bn_tensor *up, int32_t act,
                     bn_tensor *dst);
bn_status ax_add(bn_backend_ctx *ctx, const bn_tensor *a, const bn_tensor *b, bn_tensor *dst);
/* The implementation behind both attention slots (pc_attention). */
bn_status ax_attention_run(bn_backend_ctx *ctx, const bn_tensor *q, const bn_tensor *k, const bn_tensor *v,
                           const bn_attn_args *a, const pc_attn_map *map, bn_tensor *out);

#endif
