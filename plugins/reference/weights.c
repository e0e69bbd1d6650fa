/*
 * Weights: prepare (validate + repack), free, dequantize, get_rows.
 *
 * Ternary storage (I2_S, TQ1_0, TQ2_0) is decoded to t in {-1,0,1} and
 * repacked per scale segment in the layout of the chosen kernel (lut.c),
 * with its scales kept as f32: repacking keeps every stored value exactly.
 * Float storage (F32, F16, BF16, Q8_0, Q6_K) is kept byte for byte and
 * decoded row by row when used.
 */
#include <string.h>

#include "ref_internal.h"

/* int32 sums of t*q stay exact while 128 * n_cols < 2^31. */
#define REF_MAX_TERNARY_COLS (INT64_C(1) << 24)

void ref_weight_free(bn_backend_ctx *ctx, bn_weight *w) {
    if (!ctx || !w)
        return;
    pc_free(ctx, w->block_d);
    pc_free(ctx, w->packed);
    pc_free(ctx, w->raw);
    pc_free(ctx, w);
}

static bn_status prepare_ternary(bn_backend_ctx *ctx, const bn_weight_src *src, bn_weight *w) {
    const char *name = w->name;
    if (w->n_cols > REF_MAX_TERNARY_COLS)
        return pc_fail(ctx, BN_ERR_UNSUPPORTED,
                        "tensor '%s': %lld columns exceed the %lld an exact int32 sum allows", name,
                        (long long)w->n_cols, (long long)REF_MAX_TERNARY_COLS);
    const uint8_t *data = src->data;
    if (w->type == BN_TYPE_I2_S) {
        w->tensor_scale = pc_rdf32(data + (size_t)(w->n_rows * w->n_cols / 4));
        w->seg_len = w->n_cols;
    } else {
        w->seg_len = BN_QK_K;
        w->blocks_per_row = w->n_cols / BN_QK_K;
    }
    w->n_seg = w->n_cols / w->seg_len;
    w->seg_bytes = ref_packed_bytes(w->kernel, w->seg_len);
    w->packed = pc_alloc(ctx, (size_t)(w->n_rows * w->n_seg) * w->seg_bytes);
    int8_t *t = pc_alloc(ctx, (size_t)w->n_cols);
    if (w->blocks_per_row)
        w->block_d = pc_alloc(ctx, sizeof(float) * (size_t)(w->n_rows * w->blocks_per_row));
    if (!w->packed || !t || (w->blocks_per_row && !w->block_d)) {
        pc_free(ctx, t);
        return pc_fail(ctx, BN_ERR_NOMEM, "tensor '%s': out of memory preparing %lld x %lld", name,
                        (long long)w->n_rows, (long long)w->n_cols);
    }
    for (int64_t r = 0; r < w->n_rows; r++) {
        float *d = w->block_d ? w->block_d + r * w->blocks_per_row : NULL;
        int64_t bad = pc_decode_ternary_row(w->type, data, w->n_cols, r, t, d);
        if (bad >= 0) {
            pc_free(ctx, t);
            return pc_fail(ctx, BN_ERR_FORMAT,
                            "tensor '%s' (%s): invalid 2-bit code 3 at row %lld, column %lld; "
                            "ternary codes are 0, 1, 2",
                            name, bn_type_name(w->type), (long long)r, (long long)bad);
        }
        for (int64_t s = 0; s < w->n_seg; s++)
            ref_pack(w->kernel, t + s * w->seg_len, w->seg_len,
                     w->packed + (size_t)(r * w->n_seg + s) * w->seg_bytes);
    }
    pc_free(ctx, t);
    return BN_OK;
}

bn_status ref_weight_prepare(bn_backend_ctx *ctx, const bn_weight_src *src, bn_weight **out) {
    const char *name;
    int ternary;
    bn_status st = pc_weight_src_check(ctx, src, out, &name, &ternary);
    if (st != BN_OK)
        return st;
    int32_t type = src->type;
    bn_weight *w = pc_alloc(ctx, sizeof *w);
    if (!w)
        return pc_fail(ctx, BN_ERR_NOMEM, "tensor '%s': out of memory", name);
    memset(w, 0, sizeof *w);
    strncpy(w->name, name, sizeof w->name - 1);
    w->type = type;
    w->kernel = src->kernel == BN_KERNEL_AUTO ? BN_KERNEL_MAD : src->kernel;
    w->n_rows = src->n_rows;
    w->n_cols = src->n_cols;
    w->extra_scale = src->scale;
    st = ternary ? prepare_ternary(ctx, src, w)
                 : pc_keep_float(ctx, src, w->name, w->kernel, &w->raw, &w->raw_row_bytes);
    if (st != BN_OK) {
        ref_weight_free(ctx, w);
        return st;
    }
    *out = w;
    return BN_OK;
}

void ref_weight_ternary_row(const bn_weight *w, int64_t r, int8_t *t) {
    for (int64_t s = 0; s < w->n_seg; s++)
        ref_unpack(w->kernel, w->packed + (size_t)(r * w->n_seg + s) * w->seg_bytes, w->seg_len,
                   t + s * w->seg_len);
}

/* Row r of W as f32 values, every scale applied: t * scale for ternary,
 * the decoded value otherwise, then times the extra per-tensor scale. */
static void weight_row_f32(const bn_backend_ctx *ctx, const bn_weight *w, int64_t r, float *out) {
    int64_t n = w->n_cols;
    if (w->packed) {
        /* unpack into the tail bytes of `out`, then widen in place front to back */
        int8_t *t = (int8_t *)(out + n) - n;
        ref_weight_ternary_row(w, r, t);
        pc_ternary_row_f32(t, n, w->block_d ? w->block_d + r * w->blocks_per_row : NULL, w->tensor_scale, out);
    } else {
        pc_decode_float_row(ctx, w->type, w->raw + (size_t)r * w->raw_row_bytes, n, out);
    }
    pc_scale_row(out, n, w->extra_scale);
}

static pc_weight_dims dims_of(const bn_weight *w) {
    pc_weight_dims d = {w ? w->name : "", w ? w->n_rows : 0, w ? w->n_cols : 0};
    return d;
}

bn_status ref_dequantize(bn_backend_ctx *ctx, const bn_weight *w, int64_t row0, bn_tensor *dst) {
    pc_weight_dims d = dims_of(w);
    return pc_dequantize_rows(ctx, w, &d, row0, dst, weight_row_f32);
}

bn_status ref_get_rows(bn_backend_ctx *ctx, const bn_weight *w, const bn_tensor *ids, bn_tensor *dst) {
    pc_weight_dims d = dims_of(w);
    return pc_get_rows(ctx, w, &d, ids, dst, weight_row_f32);
}
