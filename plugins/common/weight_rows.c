/* dequantize and get_rows for every CPU plugin: argument checks and the
 * row loop are the same everywhere; only the decoding of one row into f32
 * (the plugin's own weight layout) differs, so the plugin passes it in. */
#include <string.h>

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

/* ---- the checks and copies every weight_prepare shares ------------------------- */

static int is_float_storage(int32_t t) {
    return t == BN_TYPE_F32 || t == BN_TYPE_F16 || t == BN_TYPE_BF16 || t == BN_TYPE_Q8_0 ||
           t == BN_TYPE_Q6_K;
}

bn_status pc_weight_src_check(bn_backend_ctx *ctx, const bn_weight_src *src, bn_weight **out, const char **name_out,
                              int *ternary_out) {
    if (!ctx || !src || !out)
        return pc_fail(ctx, BN_ERR_INVALID, "weight_prepare: NULL argument");
    *out = NULL;
    const char *name = src->name ? src->name : "(unnamed)";
    int32_t type = src->type;
    if (type == BN_TYPE_TL1 || type == BN_TYPE_TL2)
        return pc_fail(ctx, BN_ERR_UNSUPPORTED,
                       "tensor '%s': %s files are tiled for one model shape with a configuration the "
                       "file does not carry; convert the model to I2_S or TQ2_0",
                       name, bn_type_name(type));
    int ternary = type == BN_TYPE_I2_S || type == BN_TYPE_TQ1_0 || type == BN_TYPE_TQ2_0;
    if (!ternary && !is_float_storage(type))
        return pc_fail(ctx, BN_ERR_UNSUPPORTED, "tensor '%s': storage type %s (%d) is not supported",
                       name, bn_type_name(type), (int)type);
    if (src->kernel < BN_KERNEL_AUTO || src->kernel > BN_KERNEL_TL2)
        return pc_fail(ctx, BN_ERR_INVALID, "tensor '%s': unknown kernel %d", name, (int)src->kernel);
    uint64_t want = bn_storage_size(type, src->n_rows, src->n_cols);
    if (want == 0)
        return pc_fail(ctx, BN_ERR_FORMAT, "tensor '%s': shape %lld x %lld does not fit type %s", name,
                       (long long)src->n_rows, (long long)src->n_cols, bn_type_name(type));
    if ((uint64_t)src->size != want || !src->data)
        return pc_fail(ctx, BN_ERR_FORMAT,
                       "tensor '%s': %zu bytes of data, but %s %lld x %lld takes %llu bytes", name,
                       src->size, bn_type_name(type), (long long)src->n_rows, (long long)src->n_cols,
                       (unsigned long long)want);
    *name_out = name;
    *ternary_out = ternary;
    return BN_OK;
}

bn_status pc_float_kernel_check(bn_backend_ctx *ctx, const char *name, int32_t type, int32_t kernel) {
    if (kernel != BN_KERNEL_MAD)
        return pc_fail(ctx, BN_ERR_UNSUPPORTED,
                       "tensor '%s': %s weights have no LUT kernel; use kernel auto or mad", name,
                       bn_type_name(type));
    return BN_OK;
}

bn_status pc_keep_bytes(bn_backend_ctx *ctx, const bn_weight_src *src, const char *name, uint8_t **raw) {
    *raw = pc_alloc(ctx, src->size);
    if (!*raw)
        return pc_fail(ctx, BN_ERR_NOMEM, "tensor '%s': out of memory (%zu bytes)", name, src->size);
    memcpy(*raw, src->data, src->size);
    return BN_OK;
}

bn_status pc_keep_float(bn_backend_ctx *ctx, const bn_weight_src *src, const char *name, int32_t kernel,
                        uint8_t **raw, size_t *raw_row_bytes) {
    bn_status st = pc_float_kernel_check(ctx, name, src->type, kernel);
    if (st != BN_OK)
        return st;
    *raw_row_bytes = pc_row_bytes(src->type, src->n_cols);
    return pc_keep_bytes(ctx, src, name, raw);
}

bn_status pc_matmul_check(bn_backend_ctx *ctx, const pc_weight_dims *d, int32_t type, const bn_tensor *x,
                          const bn_tensor *x_scale, const bn_tensor *y) {
    static const int32_t xt[] = {BN_TYPE_F32, BN_TYPE_I8, -1}, yt[] = {BN_TYPE_F32, BN_TYPE_I32, -1};
    bn_status st;
    if (!d)
        return pc_fail(ctx, BN_ERR_INVALID, "matmul: NULL weight");
    if ((st = pc_check(ctx, x, "matmul", "x", xt)) != BN_OK ||
        (st = pc_check(ctx, y, "matmul", "y", yt)) != BN_OK)
        return st;
    if (x->ne[0] != d->n_cols || y->ne[0] != d->n_rows || pc_n_rows(x) != pc_n_rows(y))
        return pc_fail(ctx, BN_ERR_INVALID,
                       "matmul: weight '%s' is %lld x %lld; x has ne[0] = %lld and %lld rows, y has "
                       "ne[0] = %lld and %lld rows",
                       d->name, (long long)d->n_rows, (long long)d->n_cols, (long long)x->ne[0],
                       (long long)pc_n_rows(x), (long long)y->ne[0], (long long)pc_n_rows(y));
    int ternary = bn_type_is_ternary(type);
    if (y->type == BN_TYPE_I32 && !ternary)
        return pc_fail(ctx, BN_ERR_UNSUPPORTED, "matmul: I32 output needs ternary weights ('%s' is %s)", d->name,
                       bn_type_name(type));
    if (x->type == BN_TYPE_I8) {
        if (!ternary && type != BN_TYPE_Q8_0)
            return pc_fail(ctx, BN_ERR_UNSUPPORTED, "matmul: I8 activations need ternary or Q8_0 weights ('%s' is %s)",
                           d->name, bn_type_name(type));
        if (!x_scale)
            return pc_fail(ctx, BN_ERR_INVALID, "matmul: I8 x needs x_scale");
        return pc_check_row_scale(ctx, x_scale, x, "matmul");
    }
    return BN_OK;
}

void pc_ternary_row_f32(const int8_t *t, int64_t n, const float *d, float scale, float *out) {
    for (int64_t c = 0; c < n; c++) /* front to back: t may lie in the tail bytes of out */
        out[c] = (float)t[c] * (d ? d[c / BN_QK_K] : scale);
}

void pc_scale_row(float *out, int64_t n, float extra) {
    if (extra != 1.0f)
        for (int64_t c = 0; c < n; c++)
            out[c] *= extra;
}
