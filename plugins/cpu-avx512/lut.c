/*
 * The LUT kernel family (TL1, TL2) of cpu-avx512: the weight layout.
 * lut_matmul.c builds the tables and runs the lookups.
 *
 * Weights are grouped along a row: TL1 pairs (9 patterns, index
 * 3 (t0+1) + (t1+1) in 4 bits), TL2 triples (m = 9 t0 + 3 t1 + t2 kept as
 * a 4-bit |m| plus a sign bit, since negating a triple negates its sum).
 * Groups never straddle a scale segment (the whole row for I2_S, a
 * 256-column block for TQ): a segment is padded with zero weights to whole
 * index words.
 *
 * One 16-bit index word holds a row's indices for 4 pairs (TL1, 4 bits
 * each, 8 columns) or 3 triples (TL2, 5 bits each, 9 columns). The lookup
 * is vpermw: 32 int16 table entries, 32 rows at once, using the low 5 bits
 * of each word, so a word only needs shifting (no masking) to present its
 * next group: TL1 tables repeat their 16 entries in the upper half, TL2
 * tables hold +e at |m| and -e at 16 + |m|.
 *
 * Rows come in tiles of 128 (the last tile has as many 32-row sub-tiles
 * as it needs; rows past n_rows have zero weights). The words of a row are
 * cut into chunks of about 60 (two scale segments for TQ) and stored chunk
 * by chunk: [chunk][tile][word][sub-tile][32 rows], so a thread walking its
 * tiles through one chunk reads one sequential stream while that chunk's
 * tables (about 12 KB per token) stay in L1, and a table loaded once
 * serves 128 rows.
 *
 * Memory: TL1 2 bits per weight, TL2 16/9 = 1.78 bits per weight (plus
 * row and segment padding); TQ weights also keep their block scales twice
 * (block_d for dequantize, lut_d in accumulator order): 0.25 bits per
 * weight. The layout is built straight from the source rows
 * (a5_source_row, no MAD copy in between), so dequantize and get_rows read
 * the LUT words (a5_lut_ternary_at).
 */
#include <string.h>

#include "a5_internal.h"

static int cols_per_word(const bn_weight *w) { return w->lut_g * w->lut_gw; }

/* Offset (in words) of row r's index word wi. */
static size_t idx_off(const bn_weight *w, int64_t r, int64_t wi) {
    int64_t tile = r / A5_LUT_TILE, in = r % A5_LUT_TILE, c = wi / w->lut_chunk;
    return a5_lut_block_off(w, c, tile) +
           (size_t)(((wi % w->lut_chunk) * a5_lut_tile_subs(w, tile) + in / A5_LUT_SUB) * A5_LUT_SUB + in % A5_LUT_SUB);
}

/* Digit j (0 = most significant) of m in -13..13 as balanced ternary:
 * m + 13 = 9 (t0+1) + 3 (t1+1) + (t2+1). */
static int tl2_digit(int m, int j) {
    int u = m + 13;
    for (int k = 2; k > j; k--)
        u /= 3;
    return u % 3 - 1;
}

int a5_lut_ternary_at(const bn_weight *w, int64_t r, int64_t c) {
    int64_t sg = c / w->lut_seg_len, off = c % w->lut_seg_len;
    int cw = cols_per_word(w);
    int in = (int)(off % cw), k = in / w->lut_g, j = in % w->lut_g;
    unsigned u = w->lut_idx[idx_off(w, r, sg * w->lut_wps + off / cw)];
    if (w->lut_g == 2) {
        int idx = (int)(u >> (4 * k)) & 15;
        return (j == 0 ? idx / 3 : idx % 3) - 1;
    }
    int f = (int)(u >> (5 * k)) & 31, d = tl2_digit(f & 15, j);
    return f & 16 ? -d : d;
}

/* Index word of the columns tp[0 .. cw) of a segment-padded row. */
static uint16_t index_word(int g, const int8_t *tp) {
    unsigned u = 0;
    if (g == 2) {
        for (int k = 0; k < 4; k++)
            u |= (unsigned)(3 * tp[2 * k] + tp[2 * k + 1] + 4) << (4 * k);
        return (uint16_t)u;
    }
    for (int k = 0; k < 3; k++) {
        int m = 9 * tp[3 * k] + 3 * tp[3 * k + 1] + tp[3 * k + 2], neg = m < 0;
        u |= (unsigned)(neg ? 16 - m : m) << (5 * k); /* |m| plus the sign bit, branch-free */
    }
    return (uint16_t)u;
}

typedef struct build_arg {
    const bn_weight_src *src;
    bn_weight *w;
    int8_t *scratch;  /* per thread: k_pad row values, then the padded row */
    size_t per_thread;
    int64_t *bad;     /* per thread: row, column of the first invalid code, or -1 */
} build_arg;

static void build_tiles(void *arg, int64_t begin, int64_t end, int thread_index) {
    const build_arg *ba = arg;
    bn_weight *w = ba->w;
    int8_t *t = ba->scratch + (size_t)thread_index * ba->per_thread, *tp = t + w->k_pad;
    int64_t cw = cols_per_word(w), seg_cols = w->lut_wps * cw, *bad = ba->bad + 2 * thread_index;
    memset(tp, 0, (size_t)(w->lut_n_seg * seg_cols)); /* segment padding stays 0 */
    for (int64_t r = begin * A5_LUT_TILE; r < end * A5_LUT_TILE && r < w->n_rows; r++) {
        int64_t bad_col = a5_source_row(ba->src, w, r, t, w->block_d ? w->block_d + r * w->n_blk : NULL);
        if (bad_col >= 0) {
            if (bad[0] < 0) {
                bad[0] = r;
                bad[1] = bad_col;
            }
            return;
        }
        for (int64_t sg = 0; sg < w->lut_n_seg; sg++)
            memcpy(tp + sg * seg_cols, t + sg * w->lut_seg_len, (size_t)w->lut_seg_len);
        int64_t stride = a5_lut_tile_subs(w, r / A5_LUT_TILE) * A5_LUT_SUB;
        for (int64_t c = 0; c < w->lut_n_chunks; c++) {
            uint16_t *out = w->lut_idx + idx_off(w, r, c * w->lut_chunk);
            const int8_t *tc = tp + c * w->lut_chunk * cw;
            for (int64_t wi = 0; wi < a5_lut_chunk_words(w, c); wi++)
                out[wi * stride] = index_word(w->lut_g, tc + wi * cw);
        }
    }
}

/* Block scales in the order of the kernel's int32 partials: per sub-tile,
 * the 16 even rows, then the 16 odd rows. */
static void fill_scales(bn_weight *w) {
    for (int64_t tile = 0; tile < w->lut_tiles; tile++)
        for (int64_t sg = 0; sg < w->lut_n_seg; sg++)
            for (int s = 0; s < A5_LUT_NSUB; s++)
                for (int i = 0; i < A5_LUT_SUB; i++) {
                    int64_t r = tile * A5_LUT_TILE + s * A5_LUT_SUB + (i < 16 ? 2 * i : 2 * (i - 16) + 1);
                    w->lut_d[((tile * w->lut_n_seg + sg) * A5_LUT_NSUB + s) * A5_LUT_SUB + i] =
                        r < w->n_rows ? w->block_d[r * w->n_blk + sg] : 0.0f;
                }
}

bn_status a5_lut_prepare(bn_backend_ctx *ctx, const bn_weight_src *src, bn_weight *w) {
    bn_status st = a5_ternary_setup(ctx, src, w);
    if (st != BN_OK)
        return st;
    int tl2 = w->kernel == BN_KERNEL_TL2;
    w->lut_g = tl2 ? 3 : 2;
    w->lut_gw = tl2 ? 3 : 4;
    w->lut_seg_len = w->block_d ? A5_BLK : w->n_cols;
    w->lut_n_seg = w->n_cols / w->lut_seg_len;
    w->lut_wps = (w->lut_seg_len + cols_per_word(w) - 1) / cols_per_word(w);
    w->lut_n_words = w->lut_n_seg * w->lut_wps;
    /* chunks: one flush period of the kernel's int16 sums (I2_S), one segment (TQ) */
    w->lut_chunk = w->block_d ? w->lut_wps : 255 / cols_per_word(w);
    w->lut_n_chunks = (w->lut_n_words + w->lut_chunk - 1) / w->lut_chunk;
    w->lut_tiles = (w->n_rows + A5_LUT_TILE - 1) / A5_LUT_TILE;
    w->lut_rows32 = (w->n_rows + A5_LUT_SUB - 1) / A5_LUT_SUB * A5_LUT_SUB;
    int64_t rows32 = w->lut_rows32;
    int nt = ctx->pc.n_threads;
    build_arg ba = {.src = src, .w = w, .per_thread = (size_t)(w->k_pad + w->lut_n_words * cols_per_word(w))};
    w->lut_idx = pc_alloc(ctx, sizeof(uint16_t) * (size_t)(w->lut_n_words * rows32));
    if (w->block_d)
        w->lut_d = pc_alloc(ctx, sizeof(float) * (size_t)(w->lut_tiles * w->lut_n_seg * A5_LUT_TILE));
    ba.scratch = pc_alloc(ctx, ba.per_thread * (size_t)nt);
    ba.bad = pc_alloc(ctx, 2 * sizeof(int64_t) * (size_t)nt);
    if (!w->lut_idx || (w->block_d && !w->lut_d) || !ba.scratch || !ba.bad) {
        pc_free(ctx, ba.scratch);
        pc_free(ctx, ba.bad);
        return pc_fail(ctx, BN_ERR_NOMEM, "tensor '%s': out of memory for the LUT layout", w->name);
    }
    for (int i = 0; i < 2 * nt; i++)
        ba.bad[i] = -1;
    pc_parallel(ctx, w->lut_tiles, 1, build_tiles, &ba);
    int64_t bad_r = -1, bad_c = -1; /* the first invalid code in row order */
    for (int i = 0; i < nt; i++)
        if (ba.bad[2 * i] >= 0 && (bad_r < 0 || ba.bad[2 * i] < bad_r)) {
            bad_r = ba.bad[2 * i];
            bad_c = ba.bad[2 * i + 1];
        }
    pc_free(ctx, ba.scratch);
    pc_free(ctx, ba.bad);
    if (bad_r >= 0)
        return a5_bad_code(ctx, w, bad_r, bad_c);
    if (w->lut_d)
        fill_scales(w);
    return BN_OK;
}
