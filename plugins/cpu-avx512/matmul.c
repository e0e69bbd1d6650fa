/*
 * y = W x: argument checks, then the kernel family of the weight type
 * (matmul_ternary.c or lut_matmul.c, matmul_q8.c, matmul_float.c).
 */
#include "a5_internal.h"

static bn_status check_args(bn_backend_ctx *ctx, const bn_weight *w, const bn_tensor *x,
                            const bn_tensor *x_scale, const bn_tensor *y) {
    static const int32_t xt[] = {BN_TYPE_F32, BN_TYPE_I8, -1}, yt[] = {BN_TYPE_F32, BN_TYPE_I32, -1};
    bn_status st;
    if (!w)
        return pc_fail(ctx, BN_ERR_INVALID, "matmul: NULL weight");
    if ((st = pc_check(ctx, x, "matmul", "x", xt)) != BN_OK ||
        (st = pc_check(ctx, y, "matmul", "y", yt)) != BN_OK)
        return st;
    if (x->ne[0] != w->n_cols || y->ne[0] != w->n_rows || pc_n_rows(x) != pc_n_rows(y))
        return pc_fail(ctx, BN_ERR_INVALID,
                       "matmul: weight '%s' is %lld x %lld; x has ne[0] = %lld and %lld rows, y has "
                       "ne[0] = %lld and %lld rows",
                       w->name, (long long)w->n_rows, (long long)w->n_cols, (long long)x->ne[0],
                       (long long)pc_n_rows(x), (long long)y->ne[0], (long long)pc_n_rows(y));
    if (y->type == BN_TYPE_I32 && !a5_is_ternary(w))
        return pc_fail(ctx, BN_ERR_UNSUPPORTED, "matmul: I32 output needs ternary weights ('%s' is %s)",
                       w->name, bn_type_name(w->type));
    if (x->type == BN_TYPE_I8) {
        if (!a5_is_ternary(w) && w->type != BN_TYPE_Q8_0)
            return pc_fail(ctx, BN_ERR_UNSUPPORTED, "matmul: I8 activations need ternary or Q8_0 weights "
                           "('%s' is %s)", w->name, bn_type_name(w->type));
        if (!x_scale)
            return pc_fail(ctx, BN_ERR_INVALID, "matmul: I8 x needs x_scale");
        return pc_check_row_scale(ctx, x_scale, x, "matmul");
    }
    return BN_OK;
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
