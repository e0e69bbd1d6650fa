/*
 * The LUT layout of the MAD family (mad_weight.h): its preparation from the
 * MAD codes, the per-token tables and the store of a tile's results. The
 * lookups themselves are each plugin's (pshufb, tbl).
 * The integer sums are exact, hence equal to MAD's and the reference's.
 * Scales as in the MAD kernels; TQ block partials are added per row in
 * block order. The MAD codes are kept too (dequantize and get_rows read
 * them), so a LUT weight takes about twice the memory of a MAD one.
 */
#include <string.h>

#include "mad_weight.h"

#define LT PC_LUT_TILE
/* Balanced-ternary digits of m in 0..13: m = 9 d0 + 3 d1 + d2. */
static const int8_t tl2_digits[14][3] = {
    {0, 0, 0},  {0, 0, 1},  {0, 1, -1}, {0, 1, 0}, {0, 1, 1}, {1, -1, -1}, {1, -1, 0},
    {1, -1, 1}, {1, 0, -1}, {1, 0, 0},  {1, 0, 1}, {1, 1, -1}, {1, 1, 0},  {1, 1, 1}};

int64_t pc_lut_groups(const bn_weight *w) { return w->lut_n_seg * w->lut_gps; }

/* Weights (or activations) of group g of segment sg, zero past the segment. */
static void group_vals(const bn_weight *w, const int8_t *row, int64_t sg, int64_t g, int v[3]) {
    for (int k = 0; k < 3; k++) {
        int64_t off = g * w->lut_group + k;
        v[k] = k < w->lut_group && off < w->lut_seg_len ? row[sg * w->lut_seg_len + off] : 0;
    }
}

bn_status pc_lut_prepare(bn_backend_ctx *ctx, bn_weight *w) {
    int tl2 = w->kernel == BN_KERNEL_TL2;
    w->lut_group = tl2 ? 3 : 2;
    w->lut_seg_len = w->blocks_per_row ? BN_QK_K : w->n_cols;
    w->lut_n_seg = w->n_cols / w->lut_seg_len;
    w->lut_gps = (w->lut_seg_len + w->lut_group - 1) / w->lut_group;
    w->lut_tiles = (w->n_rows + PC_LUT_TILE - 1) / PC_LUT_TILE;
    int64_t ng = pc_lut_groups(w);
    size_t tg = (size_t)w->lut_tiles * (size_t)ng;
    w->lut_idx = pc_alloc(ctx, tg * 16);
    if (tl2)
        w->lut_sign = pc_alloc(ctx, tg * sizeof(uint32_t));
    if (w->blocks_per_row)
        w->lut_d = pc_alloc(ctx, sizeof(float) * PC_LUT_TILE * (size_t)(w->lut_tiles * w->lut_n_seg));
    int8_t *t = pc_alloc(ctx, (size_t)(PC_LUT_TILE * w->n_cols));
    if (!w->lut_idx || (tl2 && !w->lut_sign) || (w->blocks_per_row && !w->lut_d) || !t) {
        pc_free(ctx, t);
        return pc_fail(ctx, BN_ERR_NOMEM, "tensor '%s': out of memory for the LUT layout", w->name);
    }
    memset(w->lut_idx, 0, tg * 16);
    if (tl2)
        memset(w->lut_sign, 0, tg * sizeof(uint32_t));
    for (int64_t tile = 0; tile < w->lut_tiles; tile++) {
        memset(t, 0, (size_t)(PC_LUT_TILE * w->n_cols)); /* padding rows: zero weights */
        for (int i = 0; i < PC_LUT_TILE && tile * PC_LUT_TILE + i < w->n_rows; i++)
            pc_mad_ternary_row(w, tile * PC_LUT_TILE + i, t + i * w->n_cols);
        for (int64_t gi = 0; gi < ng; gi++) {
            uint8_t *ip = w->lut_idx + ((size_t)tile * (size_t)ng + (size_t)gi) * 16;
            for (int i = 0; i < PC_LUT_TILE; i++) {
                int v[3], idx;
                group_vals(w, t + i * w->n_cols, gi / w->lut_gps, gi % w->lut_gps, v);
                if (tl2) {
                    int m = 9 * v[0] + 3 * v[1] + v[2];
                    idx = m < 0 ? -m : m;
                    if (m < 0)
                        w->lut_sign[(size_t)tile * (size_t)ng + (size_t)gi] |= 1u << i;
                } else {
                    idx = 3 * v[0] + v[1] + 4;
                }
                ip[i % 16] |= (uint8_t)(idx << (i < 16 ? 0 : 4));
            }
        }
        if (w->lut_d)
            for (int64_t sg = 0; sg < w->lut_n_seg; sg++)
                for (int i = 0; i < PC_LUT_TILE; i++) {
                    int64_t r = tile * PC_LUT_TILE + i;
                    w->lut_d[(tile * w->lut_n_seg + sg) * PC_LUT_TILE + i] =
                        r < w->n_rows ? w->block_d[r * w->blocks_per_row + sg] : 0.0f;
                }
    }
    pc_free(ctx, t);
    return BN_OK;
}

/* Tables of one token: [group][16 low bytes | 16 high bytes] of int16 entries. */
static void build_tables(const bn_weight *w, const int8_t *q, uint8_t *tab) {
    int64_t ng = pc_lut_groups(w);
    for (int64_t gi = 0; gi < ng; gi++) {
        int a[3];
        int16_t e[16] = {0};
        group_vals(w, q, gi / w->lut_gps, gi % w->lut_gps, a);
        if (w->lut_group == 3)
            for (int m = 0; m < 14; m++)
                e[m] = (int16_t)(tl2_digits[m][0] * a[0] + tl2_digits[m][1] * a[1] + tl2_digits[m][2] * a[2]);
        else
            for (int idx = 0; idx < 9; idx++)
                e[idx] = (int16_t)((idx / 3 - 1) * a[0] + (idx % 3 - 1) * a[1]);
        for (int i = 0; i < 16; i++) {
            tab[gi * 32 + i] = (uint8_t)((uint16_t)e[i] & 0xff);
            tab[gi * 32 + 16 + i] = (uint8_t)((uint16_t)e[i] >> 8);
        }
    }
}

static uint8_t *lut_activations(bn_backend_ctx *ctx, int slot, const bn_weight *w, const bn_tensor *x,
                            const bn_tensor *x_scale, float **s_out) {
    int64_t n_tok = pc_n_rows(x);
    size_t tab_bytes = (size_t)pc_lut_groups(w) * 32 * (size_t)n_tok;
    size_t s_off = (tab_bytes + 63) / 64 * 64, q_off = s_off + (sizeof(float) * (size_t)n_tok + 63) / 64 * 64;
    uint8_t *scr = pc_scratch_get(ctx, slot, q_off + (size_t)w->k_pad);
    if (!scr)
        return NULL;
    float *s = (float *)(scr + s_off);
    int8_t *q = (int8_t *)(scr + q_off);
    for (int64_t t = 0; t < n_tok; t++) {
        s[t] = pc_mad_token_q(w, x, x_scale, t, q);
        build_tables(w, q, scr + (size_t)t * (size_t)pc_lut_groups(w) * 32);
    }
    *s_out = s;
    return scr;
}

void pc_lut_store(const bn_weight *w, bn_tensor *y, int64_t tile, int64_t tok, float s_x, const int32_t *itot,
                  const float *ftot) {
    char *yrow = pc_row(y, tok);
    for (int i = 0; i < LT && tile * LT + i < w->n_rows; i++) {
        int64_t j = tile * LT + i;
        if (y->type == BN_TYPE_I32)
            ((int32_t *)yrow)[j] = itot[i];
        else if (w->lut_d)
            ((float *)yrow)[j] = ftot[i] * w->extra_scale / s_x;
        else
            ((float *)yrow)[j] = (float)itot[i] * (w->tensor_scale * w->extra_scale) / s_x;
    }
}

static void lut_work(void *arg, int64_t begin, int64_t end, int thread_index) {
    (void)thread_index;
    const pc_lut_job *jb = arg;
    for (int64_t tile = begin; tile < end; tile++)
        for (int64_t t = 0; t < jb->n_tok; t++)
            jb->tile(jb, tile, t);
}

bn_status pc_lut_matmul(bn_backend_ctx *ctx, int slot, const bn_weight *w, const bn_tensor *x,
                        const bn_tensor *x_scale, bn_tensor *y, pc_lut_tile_fn tile) {
    float *s;
    uint8_t *scr = lut_activations(ctx, slot, w, x, x_scale, &s);
    if (!scr)
        return pc_fail(ctx, BN_ERR_NOMEM, "matmul: out of memory for LUT tables");
    pc_lut_job jb = {.w = w, .y = y, .n_tok = pc_n_rows(x), .tables = scr, .s = s, .tile = tile};
    pc_parallel(ctx, w->lut_tiles, 1, lut_work, &jb);
    pc_scratch_put(ctx, slot, scr);
    return BN_OK;
}
