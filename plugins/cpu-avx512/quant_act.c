/*
 * Per-row absmax int8 quantisation of activations (backend.h, top):
 *   s = 127 / max(max|x|, 1e-5);  q = clamp(round_half_even(x * s), -128, 127)
 * The max skips NaN (vmaxps returns its second operand when the first is
 * NaN, like the scalar "a > amax" test); s is one correctly rounded f32
 * division; vcvtps2dq rounds with MXCSR, round-to-nearest-even unless a
 * host changed it (the scalar reference uses the same mode); NaN products
 * become 0, and vpmovsdb saturates to [-128, 127].
 */
#include <immintrin.h>
#include <math.h>

#include "a5_internal.h"

A5_INLINE __mmask16 tail_mask(int64_t left) {
    return left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1u);
}

float a5_quantize_row(const float *x, int64_t n, int8_t *q) {
        __m512 m = _mm512_setzero_ps();
    for (int64_t i = 0; i < n; i += 16) {
        __m512 v = _mm512_abs_ps(_mm512_maskz_loadu_ps(tail_mask(n - i), x + i));
        m = _mm512_max_ps(v, m);
    }
    float amax = _mm512_reduce_max_ps(m);
    float s = 127.0f / fmaxf(amax, 1e-5f);
    const __m512 sv = _mm512_set1_ps(s);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 k = tail_mask(n - i);
        __m512 p = _mm512_mul_ps(_mm512_maskz_loadu_ps(k, x + i), sv);
        __mmask16 ok = _mm512_cmp_ps_mask(p, p, _CMP_ORD_Q);
        __m512i r = _mm512_maskz_cvtps_epi32(ok, p);
        _mm_mask_storeu_epi8(q + i, k, _mm512_cvtsepi32_epi8(r));
    }
    return s;
}
