/*
 * Weights: prepare (validate + repack), free, dequantize, get_rows.
 *
 * Ternary storage (I2_S, TQ1_0, TQ2_0) is repacked into the MAD layout
 * (a5_internal.h, repack.c), or for kernel TL1 / TL2 into the LUT layout
 * (lut.c), with its scales kept as f32: the same codes and
 * scales as stored. Q8_0 is split into int8 quants and fp16 block scales
 * (same values, aligned for the kernels); F32, F16, BF16 and Q6_K keep the
 * stored bytes.
 */
#include <string.h>

#include "a5_internal.h"

/* int32 sums of t*q stay exact while 128 * n_cols < 2^31. */
#define A5_MAX_TERNARY_COLS (INT64_C(1) << 24)

void a5_weight_free(bn_backend_ctx *ctx, bn_weight *w) {
    if (!ctx || !w)
        return;
    pc_free(ctx, w->codes);
    pc_free(ctx, w->block_d);
    pc_free(ctx, w->lut_idx);
    pc_free(ctx, w->lut_d);
    pc_free(ctx, w->q8);
    pc_free(ctx, w->q8_d);
    pc_free(ctx, w->raw);
    pc_free(ctx, w);
}

static bn_status prepare_q8_0(bn_backend_ctx *ctx, const bn_weight_src *src, bn_weight *w) {
    int64_t nb = w->n_cols / BN_QK_Q8_0, n_blocks = w->n_rows * nb;
    w->q8 = pc_alloc(ctx, (size_t)(w->n_rows * w->n_cols));
    w->q8_d = pc_alloc(ctx, sizeof(uint16_t) * (size_t)n_blocks);
    if (!w->q8 || !w->q8_d)
        return pc_fail(ctx, BN_ERR_NOMEM, "tensor '%s': out of memory (%zu bytes)", w->name, src->size);
    const uint8_t *p = src->data;
    for (int64_t b = 0; b < n_blocks; b++) {
        w->q8_d[b] = pc_rd16(p + b * 34);
        memcpy(w->q8 + b * BN_QK_Q8_0, p + b * 34 + 2, BN_QK_Q8_0);
    }
    return BN_OK;
}

static bn_status prepare_float(bn_backend_ctx *ctx, const bn_weight_src *src, bn_weight *w) {
    bn_status st = pc_float_kernel_check(ctx, w->name, w->type, w->kernel);
    if (st != BN_OK)
        return st;
    w->raw_row_bytes = pc_row_bytes(w->type, w->n_cols);
    if (w->type == BN_TYPE_Q8_0)
        return prepare_q8_0(ctx, src, w);
    return pc_keep_bytes(ctx, src, w->name, &w->raw);
}

bn_status a5_weight_prepare(bn_backend_ctx *ctx, const bn_weight_src *src, bn_weight **out) {
    const char *name;
    int ternary;
    bn_status st = pc_weight_src_check(ctx, src, out, &name, &ternary);
    if (st != BN_OK)
        return st;
    int32_t type = src->type;
    if (ternary && src->n_cols > A5_MAX_TERNARY_COLS)
        return pc_fail(ctx, BN_ERR_UNSUPPORTED,
                       "tensor '%s': %lld columns exceed the %lld an exact int32 sum allows", name,
                       (long long)src->n_cols, (long long)A5_MAX_TERNARY_COLS);
    bn_weight *w = pc_alloc(ctx, sizeof *w);
    if (!w)
        return pc_fail(ctx, BN_ERR_NOMEM, "tensor '%s': out of memory", name);
    memset(w, 0, sizeof *w);
    strncpy(w->name, name, sizeof w->name - 1);
    w->type = type;
    /* AUTO is MAD: measured on Zen 4 (bench-kernels --kernels mad,tl1,tl2
     * [--cold], bitnet bench --kernel), TL2 only matched MAD on DRAM-bound
     * decode and lost on 2-thread prompt batches; TL1 is slower throughout. */
    w->kernel = src->kernel == BN_KERNEL_AUTO ? BN_KERNEL_MAD : src->kernel;
    w->n_rows = src->n_rows;
    w->n_cols = src->n_cols;
    w->extra_scale = src->scale;
    st = !ternary ? prepare_float(ctx, src, w)
              : w->kernel == BN_KERNEL_MAD ? a5_repack_ternary(ctx, src, w) : a5_lut_prepare(ctx, src, w);
    if (st != BN_OK) {
        a5_weight_free(ctx, w);
        return st;
    }
    *out = w;
    return BN_OK;
}

/* Row r of W as f32 values, every scale applied: t * scale for ternary,
 * the decoded value otherwise, then times the extra per-tensor scale. */
static void weight_row_f32(const bn_backend_ctx *ctx, const bn_weight *w, int64_t r, float *out) {
    int64_t n = w->n_cols;
    if (a5_is_ternary(w)) {
        for (int64_t c = 0; c < n; c++) {
            float scale = w->block_d ? w->block_d[r * w->n_blk + c / A5_BLK] : w->tensor_scale;
            out[c] = (float)a5_ternary_at(w, r, c) * scale;
        }
    } else if (w->q8) {
        const int8_t *q = w->q8 + r * n;
        const uint16_t *d = w->q8_d + r * (n / BN_QK_Q8_0);
        for (int64_t c = 0; c < n; c++)
            out[c] = ctx->pc.f16_table[d[c / BN_QK_Q8_0]] * (float)q[c];
    } else {
        pc_decode_float_row(ctx, w->type, w->raw + (size_t)r * w->raw_row_bytes, n, out);
    }
    pc_scale_row(out, n, w->extra_scale);
}

static pc_weight_dims dims_of(const bn_weight *w) {
    pc_weight_dims d = {w ? w->name : "", w ? w->n_rows : 0, w ? w->n_cols : 0};
    return d;
}

bn_status a5_dequantize(bn_backend_ctx *ctx, const bn_weight *w, int64_t row0, bn_tensor *dst) {
    pc_weight_dims d = dims_of(w);
    return pc_dequantize_rows(ctx, w, &d, row0, dst, weight_row_f32);
}

bn_status a5_get_rows(bn_backend_ctx *ctx, const bn_weight *w, const bn_tensor *ids, bn_tensor *dst) {
    pc_weight_dims d = dims_of(w);
    return pc_get_rows(ctx, w, &d, ids, dst, weight_row_f32);
}
