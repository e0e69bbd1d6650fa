/*
 * The softmax op of the CPU plugins. It is not on the forward path
 * (attention has its own softmax), so every plugin keeps this scalar code,
 * exact by construction: max and sum in double, one rounding per output.
 */
#include <math.h>

#include "plugin_common.h"

static const int32_t F32_ONLY[] = {BN_TYPE_F32, -1};

bn_status pc_softmax(bn_backend_ctx *ctx, const bn_tensor *x, float scale, bn_tensor *dst) {
    bn_status st;
    if ((st = pc_check(ctx, x, "softmax", "x", F32_ONLY)) != BN_OK ||
        (st = pc_check(ctx, dst, "softmax", "dst", F32_ONLY)) != BN_OK)
        return st;
    if (!pc_same_shape(x, dst))
        return pc_fail(ctx, BN_ERR_INVALID, "softmax: dst must have the shape of x");
    int64_t n = x->ne[0];
    for (int64_t r = 0; r < pc_n_rows(x); r++) {
        const float *xr = (const float *)pc_row(x, r);
        float *yr = (float *)pc_row(dst, r);
        double m = -INFINITY;
        for (int64_t i = 0; i < n; i++)
            m = fmax(m, (double)xr[i] * scale);
        if (m == -INFINITY) { /* every entry masked: nothing to attend to */
            for (int64_t i = 0; i < n; i++)
                yr[i] = 0.0f;
            continue;
        }
        double sum = 0.0;
        for (int64_t i = 0; i < n; i++)
            sum += exp((double)xr[i] * scale - m);
        for (int64_t i = 0; i < n; i++)
            yr[i] = (float)(exp((double)xr[i] * scale - m) / sum);
    }
    return BN_OK;
}
