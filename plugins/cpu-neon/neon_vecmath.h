/*
 * Vector e^x of the cpu-neon float ops (silu in norm_rope_act.c, softmax
 * in attention.c): the Cephes reduction and polynomial cpu-avx2 uses
 * (simd_util.h), on four lanes. Base armv8-a only (frintn, fma, fcvtzs).
 */
#ifndef BITNET_NEON_VECMATH_H
#define BITNET_NEON_VECMATH_H

#include <arm_neon.h>

#include "neon_internal.h"


/* e^r part of e^x: n = round(x / ln 2), Cody-Waite reduction
 * x = n ln2 + r, |r| <= ln2/2, then the degree-6 Cephes polynomial for e^r.
 * x must already be clamped to the range the caller handles. */
NN_INLINE float32x4_t nn_exp_reduced(float32x4_t x, float32x4_t *n_out) {
    const float32x4_t n = vrndnq_f32(vmulq_n_f32(x, 1.44269504088896341f));
    float32x4_t r = vfmsq_f32(x, n, vdupq_n_f32(0.693359375f));
    r = vfmsq_f32(r, n, vdupq_n_f32(-2.12194440e-4f));
    float32x4_t p = vdupq_n_f32(1.9875691500e-4f);
    p = vfmaq_f32(vdupq_n_f32(1.3981999507e-3f), p, r);
    p = vfmaq_f32(vdupq_n_f32(8.3334519073e-3f), p, r);
    p = vfmaq_f32(vdupq_n_f32(4.1665795894e-2f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.6666665459e-1f), p, r);
    p = vfmaq_f32(vdupq_n_f32(5.0000001201e-1f), p, r);
    *n_out = n;
    return vfmaq_f32(vaddq_f32(r, vdupq_n_f32(1.0f)), p, vmulq_f32(r, r));
}

/* 2^n for integral n in [-126, 127], built in the exponent field. */
NN_INLINE float32x4_t nn_pow2i(int32x4_t n) {
    return vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(n, vdupq_n_s32(127)), 23));
}

/* e^x for 4 floats, |error| ~2 ulp over the f32 range; x below -87.3
 * gives 0 (flushed), above 88.7 gives +inf, NaN stays NaN. */
NN_INLINE float32x4_t nn_exp_ps(float32x4_t x) {
    const float32x4_t hi = vdupq_n_f32(88.7228391f), lo = vdupq_n_f32(-87.3365447f);
    const uint32x4_t over = vcgtq_f32(x, hi), under = vcltq_f32(x, lo);
    float32x4_t n, p = nn_exp_reduced(vminq_f32(vmaxq_f32(x, lo), hi), &n);
    /* 2^n in two steps so n = 128 (x near the top) does not overflow the exponent */
    const int32x4_t ni = vcvtq_s32_f32(n), n1 = vshrq_n_s32(ni, 1), n2 = vsubq_s32(ni, n1);
    float32x4_t res = vmulq_f32(vmulq_f32(p, nn_pow2i(n1)), nn_pow2i(n2));
    res = vbslq_f32(over, vdupq_n_f32(__builtin_inff()), res);
    res = vreinterpretq_f32_u32(vbicq_u32(vreinterpretq_u32_f32(res), under));
    return vbslq_f32(vceqq_f32(x, x), res, x);
}

/* e^x for softmax arguments (x - max <= 0): x clamped to
 * [-87.34, 88.376] so 2^n is one normal power of two; results below
 * e^-87.34 (-inf included) are 0; NaN propagates (fmax/fmin return NaN). */
NN_INLINE float32x4_t nn_exp_softmax_ps(float32x4_t x) {
    const float32x4_t lo = vdupq_n_f32(-87.3365447f), hi = vdupq_n_f32(88.3762626647949f);
    const uint32x4_t under = vcltq_f32(x, lo);
    float32x4_t n, p = nn_exp_reduced(vminq_f32(hi, vmaxq_f32(lo, x)), &n);
    p = vmulq_f32(p, nn_pow2i(vcvtq_s32_f32(n)));
    return vreinterpretq_f32_u32(vbicq_u32(vreinterpretq_u32_f32(p), under));
}

#endif
