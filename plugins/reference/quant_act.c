/*
 * Per-row absmax int8 quantisation of activations (backend.h, top):
 *   s = 127 / max(max|x|, 1e-5);  q = clamp(round_half_even(x * s), -128, 127)
 * nearbyintf rounds in the current mode, which is round-to-nearest-even
 * unless a host changed it; the products and s are plain float arithmetic.
 * NaN inputs quantise to 0 (a defined value rather than UB in the cast).
 */
#include <math.h>

#include "ref_internal.h"

float ref_quantize_row(const float *x, int64_t n, int8_t *q) {
    float amax = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        float a = fabsf(x[i]);
        if (a > amax)
            amax = a;
    }
    float s = 127.0f / fmaxf(amax, 1e-5f);
    for (int64_t i = 0; i < n; i++) {
        float r = nearbyintf(x[i] * s);
        if (!(r == r))
            r = 0.0f;
        q[i] = (int8_t)(r < -128.0f ? -128 : r > 127.0f ? 127 : (int)r);
    }
    return s;
}

bn_status ref_quantize_act(bn_backend_ctx *ctx, const bn_tensor *x, bn_tensor *q, bn_tensor *s) {
    static const int32_t f32[] = {BN_TYPE_F32, -1}, i8[] = {BN_TYPE_I8, -1};
    bn_status st;
    if ((st = pc_check(ctx, x, "quantize_act", "x", f32)) != BN_OK ||
        (st = pc_check(ctx, q, "quantize_act", "q", i8)) != BN_OK ||
        (st = pc_check_row_scale(ctx, s, x, "quantize_act")) != BN_OK)
        return st;
    if (!pc_same_shape(x, q))
        return pc_fail(ctx, BN_ERR_INVALID, "quantize_act: q must have the shape of x");
    int64_t n = x->ne[0];
    for (int64_t r = 0; r < pc_n_rows(x); r++) {
        float sx = ref_quantize_row((const float *)pc_row(x, r), n, (int8_t *)pc_row(q, r));
        *(float *)pc_row_scale(s, x, r) = sx;
    }
    return BN_OK;
}
