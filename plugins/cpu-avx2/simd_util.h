/*
 * Small AVX2 helpers shared by the kernels (only for files compiled with
 * -mavx2 -mfma -mf16c).
 */
#ifndef BITNET_AVX2_SIMD_UTIL_H
#define BITNET_AVX2_SIMD_UTIL_H

#include <immintrin.h>

#define AX_INLINE static inline __attribute__((always_inline))

AX_INLINE int32_t ax_hsum_i32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}

AX_INLINE float ax_hsum_ps(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* e^r part of e^x: n = round(x / ln 2), Cody-Waite reduction
 * x = n ln2 + r, |r| <= ln2/2, then the degree-6 Cephes polynomial for e^r.
 * x must already be clamped to the range the caller handles. */
AX_INLINE __m256 ax_exp_reduced(__m256 x, __m256 *n_out) {
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    *n_out = n;
    return _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
}

/* e^x for 8 floats, |error| ~2 ulp over the f32 range; x below -87.3
 * gives 0 (flushed), above 88.7 gives +inf, NaN stays NaN. */
AX_INLINE __m256 ax_exp_ps(__m256 x) {
    const __m256 hi = _mm256_set1_ps(88.7228391f), lo = _mm256_set1_ps(-87.3365447f);
    __m256 over = _mm256_cmp_ps(x, hi, _CMP_GT_OQ), under = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
    __m256 n, p = ax_exp_reduced(_mm256_min_ps(_mm256_max_ps(x, lo), hi), &n);
    /* 2^n in two steps so n = 128 (x near the top) does not overflow the exponent */
    __m256i ni = _mm256_cvtps_epi32(n);
    __m256i n1 = _mm256_srai_epi32(ni, 1), n2 = _mm256_sub_epi32(ni, n1);
    __m256 p1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, _mm256_set1_epi32(127)), 23));
    __m256 p2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, _mm256_set1_epi32(127)), 23));
    __m256 res = _mm256_mul_ps(_mm256_mul_ps(p, p1), p2);
    res = _mm256_blendv_ps(res, _mm256_set1_ps(__builtin_inff()), over);
    res = _mm256_andnot_ps(under, res);
    return _mm256_blendv_ps(x, res, _mm256_cmp_ps(x, x, _CMP_ORD_Q));
}

/* e^x for softmax arguments (x - max <= 0): x clamped to
 * [-87.34, 88.376] so 2^n is one normal power of two built in the exponent
 * field; results below e^-87.34 (-inf included) are 0; NaN propagates
 * (max/min return their second operand when one is NaN). Leaner than
 * ax_exp_ps: no +inf handling, one multiply for the power of two. */
AX_INLINE __m256 ax_exp_softmax_ps(__m256 x) {
    const __m256 lo = _mm256_set1_ps(-87.3365447f), hi = _mm256_set1_ps(88.3762626647949f);
    const __m256 under = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
    __m256 n, p = ax_exp_reduced(_mm256_min_ps(hi, _mm256_max_ps(lo, x)), &n);
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_andnot_ps(under, _mm256_mul_ps(p, _mm256_castsi256_ps(e)));
}

#endif
