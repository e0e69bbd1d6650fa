/*
 * Ternary sources -> the MAD layout of a5_internal.h.
 *
 * Fast paths copy whole 256-column blocks: a TQ2_0 block's qs[64] already
 * is a unit; two consecutive I2_S blocks (128 columns each, 2-bit fields in
 * the opposite order) become one unit by reversing the fields of each byte.
 * They apply when every 256-column block of a row is whole (and, for I2_S,
 * starts on an I2_S block). Everything else (TQ1_0, I2_S rows that do not
 * start on a 256-column boundary or end mid-block) goes through the
 * portable decoder and is packed value by value.
 */
#include <string.h>

#include "a5_internal.h"

static size_t unit_offset(const bn_weight *w, int64_t r, int64_t b) {
    return (size_t)((((r / A5_RG) * w->n_blk + b) * A5_RG + r % A5_RG) * A5_UNIT);
}

int a5_ternary_at(const bn_weight *w, int64_t r, int64_t c) {
    int64_t cc = c % A5_BLK;
    const uint8_t *u = w->codes + unit_offset(w, r, c / A5_BLK);
    int byte = u[32 * (cc / 128) + cc % 32];
    return ((byte >> (2 * ((cc % 128) / 32))) & 3) - 1;
}

/* 2-bit fields of a byte in reverse order: I2_S order -> unit order. */
static uint8_t reverse_fields(uint8_t x) {
    return (uint8_t)(((x >> 6) & 3) | ((x >> 2) & 0x0c) | ((x << 2) & 0x30) | ((x << 6) & 0xc0));
}

/* Non-zero if some 2-bit field of the 64 bytes holds the invalid code 3. */
static int has_code3(const uint8_t *p) {
    uint8_t bad = 0;
    for (int i = 0; i < A5_UNIT; i++)
        bad |= (uint8_t)(p[i] & (p[i] >> 1) & 0x55);
    return bad != 0;
}

static void pack_row(bn_weight *w, int64_t r, const int8_t *t) {
    for (int64_t b = 0; b < w->n_blk; b++) {
        uint8_t *u = w->codes + unit_offset(w, r, b);
        memset(u, 0, A5_UNIT);
        for (int64_t cc = 0; cc < A5_BLK; cc++) {
            int64_t c = b * A5_BLK + cc;
            int code = c < w->n_cols ? t[c] + 1 : 1;
            u[32 * (cc / 128) + cc % 32] |= (uint8_t)(code << (2 * ((cc % 128) / 32)));
        }
    }
}

static bn_status bad_code(bn_backend_ctx *ctx, const bn_weight *w, int64_t r, int64_t c) {
    return pc_fail(ctx, BN_ERR_FORMAT,
                   "tensor '%s' (%s): invalid 2-bit code 3 at row %lld, column %lld; ternary codes are 0, 1, 2",
                   w->name, bn_type_name(w->type), (long long)r, (long long)c);
}

/* The slow, general path: decode each row, then pack it. */
static bn_status repack_decoded(bn_backend_ctx *ctx, const uint8_t *data, bn_weight *w) {
    int8_t *t = a5_alloc(ctx, (size_t)w->n_cols);
    float *d = w->block_d ? a5_alloc(ctx, sizeof(float) * (size_t)w->n_blk) : NULL;
    if (!t || (w->block_d && !d)) {
        a5_free(ctx, t);
        a5_free(ctx, d);
        return pc_fail(ctx, BN_ERR_NOMEM, "tensor '%s': out of memory", w->name);
    }
    bn_status st = BN_OK;
    for (int64_t r = 0; r < w->n_rows && st == BN_OK; r++) {
        int64_t bad = pc_decode_ternary_row(w->type, data, w->n_cols, r, t, d);
        if (bad >= 0) {
            st = bad_code(ctx, w, r, bad);
            break;
        }
        if (d)
            memcpy(w->block_d + r * w->n_blk, d, sizeof(float) * (size_t)w->n_blk);
        pack_row(w, r, t);
    }
    a5_free(ctx, t);
    a5_free(ctx, d);
    return st;
}

static bn_status repack_fast(bn_backend_ctx *ctx, const uint8_t *data, bn_weight *w) {
    for (int64_t r = 0; r < w->n_rows; r++) {
        for (int64_t b = 0; b < w->n_blk; b++) {
            uint8_t *u = w->codes + unit_offset(w, r, b);
            const uint8_t *s;
            if (w->type == BN_TYPE_TQ2_0) {
                s = data + (size_t)(r * w->n_blk + b) * 66;
                memcpy(u, s, A5_UNIT);
                w->block_d[r * w->n_blk + b] = pc_f16_to_f32(pc_rd16(s + 64));
            } else {
                s = data + (size_t)((r * w->n_cols + b * A5_BLK) / 4);
                for (int i = 0; i < A5_UNIT; i++)
                    u[i] = reverse_fields(s[i]);
            }
            if (has_code3(u)) { /* find the exact column for the message */
                for (int64_t cc = 0; cc < A5_BLK; cc++) {
                    int byte = u[32 * (cc / 128) + cc % 32];
                    if (((byte >> (2 * ((cc % 128) / 32))) & 3) == 3)
                        return bad_code(ctx, w, r, b * A5_BLK + cc);
                }
            }
        }
    }
    return BN_OK;
}

bn_status a5_repack_ternary(bn_backend_ctx *ctx, const bn_weight_src *src, bn_weight *w) {
    const uint8_t *data = src->data;
    w->k_pad = (w->n_cols + A5_BLK - 1) / A5_BLK * A5_BLK;
    w->n_blk = w->k_pad / A5_BLK;
    w->rows_pad = (w->n_rows + A5_RG - 1) / A5_RG * A5_RG;
    size_t bytes = (size_t)(w->rows_pad * w->n_blk * A5_UNIT);
    w->codes = a5_alloc(ctx, bytes);
    if (!w->codes)
        return pc_fail(ctx, BN_ERR_NOMEM, "tensor '%s': out of memory preparing %lld x %lld", w->name,
                       (long long)w->n_rows, (long long)w->n_cols);
    memset(w->codes, 0x55, bytes); /* padding: code 1, t = 0 */
    if (w->type == BN_TYPE_I2_S) {
        w->tensor_scale = pc_rdf32(data + (size_t)(w->n_rows * w->n_cols / 4));
    } else {
        w->block_d = a5_alloc(ctx, sizeof(float) * (size_t)(w->rows_pad * w->n_blk));
        if (!w->block_d)
            return pc_fail(ctx, BN_ERR_NOMEM, "tensor '%s': out of memory", w->name);
        memset(w->block_d, 0, sizeof(float) * (size_t)(w->rows_pad * w->n_blk));
    }
    int fast = w->n_cols % A5_BLK == 0 && w->type != BN_TYPE_TQ1_0;
    return fast ? repack_fast(ctx, data, w) : repack_decoded(ctx, data, w);
}
