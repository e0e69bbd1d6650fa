/*
 * Ternary integer sums with smmla (compiled with +i8mm; called only when
 * the CPU reports i8mm: Neoverse V1/N2/V2, Cortex-A510/A710 and later,
 * Apple M2+), for two or more tokens (prompts, batched decode).
 * smmla multiplies a 2x8 int8 matrix by the transpose of another into a
 * 2x2 int32 tile: here rows j, j+1 of codes c = t + 1 (the low / high 8 of
 * two code vectors zipped) times two tokens' activations, which
 * nn_mmla_interleave stored as [pair][k_pad / 8][token 0: 8 | token 1: 8].
 * Each code pair feeds up to NN_MAX_TOK / 2 token pairs;
 * sum(t q) = sum(c q) - sum(q) per scale segment.
 */
#include "neon_codes.h"

NN_INLINE void mmla_rows(const nn_tern_args *a, int64_t j, int32_t *isum, const int NP) {
    const bn_weight *w = a->w;
    const uint8_t *wr0 = w->codes + (size_t)j * w->row_bytes;
    const uint8_t *wr1 = j + 1 < w->n_rows ? wr0 + w->row_bytes : wr0;
    const int64_t pair_bytes = 2 * w->k_pad, nt = a->nt, ns = a->n_seg;
    int64_t b = 0;
    for (int64_t sg = 0; sg < ns; sg++) {
        int32x4_t acc[NN_MAX_TOK / 2];
#pragma GCC unroll 4
        for (int p = 0; p < NP; p++)
            acc[p] = vdupq_n_s32(0);
        for (int64_t be = b + a->seg_blocks; b < be; b++) {
            int8x16_t c0[8], c1[8];
            nn_block_codes(wr0 + b * PC_MAD_BLOCK_BYTES, c0);
            nn_block_codes(wr1 + b * PC_MAD_BLOCK_BYTES, c1);
            const int8_t *qb = a->q + b * 2 * PC_MAD_BLOCK;
#pragma GCC unroll 8
            for (int k = 0; k < 8; k++) {
                int64x2_t r0 = vreinterpretq_s64_s8(c0[k]), r1 = vreinterpretq_s64_s8(c1[k]);
                int8x16_t lo = vreinterpretq_s8_s64(vzip1q_s64(r0, r1)); /* columns 16k .. 16k+7 */
                int8x16_t hi = vreinterpretq_s8_s64(vzip2q_s64(r0, r1)); /* columns 16k+8 .. 16k+15 */
#pragma GCC unroll 4
                for (int p = 0; p < NP; p++) {
                    const int8_t *qp = qb + p * pair_bytes + 32 * k;
                    acc[p] = vmmlaq_s32(acc[p], lo, vld1q_s8(qp));
                    acc[p] = vmmlaq_s32(acc[p], hi, vld1q_s8(qp + 16));
                }
            }
        }
#pragma GCC unroll 4
        for (int p = 0; p < NP; p++) {
            int32_t lane[4];
            vst1q_s32(lane, acc[p]);
            for (int u = 0; u < 2 && 2 * p + u < nt; u++) {
                int64_t t = 2 * p + u;
                int32_t qs = a->qsum[t * ns + sg];
                isum[t * ns + sg] = nn_unbias(lane[u], qs);
                isum[(nt + t) * ns + sg] = nn_unbias(lane[2 + u], qs);
            }
        }
    }
}

void nn_tern_mmla(const nn_tern_args *a, int64_t j, int32_t *isum) {
    switch ((a->nt + 1) / 2) {
    case 1: mmla_rows(a, j, isum, 1); break;
    case 2: mmla_rows(a, j, isum, 2); break;
    case 3: mmla_rows(a, j, isum, 3); break;
    default: mmla_rows(a, j, isum, 4); break;
    }
}
