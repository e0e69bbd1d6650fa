/* dequantize and get_rows for every CPU plugin: argument checks and the
 * row loop are the same everywhere; only the decoding of one row into f32
 * (the plugin's own weight layout) differs, so the plugin passes it in. */
#include "plugin_common.h"

static bn_status check_dst(bn_backend_ctx *ctx, const bn_weight *w, const pc_weight_dims *d, const bn_tensor *dst,
                           const char *op) {
    static const int32_t f32[] = {BN_TYPE_F32, -1};
    if (!w)
        return pc_fail(ctx, BN_ERR_INVALID, "%s: NULL weight", op);
    bn_status st = pc_check(ctx, dst, op, "dst", f32);
    if (st != BN_OK)
        return st;
    if (dst->ne[0] != d->n_cols)
        return pc_fail(ctx, BN_ERR_INVALID, "%s: dst ne[0] = %lld, weight '%s' has %lld columns", op,
                       (long long)dst->ne[0], d->name, (long long)d->n_cols);
    return BN_OK;
}

bn_status pc_dequantize_rows(bn_backend_ctx *ctx, const bn_weight *w, const pc_weight_dims *d, int64_t row0,
                             bn_tensor *dst, pc_weight_row_fn row) {
    bn_status st = check_dst(ctx, w, d, dst, "dequantize");
    if (st != BN_OK)
        return st;
    int64_t n = pc_n_rows(dst);
    if (row0 < 0 || row0 > d->n_rows || n > d->n_rows - row0)
        return pc_fail(ctx, BN_ERR_INVALID, "dequantize: rows [%lld, %lld) outside weight '%s' of %lld rows",
                       (long long)row0, (long long)(row0 + n), d->name, (long long)d->n_rows);
    for (int64_t i = 0; i < n; i++)
        row(ctx, w, row0 + i, (float *)pc_row(dst, i));
    return BN_OK;
}

bn_status pc_get_rows(bn_backend_ctx *ctx, const bn_weight *w, const pc_weight_dims *d, const bn_tensor *ids,
                      bn_tensor *dst, pc_weight_row_fn row) {
    static const int32_t i32[] = {BN_TYPE_I32, -1};
    bn_status st = check_dst(ctx, w, d, dst, "get_rows");
    if (st != BN_OK || (st = pc_check(ctx, ids, "get_rows", "ids", i32)) != BN_OK)
        return st;
    int64_t n = ids->ne[0];
    if (ids->ne[1] != 1 || ids->ne[2] != 1 || ids->ne[3] != 1 || pc_n_rows(dst) != n)
        return pc_fail(ctx, BN_ERR_INVALID, "get_rows: ids must be a vector of n entries and dst hold n rows "
                       "(ids %lld, dst rows %lld)", (long long)n, (long long)pc_n_rows(dst));
    for (int64_t i = 0; i < n; i++) {
        int32_t id = *(const int32_t *)((const char *)ids->data + i * ids->nb[0]);
        if (id < 0 || id >= d->n_rows)
            return pc_fail(ctx, BN_ERR_INVALID, "get_rows: id %d at index %lld outside weight '%s' of %lld rows",
                           (int)id, (long long)i, d->name, (long long)d->n_rows);
    }
    for (int64_t i = 0; i < n; i++) {
        int32_t id = *(const int32_t *)((const char *)ids->data + i * ids->nb[0]);
        row(ctx, w, id, (float *)pc_row(dst, i));
    }
    return BN_OK;
}
