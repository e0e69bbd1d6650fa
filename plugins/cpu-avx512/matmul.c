/*
 * y = W x: argument checks, then the kernel family of the weight type
 * (matmul_ternary.c or lut_matmul.c, matmul_q8.c, matmul_float.c).
 */
#include "a5_internal.h"

static bn_status check_args(bn_backend_ctx *ctx, const bn_weight *w, const bn_tensor *x,
                            const bn_tensor *x_scale, const bn_tensor *y) {
    pc_weight_dims d = {w ? w->name : "", w ? w->n_rows : 0, w ? w->n_cols : 0};
    return pc_matmul_check(ctx, w ? &d : NULL, w ? w->type : BN_TYPE_F32, x, x_scale, y);
}

bn_status a5_matmul(bn_backend_ctx *ctx, const bn_weight *w, const bn_tensor *x,
                    const bn_tensor *x_scale, bn_tensor *y) {
    bn_status st = check_args(ctx, w, x, x_scale, y);
    if (st != BN_OK)
        return st;
    if (w->lut_idx)
        return a5_lut_matmul(ctx, w, x, x_scale, y);
    if (w->codes)
        return a5_matmul_ternary(ctx, w, x, x_scale, y);
    if (w->q8)
        return a5_matmul_q8(ctx, w, x, x_scale, y);
    return a5_matmul_float(ctx, w, x, y);
}
