/*
 * Ternary sources -> the MAD layout of a5_internal.h.
 *
 * Fast paths copy whole 256-column blocks: a TQ2_0 block's qs[64] already
 * is a unit; two consecutive I2_S blocks (128 columns each, 2-bit fields in
 * the opposite order) become one unit by reversing the fields of each byte.
 * They apply when every 256-column block of a row is whole (and, for I2_S,
 * starts on an I2_S block). Everything else (TQ1_0, I2_S rows that do not
 * start on a 256-column boundary or end mid-block) goes through the
 * portable decoder and is packed value by value. a5_source_row decodes one
 * source row the same way, for the LUT layout (lut.c).
 */
#include <immintrin.h>
#include <string.h>

#include "a5_internal.h"

static size_t unit_offset(const bn_weight *w, int64_t r, int64_t b) {
    return (size_t)((((r / A5_RG) * w->n_blk + b) * A5_RG + r % A5_RG) * A5_UNIT);
}

int a5_ternary_at(const bn_weight *w, int64_t r, int64_t c) {
    if (!w->codes)
        return a5_lut_ternary_at(w, r, c);
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

bn_status a5_bad_code(bn_backend_ctx *ctx, const bn_weight *w, int64_t r, int64_t c) {
    return pc_fail(ctx, BN_ERR_FORMAT,
                   "tensor '%s' (%s): invalid 2-bit code 3 at row %lld, column %lld; ternary codes are 0, 1, 2",
                   w->name, bn_type_name(w->type), (long long)r, (long long)c);
}

/* The slow, general path: decode each row, then pack it. */
static bn_status repack_decoded(bn_backend_ctx *ctx, const uint8_t *data, bn_weight *w) {
    int8_t *t = pc_alloc(ctx, (size_t)w->n_cols);
    float *d = w->block_d ? pc_alloc(ctx, sizeof(float) * (size_t)w->n_blk) : NULL;
    if (!t || (w->block_d && !d)) {
        pc_free(ctx, t);
        pc_free(ctx, d);
        return pc_fail(ctx, BN_ERR_NOMEM, "tensor '%s': out of memory", w->name);
    }
    bn_status st = BN_OK;
    for (int64_t r = 0; r < w->n_rows && st == BN_OK; r++) {
        int64_t bad = pc_decode_ternary_row(w->type, data, w->n_cols, r, t, d);
        if (bad >= 0) {
            st = a5_bad_code(ctx, w, r, bad);
            break;
        }
        if (d)
            memcpy(w->block_d + r * w->n_blk, d, sizeof(float) * (size_t)w->n_blk);
        pack_row(w, r, t);
    }
    pc_free(ctx, t);
    pc_free(ctx, d);
    return st;
}

/* Fast-path unit of row r, block b of an I2_S or TQ2_0 source (and its d). */
static void source_unit(const uint8_t *data, const bn_weight *w, int64_t r, int64_t b, uint8_t *u, float *d) {
    const uint8_t *s;
    if (w->type == BN_TYPE_TQ2_0) {
        s = data + (size_t)(r * w->n_blk + b) * 66;
        memcpy(u, s, A5_UNIT);
        *d = pc_f16_to_f32(pc_rd16(s + 64));
    } else {
        s = data + (size_t)((r * w->n_cols + b * A5_BLK) / 4);
        for (int i = 0; i < A5_UNIT; i++)
            u[i] = reverse_fields(s[i]);
    }
}

/* Column of the first code 3 in a unit (which has one). */
static int64_t code3_col(const uint8_t *u) {
    for (int64_t cc = 0; cc < A5_BLK; cc++) {
        int byte = u[32 * (cc / 128) + cc % 32];
        if (((byte >> (2 * ((cc % 128) / 32))) & 3) == 3)
            return cc;
    }
    return 0;
}

static int fast_source(const bn_weight *w) {
    return w->n_cols % A5_BLK == 0 && w->type != BN_TYPE_TQ1_0;
}

static bn_status repack_fast(bn_backend_ctx *ctx, const uint8_t *data, bn_weight *w) {
    float d = 0.0f;
    for (int64_t r = 0; r < w->n_rows; r++) {
        for (int64_t b = 0; b < w->n_blk; b++) {
            uint8_t *u = w->codes + unit_offset(w, r, b);
            source_unit(data, w, r, b, u, &d);
            if (w->block_d)
                w->block_d[r * w->n_blk + b] = d;
            if (has_code3(u)) /* find the exact column for the message */
                return a5_bad_code(ctx, w, r, b * A5_BLK + code3_col(u));
        }
    }
    return BN_OK;
}

int64_t a5_source_row(const bn_weight_src *src, const bn_weight *w, int64_t r, int8_t *t, float *d) {
    if (!fast_source(w)) {
        int64_t bad = pc_decode_ternary_row(w->type, src->data, w->n_cols, r, t, d);
        memset(t + w->n_cols, 0, (size_t)(w->k_pad - w->n_cols));
        return bad;
    }
    const __m512i m3 = _mm512_set1_epi8(3), one = _mm512_set1_epi8(1);
    uint8_t u[A5_UNIT] __attribute__((aligned(64)));
    float dummy;
    for (int64_t b = 0; b < w->n_blk; b++) {
        source_unit(src->data, w, r, b, u, d ? d + b : &dummy);
        if (has_code3(u))
            return b * A5_BLK + code3_col(u);
        __m512i v = _mm512_load_si512((const void *)u);
        for (int n = 0; n < 4; n++) { /* code group n: columns 32n + m and 128 + 32n + m */
            __m512i c = _mm512_sub_epi8(_mm512_and_si512(_mm512_srli_epi16(v, (unsigned)(2 * n)), m3), one);
            _mm256_storeu_si256((void *)(t + b * A5_BLK + 32 * n), _mm512_castsi512_si256(c));
            _mm256_storeu_si256((void *)(t + b * A5_BLK + 128 + 32 * n), _mm512_extracti64x4_epi64(c, 1));
        }
    }
    return -1;
}

bn_status a5_ternary_setup(bn_backend_ctx *ctx, const bn_weight_src *src, bn_weight *w) {
    w->k_pad = (w->n_cols + A5_BLK - 1) / A5_BLK * A5_BLK;
    w->n_blk = w->k_pad / A5_BLK;
    w->rows_pad = (w->n_rows + A5_RG - 1) / A5_RG * A5_RG;
    if (w->type == BN_TYPE_I2_S) {
        w->tensor_scale = pc_rdf32((const uint8_t *)src->data + (size_t)(w->n_rows * w->n_cols / 4));
        return BN_OK;
    }
    w->block_d = pc_alloc(ctx, sizeof(float) * (size_t)(w->rows_pad * w->n_blk));
    if (!w->block_d)
        return pc_fail(ctx, BN_ERR_NOMEM, "tensor '%s': out of memory", w->name);
    memset(w->block_d, 0, sizeof(float) * (size_t)(w->rows_pad * w->n_blk));
    return BN_OK;
}

bn_status a5_repack_ternary(bn_backend_ctx *ctx, const bn_weight_src *src, bn_weight *w) {
    bn_status st = a5_ternary_setup(ctx, src, w);
    if (st != BN_OK)
        return st;
    size_t bytes = (size_t)(w->rows_pad * w->n_blk * A5_UNIT);
    w->codes = pc_alloc(ctx, bytes);
    if (!w->codes)
        return pc_fail(ctx, BN_ERR_NOMEM, "tensor '%s': out of memory preparing %lld x %lld", w->name,
                       (long long)w->n_rows, (long long)w->n_cols);
    memset(w->codes, 0x55, bytes); /* padding: code 1, t = 0 */
    return fast_source(w) ? repack_fast(ctx, src->data, w) : repack_decoded(ctx, src->data, w);
}
