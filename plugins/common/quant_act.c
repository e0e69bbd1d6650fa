/*
 * The quantize_act slot of every plugin: argument checks, then the
 * plugin's own row kernel (pc_plugin.quantize_row) for each row, its scale
 * stored beside the row (backend.h: s = 127 / max(max|x|, 1e-5)).
 */
#include <math.h>

#include "plugin_common.h"

int8_t pc_quant_one(float v, float s) {
    float r = nearbyintf(v * s);
    if (!(r == r)) /* NaN quantises to 0: a defined value rather than UB in the cast */
        r = 0.0f;
    return (int8_t)(r < -128.0f ? -128 : r > 127.0f ? 127 : (int)r);
}

bn_status pc_quantize_act(bn_backend_ctx *ctx, const bn_tensor *x, bn_tensor *q, bn_tensor *s) {
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
        float sx = pc_this_plugin.quantize_row((const float *)pc_row(x, r), n, (int8_t *)pc_row(q, r));
        *(float *)pc_row_scale(s, x, r) = sx;
    }
    return BN_OK;
}
