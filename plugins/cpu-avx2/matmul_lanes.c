/*
 * Ternary y = W x for a batch of tokens, one token per 16-bit lane.
 *
 * The MAD kernel (matmul.c) spends two vector ops (maddubs, add) per 32
 * multiply-adds of one token, whatever the batch. With 8 or more tokens
 * this kernel does better: it turns the activations around so that one
 * 256-bit vector holds one column for 16 tokens (int16), and for every
 * group of 4 columns that share a code byte in the MAD layout (columns
 * p, p+32, p+64, p+96 of a 128-block) it tabulates all 81 sums
 *   T[c0 + 3 c1 + 9 c2 + 27 c3] = sum_f (c_f - 1) x[col_f]     (16 lanes)
 * Each weight row then costs one table load and one 16-bit add per code
 * byte: 4 weights x 16 tokens per add. The sums are exact integers: I2_S
 * and I32 results equal the MAD kernel's bit for bit; with per-block scales
 * (TQ1_0, TQ2_0) each widened sum is scaled by its 256-block's d as it
 * is added.
 *
 * Work: a thread takes one contiguous range of rows, in tiles of up to
 * TILE_ROWS rows. Per pair of blocks, one pass copies the tile's code
 * lines (one 64-byte line per row, read from the weight once) as
 * combination numbers c0 + 3 c1 + 9 c2 + 27 c3 into a contiguous buffer.
 * Per part of a block (8 code bytes; a 20 KB table that stays in L1) it
 * builds the table, [combination][code byte], then runs over the tile's
 * rows adding 8 lookups per row into the row's 16-bit lane sums; the code bytes of a row come in one
 * 64-bit load and are cut out with shifts (the load ports are the busy
 * ones). After a block (two blocks when no q is -128) these are widened
 * into 16 int32 (or, with per-block scales, float) lanes. |T| <= 4 * 128,
 * so a block's 32 lookups stay within 2^14 in 16 bits, two blocks of
 * |q| <= 127 within 2 * 128 * 127 < 2^15.
 * Measured on a Zen 1 core (256-bit ops split in two), `bench-kernels -t 1
 * --only matmul --tokens 8,16`: 6912x2560 at 16 tokens 4.8 ms against
 * 6.6 ms for the previous version (offsets computed per row and part,
 * code lines read once per part); at 8 tokens 4.3 ms against 4.8 ms for
 * the MAD kernel, hence the threshold (matmul.c). Writing the outputs 8
 * rows at a time turned around (8 x 8 transposes) instead of 16 scattered
 * 4-byte stores per row: 6912x2560 at 16 tokens, medians of 6 alternating
 * runs, 4.61 -> 4.38 ms (I2_S), 4.74 -> 4.45 ms (TQ2_0); 2560x2560 1.91 ->
 * 1.66 ms.
 */
#include <string.h>

#include "avx2_internal.h"
#include "simd_util.h"

#define LANES 16       /* tokens per pass (int16 lanes of a ymm) */
#define HB_GROUPS 8    /* code bytes per part of a block */
#define HB_COLS (HB_GROUPS * 4) /* columns per part */
#define PARTS (AX_BLOCK_BYTES / HB_GROUPS)
#define COMBOS 81      /* 3^4 code combinations of a byte */
#define TABLE_BYTES (COMBOS * HB_GROUPS * 32) /* [combination][group] entries */
#define ACC_BYTES 64   /* per row: 16 int32 or float lanes */
#define TILE_ROWS 2048 /* rows per table build (see lanes_work) */
#define COMBO_BYTES 64 /* per row: combination numbers of two blocks */
#define PREFETCH_ROWS 24 /* rows ahead in copy_combos */

typedef struct lanes_job {
    const bn_weight *w;
    const int16_t *cols; /* [k_pad][LANES]: column k of the pass's tokens */
    const float *s;      /* activation scales of the pass's tokens */
    bn_tensor *y;
    int64_t t0, nt;      /* the pass's first token, token count */
    int scaled;          /* per-block scales applied (float sums); else int32 sums */
    int pair_widen;      /* no q is -128: two blocks' sums fit 16 bits (2 * 128 * 127 < 2^15) */
    uint8_t *scratch;    /* per chunk: table, then row accumulators */
    size_t chunk_bytes;
    int64_t n_chunks;
} lanes_job;

/* The 81 sums of one code byte's four columns a, b, c, d. */
AX_INLINE void build_group(const int16_t *cols, int64_t c0, __m256i *out) {
    const __m256i *x = (const __m256i *)(cols + c0 * LANES);
    const __m256i z = _mm256_setzero_si256();
    __m256i t9[9], t27[27];
    __m256i a = x[0], b = x[32], c = x[64], d = x[96];
    __m256i t3[3] = {_mm256_sub_epi16(z, a), z, a};
    for (int i = 0; i < 3; i++) {
        t9[i] = _mm256_sub_epi16(t3[i], b);
        t9[i + 3] = t3[i];
        t9[i + 6] = _mm256_add_epi16(t3[i], b);
    }
    for (int i = 0; i < 9; i++) {
        t27[i] = _mm256_sub_epi16(t9[i], c);
        t27[i + 9] = t9[i];
        t27[i + 18] = _mm256_add_epi16(t9[i], c);
    }
    for (int i = 0; i < 27; i++) {
        _mm256_store_si256(out + i * HB_GROUPS, _mm256_sub_epi16(t27[i], d));
        _mm256_store_si256(out + (i + 27) * HB_GROUPS, t27[i]);
        _mm256_store_si256(out + (i + 54) * HB_GROUPS, _mm256_add_epi16(t27[i], d));
    }
}

/* The 32 code bytes c0 + 4 c1 + 16 c2 + 64 c3 of a block as combination
 * numbers c0 + 3 c1 + 9 c2 + 27 c3 (0..80), so the table is a dense 20 KB
 * (the raw codes would index 256 entries, 81 of them used). */
AX_INLINE __m256i combo_index(__m256i v) {
    const __m256i lo_tab = _mm256_setr_epi8(0, 1, 2, 3, 3, 4, 5, 6, 6, 7, 8, 9, 9, 10, 11, 12, 0, 1, 2, 3, 3, 4, 5,
                                            6, 6, 7, 8, 9, 9, 10, 11, 12);
    const __m256i hi_tab = _mm256_setr_epi8(0, 9, 18, 27, 27, 36, 45, 54, 54, 63, 72, 81, 81, 90, 99, 108, 0, 9, 18,
                                            27, 27, 36, 45, 54, 54, 63, 72, 81, 81, 90, 99, 108);
    const __m256i m4 = _mm256_set1_epi8(15);
    return _mm256_add_epi8(_mm256_shuffle_epi8(lo_tab, _mm256_and_si256(v, m4)),
                           _mm256_shuffle_epi8(hi_tab, _mm256_and_si256(_mm256_srli_epi16(v, 4), m4)));
}

/* Sum of the 8 lookups of one row in one part (16 lanes, int16): the
 * combination number m of code byte g picks entry [m][g] of the part's
 * table, at byte offset m * 256 + g * 32 (the 8 numbers come in one 64-bit
 * load and are cut out with shifts: the load ports are the busy ones). */
AX_INLINE __m256i row_lookup(const uint8_t *tab, const uint8_t *p) {
    uint64_t c;
    memcpy(&c, p, sizeof c);
#define AX_ENTRY(g) ((const __m256i *)(tab + (((g) ? c >> (8 * (g) - 8) : c << 8) & 0xff00) + (g) * 32))
    __m256i a0 = _mm256_add_epi16(_mm256_load_si256(AX_ENTRY(0)), _mm256_load_si256(AX_ENTRY(2)));
    __m256i a1 = _mm256_add_epi16(_mm256_load_si256(AX_ENTRY(1)), _mm256_load_si256(AX_ENTRY(3)));
    a0 = _mm256_add_epi16(a0, _mm256_add_epi16(_mm256_load_si256(AX_ENTRY(4)), _mm256_load_si256(AX_ENTRY(6))));
    a1 = _mm256_add_epi16(a1, _mm256_add_epi16(_mm256_load_si256(AX_ENTRY(5)), _mm256_load_si256(AX_ENTRY(7))));
#undef AX_ENTRY
    return _mm256_add_epi16(a0, a1);
}

/* One row's 16 sums as two vectors of output bits (tokens 0-7, 8-15):
 * the same float operations as the MAD kernel (acc * scale, then divided
 * by s_x), or the int32 sums as they are. */
AX_INLINE void row_out(const lanes_job *jb, const uint8_t *a, __m256 scale, const __m256 *sx, __m256 *out) {
    for (int h = 0; h < 2; h++) {
        if (jb->y->type == BN_TYPE_I32)
            out[h] = _mm256_load_ps((const float *)a + 8 * h); /* bits only */
        else
            out[h] = _mm256_div_ps(_mm256_mul_ps(jb->scaled ? _mm256_load_ps((const float *)a + 8 * h)
                                                            : _mm256_cvtepi32_ps(_mm256_load_si256((const __m256i *)a + h)),
                                                 scale),
                                   sx[h]);
    }
}

/* 8 x 8 values, row i in v[i] lane t, turned into v[t] lane i. */
AX_INLINE void transpose8(__m256 *v) {
    __m256 t[8], s[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_ps(v[2 * i], v[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_ps(v[2 * i], v[2 * i + 1]);
    }
    for (int i = 0; i < 2; i++) {
        s[4 * i] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
        s[4 * i + 1] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0xee);
        s[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        s[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xee);
    }
    for (int i = 0; i < 4; i++) {
        v[i] = _mm256_permute2f128_ps(s[i], s[i + 4], 0x20);
        v[i + 4] = _mm256_permute2f128_ps(s[i], s[i + 4], 0x31);
    }
}

/* Lanes t of rows r0..r1 as y[t][j]: 8 rows at a time turned around, so
 * that each token gets 8 consecutive outputs in one store instead of 8
 * scattered 4-byte ones (measured: see the top). */
static void write_rows(const lanes_job *jb, const uint8_t *acc, int64_t r0, int64_t r1) {
    const bn_weight *w = jb->w;
    __m256 scale = _mm256_set1_ps(jb->scaled ? w->extra_scale : w->tensor_scale * w->extra_scale);
    __m256 sx[2];
    for (int h = 0; h < 2; h++) {
        float v[8];
        for (int i = 0; i < 8; i++)
            v[i] = 8 * h + i < jb->nt ? jb->s[jb->t0 + 8 * h + i] : 1.0f;
        sx[h] = _mm256_loadu_ps(v);
    }
    int64_t j = r0;
    for (; j + 8 <= r1; j += 8) {
        __m256 lo[8], hi[8];
        for (int i = 0; i < 8; i++) {
            __m256 o[2];
            row_out(jb, acc + (j + i - r0) * ACC_BYTES, scale, sx, o);
            lo[i] = o[0];
            hi[i] = o[1];
        }
        transpose8(lo);
        for (int64_t t = 0; t < jb->nt && t < 8; t++)
            _mm256_storeu_ps((float *)(pc_row(jb->y, jb->t0 + t) + j * 4), lo[t]);
        if (jb->nt > 8) {
            transpose8(hi);
            for (int64_t t = 8; t < jb->nt; t++)
                _mm256_storeu_ps((float *)(pc_row(jb->y, jb->t0 + t) + j * 4), hi[t - 8]);
        }
    }
    for (; j < r1; j++) {
        float out[LANES];
        __m256 o[2];
        row_out(jb, acc + (j - r0) * ACC_BYTES, scale, sx, o);
        _mm256_storeu_ps(out, o[0]);
        _mm256_storeu_ps(out + 8, o[1]);
        for (int64_t t = 0; t < jb->nt; t++)
            memcpy(pc_row(jb->y, jb->t0 + t) + j * 4, &out[t], 4);
    }
}

/* Rows 0..n of one part: 8 lookups per row into its 16-bit sums. */
static void part_rows(const uint8_t *tab, __m256i *acc16, const uint8_t *combos, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        acc16[i] = _mm256_add_epi16(acc16[i], row_lookup(tab, combos + i * COMBO_BYTES));
}

/* Widens the block's 16-bit sums into the row accumulators (times the
 * block scale d when there is one) and clears them. */
static void widen_rows(const lanes_job *jb, int64_t blk, __m256i *acc16, uint8_t *acc, int64_t r0,
                       int64_t r1) {
    const bn_weight *w = jb->w;
    for (int64_t j = r0; j < r1; j++) {
        __m256i s = acc16[j - r0];
        __m256i lo = _mm256_cvtepi16_epi32(_mm256_castsi256_si128(s));
        __m256i hi = _mm256_cvtepi16_epi32(_mm256_extracti128_si256(s, 1));
        acc16[j - r0] = _mm256_setzero_si256();
        if (jb->scaled) {
            __m256 d = _mm256_set1_ps(w->block_d[j * w->blocks_per_row + blk * AX_BLOCK / 256]);
            float *a = (float *)(acc + (j - r0) * ACC_BYTES);
            _mm256_store_ps(a, _mm256_fmadd_ps(_mm256_cvtepi32_ps(lo), d, _mm256_load_ps(a)));
            _mm256_store_ps(a + 8, _mm256_fmadd_ps(_mm256_cvtepi32_ps(hi), d, _mm256_load_ps(a + 8)));
        } else {
            __m256i *a = (__m256i *)(acc + (j - r0) * ACC_BYTES);
            _mm256_store_si256(a, _mm256_add_epi32(lo, _mm256_load_si256(a)));
            _mm256_store_si256(a + 1, _mm256_add_epi32(hi, _mm256_load_si256(a + 1)));
        }
    }
}

/* The combination numbers of blocks blk and blk + 1 (when there is one) of
 * rows r0..r1, one 64-byte line per row: each code line is read from the
 * weight once, in a pass that runs ahead of itself with prefetches. */
static void copy_combos(const bn_weight *w, int64_t blk, int two, int64_t r0, int64_t r1, uint8_t *combos) {
    for (int64_t j = r0; j < r1; j++) {
        const uint8_t *cj = w->codes + (size_t)j * w->row_bytes + blk * AX_BLOCK_BYTES;
        if (j + PREFETCH_ROWS < r1)
            _mm_prefetch((const char *)(cj + PREFETCH_ROWS * w->row_bytes), _MM_HINT_T0);
        __m256i *out = (__m256i *)(combos + (j - r0) * COMBO_BYTES);
        out[0] = combo_index(_mm256_loadu_si256((const __m256i *)cj));
        if (two)
            out[1] = combo_index(_mm256_loadu_si256((const __m256i *)cj + 1));
    }
}

/* r[i] = 16 bytes of row i -> r[j] = byte j of rows 0..15, in four
 * rounds of interleaving (8-, 16-, 32-, then 64-bit units). */
AX_INLINE void transpose16x16(__m128i *r) {
    __m128i t[16];
    for (int i = 0; i < 8; i++) { /* t[h*8 + j]: rows 2j, 2j+1, bytes h*8 + 0..7 */
        t[i] = _mm_unpacklo_epi8(r[2 * i], r[2 * i + 1]);
        t[i + 8] = _mm_unpackhi_epi8(r[2 * i], r[2 * i + 1]);
    }
    for (int h = 0; h < 2; h++) /* r[h*8 + q*4 + i]: rows 4i..4i+3, bytes h*8 + q*4 + 0..3 */
        for (int i = 0; i < 4; i++) {
            r[h * 8 + i] = _mm_unpacklo_epi16(t[h * 8 + 2 * i], t[h * 8 + 2 * i + 1]);
            r[h * 8 + i + 4] = _mm_unpackhi_epi16(t[h * 8 + 2 * i], t[h * 8 + 2 * i + 1]);
        }
    for (int g = 0; g < 4; g++) /* t[g*4 + p*2 + i]: rows 8i..8i+7, bytes g*4 + p*2 + 0..1 */
        for (int i = 0; i < 2; i++) {
            t[g * 4 + i] = _mm_unpacklo_epi32(r[g * 4 + 2 * i], r[g * 4 + 2 * i + 1]);
            t[g * 4 + i + 2] = _mm_unpackhi_epi32(r[g * 4 + 2 * i], r[g * 4 + 2 * i + 1]);
        }
    for (int g = 0; g < 8; g++) {
        r[2 * g] = _mm_unpacklo_epi64(t[2 * g], t[2 * g + 1]);
        r[2 * g + 1] = _mm_unpackhi_epi64(t[2 * g], t[2 * g + 1]);
    }
}

/* cols[k][t] = q of token t0 + t at column k (int16; zero for t >= nt),
 * 16 columns at a time turned around; returns the smallest q seen. */
static int turn_columns(const int8_t *q, int64_t kp, int64_t t0, int64_t nt, int16_t *cols) {
    __m128i lo = _mm_setzero_si128();
    for (int64_t k = 0; k < kp; k += 16) {
        __m128i r[LANES];
        for (int64_t t = 0; t < LANES; t++) {
            r[t] = t < nt ? _mm_loadu_si128((const __m128i *)(q + (t0 + t) * kp + k)) : _mm_setzero_si128();
            lo = _mm_min_epi8(lo, r[t]);
        }
        transpose16x16(r);
        for (int c = 0; c < 16; c++)
            _mm256_store_si256((__m256i *)(cols + (k + c) * LANES), _mm256_cvtepi8_epi16(r[c]));
    }
    int8_t m[16];
    _mm_storeu_si128((__m128i *)m, lo);
    int min_q = 0;
    for (int i = 0; i < 16; i++)
        min_q = m[i] < min_q ? m[i] : min_q;
    return min_q;
}

static void lanes_work(void *arg, int64_t begin, int64_t end, int thread_index) {
    (void)thread_index;
    const lanes_job *jb = arg;
    const bn_weight *w = jb->w;
    int64_t n_blk = w->k_pad / AX_BLOCK;
    for (int64_t ch = begin; ch < end; ch++) {
        int64_t c0 = w->n_rows * ch / jb->n_chunks, c1 = w->n_rows * (ch + 1) / jb->n_chunks;
        uint8_t *tab = jb->scratch + (size_t)ch * jb->chunk_bytes;
        uint8_t *acc = tab + TABLE_BYTES;
        __m256i *acc16 = (__m256i *)(acc + TILE_ROWS * ACC_BYTES);
        uint8_t *combos = (uint8_t *)(acc16 + TILE_ROWS);
        /* tiles of rows whose sums and code lines stay in L2 while every
         * part of a pair of blocks passes over them */
        int64_t n_tiles = (c1 - c0 + TILE_ROWS - 1) / TILE_ROWS; /* of equal size: no small last one */
        for (int64_t ti = 0; ti < n_tiles; ti++) {
            int64_t r0 = c0 + (c1 - c0) * ti / n_tiles, r1 = c0 + (c1 - c0) * (ti + 1) / n_tiles;
            memset(acc, 0, (size_t)TILE_ROWS * (ACC_BYTES + 32));
            for (int64_t blk = 0; blk < n_blk; blk++) {
                if (blk % 2 == 0)
                    copy_combos(w, blk, blk + 1 < n_blk, r0, r1, combos);
                for (int part = 0; part < PARTS; part++) {
                    for (int g = 0; g < HB_GROUPS; g++)
                        build_group(jb->cols, blk * AX_BLOCK + part * HB_GROUPS + g, (__m256i *)tab + g);
                    part_rows(tab, acc16, combos + (blk % 2) * AX_BLOCK_BYTES + part * HB_GROUPS, r1 - r0);
                }
                /* a block: 32 lookups, |sum| <= 128 * 128 = 2^14; two when no q is -128 (TQ's
                 * 256-block scale covers both) */
                if (!jb->pair_widen || blk % 2 == 1 || blk + 1 == n_blk)
                    widen_rows(jb, blk, acc16, acc, r0, r1);
            }
            write_rows(jb, acc, r0, r1);
        }
    }
}

bn_status ax_lanes_matmul(bn_backend_ctx *ctx, const bn_weight *w, const int8_t *q, const float *s,
                          int64_t n_tok, bn_tensor *y) {
    int64_t kp = w->k_pad, rows = w->n_rows;
    int64_t n_chunks = ctx->pc.n_threads < 1 ? 1 : ctx->pc.n_threads;
    if (n_chunks > (rows + 15) / 16)
        n_chunks = (rows + 15) / 16;
    size_t chunk_bytes = TABLE_BYTES + TILE_ROWS * (ACC_BYTES + 32 + COMBO_BYTES);
    size_t cols_bytes = (size_t)kp * LANES * sizeof(int16_t);
    uint8_t *scr = pc_scratch_get(ctx, AX_SCR_LANES, cols_bytes + (size_t)n_chunks * chunk_bytes);
    if (!scr)
        return pc_fail(ctx, BN_ERR_NOMEM, "matmul: out of memory for the token-lane tables");
    int16_t *cols = (int16_t *)scr;
    lanes_job jb = {.w = w,
                    .cols = cols,
                    .s = s,
                    .y = y,
                    .scaled = w->block_d && y->type != BN_TYPE_I32,
                    .scratch = scr + cols_bytes,
                    .chunk_bytes = chunk_bytes,
                    .n_chunks = n_chunks};
    for (int64_t t0 = 0; t0 < n_tok; t0 += LANES) {
        int64_t nt = n_tok - t0 < LANES ? n_tok - t0 : LANES;
        jb.pair_widen = turn_columns(q, kp, t0, nt, cols) > -128;
        jb.t0 = t0;
        jb.nt = nt;
        pc_parallel(ctx, n_chunks, 1, lanes_work, &jb);
    }
    pc_scratch_put(ctx, AX_SCR_LANES, scr);
    return BN_OK;
}
