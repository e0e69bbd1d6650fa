/*
 * Shared declarations of the cpu-neon plugin (never included outside
 * plugins/cpu-neon/).
 *
 * Which kernels run is decided once at init from the ISA the core probed
 * (getauxval AT_HWCAP / AT_HWCAP2, masked by BITNET_ISA_DISABLE):
 *   i8mm     smmla GEMM for two or more tokens     (matmul_mmla.c)
 *   dotprod  sdot GEMV / small GEMM                (matmul_dot.c)
 *   neither  base NEON smull/smlal into int16, widened to int32 before a
 *            lane can overflow                     (matmul_base.c)
 * matmul_dot.c and matmul_mmla.c are the only files compiled for those
 * features; nothing else may call into them unless the flags allow it.
 *
 * Ternary weights use the MAD / LUT layouts shared with cpu-avx2
 * (plugins/common/mad/mad_weight.h): a 32-byte MAD block loads as two
 * 16-byte vectors; shift 2s and mask 3 of vector h give the codes
 * c = t + 1 of columns 32 s + 16 h .. 32 s + 16 h + 15, so eight vectors
 * line up with the block's 128 consecutive int8 activations.
 */
#ifndef BITNET_NEON_INTERNAL_H
#define BITNET_NEON_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "bitnet/backend.h"
#include "mad_weight.h"
#include "plugin_common.h"

#define NN_INLINE static inline __attribute__((always_inline))

/* The skeleton's grow-only scratch areas (pc_scratch_get), one per use. */
enum { NN_SCR_ACT = 0, NN_SCR_ROPE, NN_SCR_ATTN, NN_SCR_COUNT };
_Static_assert(NN_SCR_COUNT <= PC_SCRATCH_SLOTS, "more scratch areas than the context has");

struct bn_backend_ctx {
    pc_ctx pc;
    int has_dot;  /* sdot kernels allowed (BN_ISA_DOTPROD) */
    int has_mmla; /* smmla kernels allowed (BN_ISA_I8MM) */
};
_Static_assert(offsetof(struct bn_backend_ctx, pc) == 0, "the skeleton's pc_ctx comes first");

/* ---- ternary integer kernels ----------------------------------------------
 * Each writes the exact integer sums sum(t q) per scale segment (the whole
 * row for I2_S, a 256-block for TQ) of rows j0 .. j0 + nr - 1 for nt tokens
 * into isum[(row * nt + token) * n_seg + segment]. q holds the tokens'
 * int8 activations zero padded to k_pad, token after token (mmla: see
 * matmul_mmla.c). */
typedef struct nn_tern_args {
    const bn_weight *w;
    int64_t n_seg, seg_blocks; /* segments per row, MAD blocks per segment */
    const int8_t *q;           /* [nt][k_pad] (mmla: interleaved pairs) */
    const int32_t *qsum;       /* [nt][n_seg] sum of q per segment (for sum(c q) - sum(q)) */
    int64_t nt;
} nn_tern_args;

#define NN_BASE_ROWS 1  /* rows per kernel call */
#define NN_DOT_ROWS 1
#define NN_MMLA_ROWS 2
#define NN_MAX_TOK 8    /* tokens per kernel call */

void nn_tern_base(const nn_tern_args *a, int64_t j, int32_t *isum);
void nn_tern_dot(const nn_tern_args *a, int64_t j, int32_t *isum);
/* Rows j, j + 1 (the second may be past the end: then it is row j again)
 * for nt tokens whose q is interleaved in pairs (nn_mmla_interleave). */
void nn_tern_mmla(const nn_tern_args *a, int64_t j, int32_t *isum);
/* Tokens [nt][k_pad] -> pairs [nt/2 rounded up][k_pad/8][2][8] (a missing
 * last token is zeros). */
void nn_mmla_interleave(const int8_t *q, int64_t nt, int64_t k_pad, int8_t *out);

/* ---- quant_act.c ------------------------------------------------------------ */
float nn_quantize_row(const float *x, int64_t n, int8_t *q);

/* ---- matmul.c / lut.c / matmul_float.c ------------------------------------------ */
bn_status nn_matmul(bn_backend_ctx *ctx, const bn_weight *w, const bn_tensor *x, const bn_tensor *x_scale,
                    bn_tensor *y);
bn_status nn_lut_matmul(bn_backend_ctx *ctx, const bn_weight *w, const bn_tensor *x, const bn_tensor *x_scale,
                        bn_tensor *y);
bn_status nn_matmul_float(bn_backend_ctx *ctx, const bn_weight *w, const bn_tensor *x,
                          const bn_tensor *x_scale, bn_tensor *y);

/* ---- norm_rope_act.c / attention.c ---------------------------------------------- */
bn_status nn_rms_norm(bn_backend_ctx *ctx, const bn_tensor *x, const bn_tensor *weight, float eps,
                      bn_tensor *dst);
bn_status nn_rope(bn_backend_ctx *ctx, bn_tensor *x, const bn_tensor *pos, const bn_rope_args *args);
bn_status nn_ffn_act(bn_backend_ctx *ctx, const bn_tensor *gate, const bn_tensor *up, int32_t act,
                     bn_tensor *dst);
bn_status nn_add(bn_backend_ctx *ctx, const bn_tensor *a, const bn_tensor *b, bn_tensor *dst);
bn_status nn_attention_run(bn_backend_ctx *ctx, const bn_tensor *q, const bn_tensor *k, const bn_tensor *v,
                           const bn_attn_args *a, const pc_attn_map *map, bn_tensor *out);

#endif
