/*
 * Per-row absmax int8 quantisation of activations (backend.h, top):
 *   s = 127 / max(max|x|, 1e-5);  q = clamp(round_half_even(x * s), -128, 127)
 * Bit-exact with the reference: one f32 division for s, the products are
 * plain f32 multiplies, and cvtps2dq rounds in the current MXCSR mode
 * (round-to-nearest-even unless a host changed it, as nearbyintf would
 * follow). NaN inputs quantise to 0 and do not take part in the max, as in
 * the reference; the packs saturate, which is the clamp.
 */
#include <immintrin.h>
#include <math.h>

#include "avx2_internal.h"

static float absmax(const float *x, int64_t n) {
    const __m256 mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256 m0 = _mm256_setzero_ps(), m1 = _mm256_setzero_ps();
    int64_t i = 0;
    /* max_ps(a, b) returns b when a is NaN: NaNs never enter the max */
    for (; i + 16 <= n; i += 16) {
        m0 = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(x + i), mask), m0);
        m1 = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(x + i + 8), mask), m1);
    }
    m0 = _mm256_max_ps(m0, m1);
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(m0), _mm256_extractf128_ps(m0, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    h = _mm_max_ss(h, _mm_shuffle_ps(h, h, 1));
    float amax = _mm_cvtss_f32(h);
    for (; i < n; i++) {
        float a = fabsf(x[i]);
        if (a > amax)
            amax = a;
    }
    return amax;
}

/* 8 floats -> 8 int32, NaN -> 0 */
static inline __m256i quant8(__m256 v, __m256 s) {
    __m256 p = _mm256_mul_ps(v, s);
    p = _mm256_and_ps(p, _mm256_cmp_ps(p, p, _CMP_ORD_Q));
    return _mm256_cvtps_epi32(p);
}

float ax_quantize_row(const float *x, int64_t n, int8_t *q) {
    float s = 127.0f / fmaxf(absmax(x, n), 1e-5f);
    const __m256 vs = _mm256_set1_ps(s);
    const __m256i perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i a = quant8(_mm256_loadu_ps(x + i), vs), b = quant8(_mm256_loadu_ps(x + i + 8), vs);
        __m256i c = quant8(_mm256_loadu_ps(x + i + 16), vs), d = quant8(_mm256_loadu_ps(x + i + 24), vs);
        /* packs work per 128-bit lane: the permute restores element order */
        __m256i ab = _mm256_packs_epi32(a, b), cd = _mm256_packs_epi32(c, d);
        __m256i r = _mm256_packs_epi16(ab, cd);
        _mm256_storeu_si256((__m256i *)(q + i), _mm256_permutevar8x32_epi32(r, perm));
    }
    for (; i < n; i++)
        q[i] = pc_quant_one(x[i], s);
    return s;
}
