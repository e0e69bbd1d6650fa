/*
 * Per-row absmax int8 quantisation of activations (backend.h, top):
 *   s = 127 / max(max|x|, 1e-5);  q = clamp(round_half_even(x * s), -128, 127)
 * Bit-exact with the reference: one f32 division for s, plain f32
 * multiplies, fcvtns rounds to nearest even (the default mode nearbyintf
 * follows) and turns NaN into 0, as the reference does; fmaxnm keeps NaNs
 * out of the max; the saturating narrows are the clamp.
 */
#include <arm_neon.h>
#include <math.h>

#include "neon_internal.h"

static float absmax(const float *x, int64_t n) {
    float32x4_t m0 = vdupq_n_f32(0.0f), m1 = m0;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        m0 = vmaxnmq_f32(m0, vabsq_f32(vld1q_f32(x + i)));
        m1 = vmaxnmq_f32(m1, vabsq_f32(vld1q_f32(x + i + 4)));
    }
    float amax = vmaxnmvq_f32(vmaxnmq_f32(m0, m1));
    for (; i < n; i++) {
        float a = fabsf(x[i]);
        if (a > amax)
            amax = a;
    }
    return amax;
}

float nn_quantize_row(const float *x, int64_t n, int8_t *q) {
    float s = 127.0f / fmaxf(absmax(x, n), 1e-5f);
    const float32x4_t vs = vdupq_n_f32(s);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        int32x4_t a = vcvtnq_s32_f32(vmulq_f32(vld1q_f32(x + i), vs));
        int32x4_t b = vcvtnq_s32_f32(vmulq_f32(vld1q_f32(x + i + 4), vs));
        int32x4_t c = vcvtnq_s32_f32(vmulq_f32(vld1q_f32(x + i + 8), vs));
        int32x4_t d = vcvtnq_s32_f32(vmulq_f32(vld1q_f32(x + i + 12), vs));
        int16x8_t ab = vcombine_s16(vqmovn_s32(a), vqmovn_s32(b));
        int16x8_t cd = vcombine_s16(vqmovn_s32(c), vqmovn_s32(d));
        vst1q_s8(q + i, vcombine_s8(vqmovn_s16(ab), vqmovn_s16(cd)));
    }
    for (; i < n; i++)
        q[i] = pc_quant_one(x[i], s);
    return s;
}
