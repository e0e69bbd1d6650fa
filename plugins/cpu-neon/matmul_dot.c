/*
 * Ternary integer sums with sdot (compiled with +dotprod; called only when
 * the CPU reports it: Cortex-A55/A76 and later, Neoverse, Apple).
 * sdot adds four c * q products (c = t + 1 in {0, 1, 2}) per int32 lane;
 * sum(t q) = sum(c q) - sum(q) per scale segment. One row per call and up
 * to NN_MAX_TOK tokens, so each decoded code vector feeds every token.
 */
#include "neon_codes.h"

NN_INLINE void dot_row(const nn_tern_args *a, int64_t j, int32_t *isum, const int NT) {
    const bn_weight *w = a->w;
    const uint8_t *wr = w->codes + (size_t)j * w->row_bytes;
    int64_t b = 0;
    for (int64_t sg = 0; sg < a->n_seg; sg++) {
        int32x4_t acc[NN_MAX_TOK], acc2[NN_MAX_TOK];
#pragma GCC unroll 8
        for (int t = 0; t < NT; t++)
            acc[t] = acc2[t] = vdupq_n_s32(0);
        for (int64_t be = b + a->seg_blocks; b < be; b++) {
            int8x16_t c[8];
            nn_block_codes(wr + b * PC_MAD_BLOCK_BYTES, c);
#pragma GCC unroll 8
            for (int t = 0; t < NT; t++) {
                const int8_t *qb = a->q + t * w->k_pad + b * PC_MAD_BLOCK;
#pragma GCC unroll 8
                for (int k = 0; k < 8; k += 2) {
                    acc[t] = vdotq_s32(acc[t], c[k], vld1q_s8(qb + 16 * k));
                    acc2[t] = vdotq_s32(acc2[t], c[k + 1], vld1q_s8(qb + 16 * k + 16));
                }
            }
        }
#pragma GCC unroll 8
        for (int t = 0; t < NT; t++)
            isum[t * a->n_seg + sg] = nn_unbias(vaddvq_s32(vaddq_s32(acc[t], acc2[t])), a->qsum[t * a->n_seg + sg]);
    }
}

void nn_tern_dot(const nn_tern_args *a, int64_t j, int32_t *isum) {
    switch (a->nt) {
    case 1: dot_row(a, j, isum, 1); break;
    case 2: dot_row(a, j, isum, 2); break;
    case 3: dot_row(a, j, isum, 3); break;
    case 4: dot_row(a, j, isum, 4); break;
    case 5: dot_row(a, j, isum, 5); break;
    case 6: dot_row(a, j, isum, 6); break;
    case 7: dot_row(a, j, isum, 7); break;
    default: dot_row(a, j, isum, 8); break;
    }
}
