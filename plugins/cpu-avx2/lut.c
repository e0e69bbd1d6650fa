/*
 * The LUT family (TL1, TL2) on AVX2: the weights choose entries of small
 * tables built from the activations (layout and tables: common/mad/
 * lut_layout.c), looked up 32 rows at a time with pshufb.
 * Two pshufb (low and high bytes of the int16 entries) and an unpack give
 * 32 int16 values, summed in 16 bits for 64 groups at a time
 * (64 * 384 < 2^15), then in 32 bits.
 */
#include "avx2_internal.h"
#include "simd_util.h"

#define LT PC_LUT_TILE
#define FLUSH 64  /* groups summed in 16 bits before widening */


AX_INLINE void widen_add(__m256i s32[4], __m256i a0, __m256i a1) {
    s32[0] = _mm256_add_epi32(s32[0], _mm256_cvtepi16_epi32(_mm256_castsi256_si128(a0)));
    s32[2] = _mm256_add_epi32(s32[2], _mm256_cvtepi16_epi32(_mm256_extracti128_si256(a0, 1)));
    s32[1] = _mm256_add_epi32(s32[1], _mm256_cvtepi16_epi32(_mm256_castsi256_si128(a1)));
    s32[3] = _mm256_add_epi32(s32[3], _mm256_cvtepi16_epi32(_mm256_extracti128_si256(a1, 1)));
}

static void lut_tile(const pc_lut_job *jb, int64_t tile, int64_t tok) {
    const bn_weight *w = jb->w;
    int64_t ng = pc_lut_groups(w);
    const uint8_t *ip = w->lut_idx + (size_t)tile * (size_t)ng * 16;
    const uint32_t *sp = w->lut_sign ? w->lut_sign + (size_t)tile * (size_t)ng : NULL;
    const uint8_t *tab = jb->tables + (size_t)tok * (size_t)ng * 32;
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    const __m256i pick = _mm256_setr_epi8(0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3, 2, 3, 2,
                                          3, 2, 3, 2, 3, 2, 3);
    const __m256i c0 = _mm256_setr_epi16(1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128);
    const __m256i c1 = _mm256_slli_epi16(c0, 8);
    __m256i tot[4];
    __m256 accf[4];
    for (int k = 0; k < 4; k++) {
        tot[k] = _mm256_setzero_si256();
        accf[k] = _mm256_setzero_ps();
    }
    for (int64_t sg = 0; sg < w->lut_n_seg; sg++) {
        __m256i s32[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                          _mm256_setzero_si256()};
        __m256i a0 = _mm256_setzero_si256(), a1 = a0;
        int cnt = 0;
        for (int64_t gi = sg * w->lut_gps; gi < (sg + 1) * w->lut_gps; gi++) {
            __m128i raw = _mm_loadu_si128((const __m128i *)(ip + gi * 16));
            __m256i idx = _mm256_and_si256(
                _mm256_inserti128_si256(_mm256_castsi128_si256(raw), _mm_srli_epi16(raw, 4), 1), m4);
            __m256i tlo = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(tab + gi * 32)));
            __m256i thi = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(tab + gi * 32 + 16)));
            __m256i rlo = _mm256_shuffle_epi8(tlo, idx), rhi = _mm256_shuffle_epi8(thi, idx);
            __m256i v0 = _mm256_unpacklo_epi8(rlo, rhi), v1 = _mm256_unpackhi_epi8(rlo, rhi);
            if (sp) { /* negate the rows whose sign bit is set: (v ^ m) - m */
                __m256i sv = _mm256_shuffle_epi8(_mm256_set1_epi32((int)sp[gi]), pick);
                __m256i n0 = _mm256_cmpeq_epi16(_mm256_and_si256(sv, c0), c0);
                __m256i n1 = _mm256_cmpeq_epi16(_mm256_and_si256(sv, c1), c1);
                v0 = _mm256_sub_epi16(_mm256_xor_si256(v0, n0), n0);
                v1 = _mm256_sub_epi16(_mm256_xor_si256(v1, n1), n1);
            }
            a0 = _mm256_add_epi16(a0, v0);
            a1 = _mm256_add_epi16(a1, v1);
            if (++cnt == FLUSH) {
                widen_add(s32, a0, a1);
                a0 = a1 = _mm256_setzero_si256();
                cnt = 0;
            }
        }
        widen_add(s32, a0, a1);
        for (int k = 0; k < 4; k++) {
            tot[k] = _mm256_add_epi32(tot[k], s32[k]);
            if (w->lut_d)
                accf[k] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s32[k]),
                                          _mm256_loadu_ps(w->lut_d + (tile * w->lut_n_seg + sg) * LT + 8 * k), accf[k]);
        }
    }
    int32_t it[LT];
    float ft[LT];
    for (int k = 0; k < 4; k++) {
        _mm256_storeu_si256((__m256i *)(it + 8 * k), tot[k]);
        _mm256_storeu_ps(ft + 8 * k, accf[k]);
    }
    pc_lut_store(w, jb->y, tile, tok, jb->s[tok], it, ft);
}

bn_status ax_lut_matmul(bn_backend_ctx *ctx, const bn_weight *w, const bn_tensor *x, const bn_tensor *x_scale,
                        bn_tensor *y) {
    return pc_lut_matmul(ctx, AX_SCR_ACT, w, x, x_scale, y, lut_tile);
}
