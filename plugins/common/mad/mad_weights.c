/*
 * Weights of the MAD family (cpu-avx2, cpu-neon): prepare (validate +
 * repack), free, dequantize, get_rows, and the matmul argument checks.
 *
 * Ternary storage (I2_S, TQ1_0, TQ2_0) is repacked into the MAD layout of
 * mad_weight.h (2-bit codes, rows padded to 128 columns with zero
 * weights) with its scales kept as f32: every stored value stays exact.
 * I2_S rows that start on a 128-block keep their bytes with the four 2-bit
 * fields of each byte reversed; a TQ2_0 256-block already is two of our
 * blocks; anything else goes through the scalar decoder.
 * Float storage (F32, F16, BF16, Q8_0, Q6_K) is kept byte for byte.
 */
#include <string.h>

#include "mad_weight.h"

/* int32 sums of t*q stay exact while 128 * n_cols < 2^31. */
#define MAD_MAX_TERNARY_COLS (INT64_C(1) << 24)

void pc_mad_weight_free(bn_backend_ctx *ctx, bn_weight *w) {
    if (!ctx || !w)
        return;
    pc_free(ctx, w->block_d);
    pc_free(ctx, w->codes);
    pc_free(ctx, w->lut_idx);
    pc_free(ctx, w->lut_sign);
    pc_free(ctx, w->lut_d);
    pc_free(ctx, w->raw);
    pc_free(ctx, w);
}

/* Byte with its four 2-bit fields in reverse order; non-zero *bad when a
 * field holds the invalid code 3. */
static uint8_t reverse_fields(uint8_t b, unsigned *bad) {
    *bad |= (unsigned)(b & (b >> 1) & 0x55);
    return (uint8_t)(((b >> 6) & 3) | ((b >> 2) & 0x0c) | ((b << 2) & 0x30) | ((b << 6) & 0xc0));
}

/* Our codes of row r from t[n_cols], padding with code 1 (t = 0). */
static void pack_row(const int8_t *t, int64_t n_cols, int64_t k_pad, uint8_t *out) {
    memset(out, 0, (size_t)(k_pad / 4));
    for (int64_t c = 0; c < k_pad; c++) {
        int code = c < n_cols ? t[c] + 1 : 1;
        int64_t j = c % PC_MAD_BLOCK;
        out[(c / PC_MAD_BLOCK) * PC_MAD_BLOCK_BYTES + j % 32] |= (uint8_t)(code << (2 * (j / 32)));
    }
}

/* Fast paths; return the column of an invalid code or -1. */
static int64_t repack_row_fast(const bn_weight *w, const uint8_t *data, int64_t r, uint8_t *out, float *d) {
    unsigned bad = 0;
    if (w->type == BN_TYPE_I2_S) {
        const uint8_t *src = data + (size_t)r * (size_t)(w->n_cols / 4);
        for (size_t i = 0; i < w->row_bytes; i++)
            out[i] = reverse_fields(src[i], &bad);
    } else { /* TQ2_0 */
        const uint8_t *row = data + (size_t)r * (size_t)w->blocks_per_row * 66;
        for (int64_t b = 0; b < w->blocks_per_row; b++) {
            const uint8_t *blk = row + b * 66;
            for (int i = 0; i < 64; i++)
                bad |= (unsigned)(blk[i] & (blk[i] >> 1) & 0x55);
            memcpy(out + b * 64, blk, 64);
            d[b] = pc_f16_to_f32(pc_rd16(blk + 64));
        }
    }
    return bad ? 0 : -1;
}

static bn_status prepare_ternary(bn_backend_ctx *ctx, const bn_weight_src *src, bn_weight *w) {
    const char *name = w->name;
    if (w->n_cols > MAD_MAX_TERNARY_COLS)
        return pc_fail(ctx, BN_ERR_UNSUPPORTED,
                       "tensor '%s': %lld columns exceed the %lld an exact int32 sum allows", name,
                       (long long)w->n_cols, (long long)MAD_MAX_TERNARY_COLS);
    const uint8_t *data = src->data;
    if (w->type == BN_TYPE_I2_S)
        w->tensor_scale = pc_rdf32(data + (size_t)(w->n_rows * w->n_cols / 4));
    else
        w->blocks_per_row = w->n_cols / BN_QK_K;
    w->k_pad = (w->n_cols + PC_MAD_BLOCK - 1) / PC_MAD_BLOCK * PC_MAD_BLOCK;
    w->row_bytes = (size_t)(w->k_pad / 4);
    w->codes = pc_alloc(ctx, (size_t)w->n_rows * w->row_bytes);
    int8_t *t = pc_alloc(ctx, (size_t)w->n_cols);
    if (w->blocks_per_row)
        w->block_d = pc_alloc(ctx, sizeof(float) * (size_t)(w->n_rows * w->blocks_per_row));
    if (!w->codes || !t || (w->blocks_per_row && !w->block_d)) {
        pc_free(ctx, t);
        return pc_fail(ctx, BN_ERR_NOMEM, "tensor '%s': out of memory preparing %lld x %lld", name,
                       (long long)w->n_rows, (long long)w->n_cols);
    }
    int fast = (w->type == BN_TYPE_I2_S && w->n_cols % PC_MAD_BLOCK == 0) || w->type == BN_TYPE_TQ2_0;
    for (int64_t r = 0; r < w->n_rows; r++) {
        float *d = w->block_d ? w->block_d + r * w->blocks_per_row : NULL;
        uint8_t *out = w->codes + (size_t)r * w->row_bytes;
        int64_t bad = fast ? repack_row_fast(w, data, r, out, d) : -1;
        if (bad >= 0 || !fast)
            bad = pc_decode_ternary_row(w->type, data, w->n_cols, r, t, d); /* exact column */
        if (bad >= 0) {
            pc_free(ctx, t);
            return pc_fail(ctx, BN_ERR_FORMAT,
                           "tensor '%s' (%s): invalid 2-bit code 3 at row %lld, column %lld; "
                           "ternary codes are 0, 1, 2",
                           name, bn_type_name(w->type), (long long)r, (long long)bad);
        }
        if (!fast)
            pack_row(t, w->n_cols, w->k_pad, out);
    }
    pc_free(ctx, t);
    return w->kernel == BN_KERNEL_MAD ? BN_OK : pc_lut_prepare(ctx, w);
}

bn_status pc_mad_weight_prepare(bn_backend_ctx *ctx, const bn_weight_src *src, bn_weight **out) {
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
        pc_mad_weight_free(ctx, w);
        return st;
    }
    *out = w;
    return BN_OK;
}

void pc_mad_ternary_row(const bn_weight *w, int64_t r, int8_t *t) {
    const uint8_t *row = w->codes + (size_t)r * w->row_bytes;
    for (int64_t c = 0; c < w->n_cols; c++) {
        int64_t j = c % PC_MAD_BLOCK;
        t[c] = (int8_t)(((row[(c / PC_MAD_BLOCK) * PC_MAD_BLOCK_BYTES + j % 32] >> (2 * (j / 32))) & 3) - 1);
    }
}

/* Row r of W as f32 values, every scale applied: t * scale for ternary,
 * the decoded value otherwise, then times the extra per-tensor scale. */
static void weight_row_f32(const bn_backend_ctx *ctx, const bn_weight *w, int64_t r, float *out) {
    int64_t n = w->n_cols;
    if (w->codes) {
        /* unpack into the tail bytes of `out`, then widen in place front to back */
        int8_t *t = (int8_t *)(out + n) - n;
        pc_mad_ternary_row(w, r, t);
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

bn_status pc_mad_dequantize(bn_backend_ctx *ctx, const bn_weight *w, int64_t row0, bn_tensor *dst) {
    pc_weight_dims d = dims_of(w);
    return pc_dequantize_rows(ctx, w, &d, row0, dst, weight_row_f32);
}

bn_status pc_mad_get_rows(bn_backend_ctx *ctx, const bn_weight *w, const bn_tensor *ids, bn_tensor *dst) {
    pc_weight_dims d = dims_of(w);
    return pc_get_rows(ctx, w, &d, ids, dst, weight_row_f32);
}

bn_status pc_mad_matmul_check(bn_backend_ctx *ctx, const bn_weight *w, const bn_tensor *x,
                              const bn_tensor *x_scale, const bn_tensor *y) {
    pc_weight_dims d = dims_of(w);
    return pc_matmul_check(ctx, w ? &d : NULL, w ? w->type : BN_TYPE_F32, x, x_scale, y);
}

float pc_mad_token_q(const bn_weight *w, const bn_tensor *x, const bn_tensor *x_scale, int64_t t, int8_t *q) {
    const char *xr = pc_row(x, t);
    float s;
    if (x->type == BN_TYPE_I8) {
        memcpy(q, xr, (size_t)w->n_cols);
        s = *pc_row_scale(x_scale, x, t);
    } else {
        s = pc_this_plugin.quantize_row((const float *)xr, w->n_cols, q);
    }
    if (w->k_pad > w->n_cols)
        memset(q + w->n_cols, 0, (size_t)(w->k_pad - w->n_cols));
    return s;
}
