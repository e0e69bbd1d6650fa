/*
 * Vector math for the AVX2 kernels (only for files compiled with -mavx2
 * -mfma -mf16c: entry.c is not, so this cannot live in avx2_internal.h).
 */
#ifndef BITNET_AVX2_VECMATH_H
#define BITNET_AVX2_VECMATH_H

#include <immintrin.h>

#include "simd_util.h"

/* e^x for 8 floats where x <= 88.376 (softmax arguments x - max <= 0),
 * about 2 ulp over the normal range: Cody-Waite reduction x = n ln2 + r,
 * the Cephes polynomial for e^r, and 2^n built in the exponent field. AVX2
 * has no scalef, so n stays in [-126, 127] (a normal power of two): x is
 * clamped to [ln 2^-126, 88.376] and results below e^-87.34 (1.2e-38),
 * -inf included, are flushed to 0. NaN propagates. Leaner than ax_exp_ps
 * (no +inf handling, one power of two instead of two). */
AX_INLINE __m256 ax_exp_softmax_ps(__m256 x) {
    const __m256 lo = _mm256_set1_ps(-87.3365447f), hi = _mm256_set1_ps(88.3762626647949f);
    const __m256 under = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
    /* max/min return their second operand when one is NaN: x keeps NaN */
    x = _mm256_min_ps(hi, _mm256_max_ps(lo, x));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(_mm256_mul_ps(p, r), r, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_andnot_ps(under, _mm256_mul_ps(p, _mm256_castsi256_ps(e)));
}

#endif
