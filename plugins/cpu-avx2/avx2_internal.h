/*
 * Shared declarations of the cpu-avx2 plugin (never included outside
 * plugins/cpu-avx2/).
 *
 * Everything except entry.c is compiled with -mavx2 -mfma -mf16c; entry.c
 * (score, vtable, capability query) is compiled without them so nothing runs
 * an AVX instruction before score() has said yes.
 *
 * Weights use the MAD / LUT layouts shared with cpu-neon
 * (plugins/common/mad/mad_weight.h): a 32-byte MAD block gives four
 * vectors of 32 codes c = t + 1, ready for _mm256_maddubs_epi16
 * (code u8 x q s8); sum(t q) = sum(code q) - sum(q).
 */
#ifndef BITNET_AVX2_INTERNAL_H
#define BITNET_AVX2_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "bitnet/backend.h"
#include "mad_weight.h"
#include "plugin_common.h"

#define AX_BLOCK PC_MAD_BLOCK
#define AX_BLOCK_BYTES PC_MAD_BLOCK_BYTES

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

/* tensor views, formats, encoders: plugins/common/plugin_common.h */

/* ---- lut.c: TL1 / TL2 kernels (layout: common/mad/lut_layout.c) ----------- */
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
