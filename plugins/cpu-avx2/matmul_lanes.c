/*
 * Ternary y = W x for a batch of tokens, one token per 16-bit lane.
 *
 * The MAD kernel (matmul.c) spends two vector ops (maddubs, add) per 32
 * multiply-adds of one token, whatever the batch. With 6 or more tokens
 * this kernel does better: it turns the activations around so that one
 * 256-bit vector holds one column for 16 tokens (int16), and for every
 * group of 4 columns that share a code byte in the MAD layout (columns
 * p, p+32, p+64, p+96 of a 128-block) it tabulates all 81 sums
 *   T[c0 + 3 c1 + 9 c2 + 27 c3] = sum_f (c_f - 1) x[col_f]     (16 lanes)
 * Each weight row then costs one table load and one 16-bit add per code
 * byte: 4 weights x 16 tokens per add. The sums are exact integers: I2_S
 * and I32 results equal the MAD kernel's bit for bit; with per-block scales
 * (TQ1_0, TQ2_0) each block's sum is scaled as it is added.
 *
 * Work: a thread takes one contiguous range of rows, in tiles of 1024 rows
 * (their code lines and sums stay in L2). Per part of a block (8 code
 * bytes; a 20 KB table that stays in L1) it builds the table, then runs
 * over the tile's rows adding 8 lookups per row into the row's 16-bit lane
 * sums; after a block's four parts these are widened into 16 int32 (or,
 * with per-block scales, float) lanes. |T| <= 4 * 128, so a block's 32
 * lookups stay within 2^14 in 16 bits.
 * Measured on a Zen 1 core (256-bit ops split in two): at 16 tokens about
 * twice the MAD kernel's speed, at 8 tokens the same, hence the threshold.
 */
#include <string.h>

#include "avx2_internal.h"
#include "simd_util.h"

#define LANES 16       /* tokens per pass (int16 lanes of a ymm) */
#define HB_GROUPS 8    /* code bytes per part of a block */
#define HB_COLS (HB_GROUPS * 4) /* columns per part */
#define PARTS (AX_BLOCK_BYTES / HB_GROUPS)
#define COMBOS 81      /* 3^4 code combinations of a byte */
#define TABLE_BYTES (HB_GROUPS * COMBOS * 32)
#define ACC_BYTES 64   /* per row: 16 int32 or float lanes */
#define TILE_ROWS 1024 /* rows per table build (see lanes_work) */
#define SUB 64         /* rows per offsets pass */

typedef struct lanes_job {
    const bn_weight *w;
    const int16_t *cols; /* [k_pad][LANES]: column k of the pass's tokens */
    const float *s;      /* activation scales of the pass's tokens */
    bn_tensor *y;
    int64_t t0, nt;      /* the pass's first token, token count */
    int scaled;          /* per-block scales applied (float sums); else int32 sums */
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
        _mm256_store_si256(out + i, _mm256_sub_epi16(t27[i], d));
        _mm256_store_si256(out + i + 27, t27[i]);
        _mm256_store_si256(out + i + 54, _mm256_add_epi16(t27[i], d));
    }
}

/* Byte offsets into the part's table of the 8 code bytes at p. */
AX_INLINE void table_offsets(const uint8_t *p, uint32_t *off) {
    /* low nibble c0 + 4 c1 -> c0 + 3 c1; high nibble c2 + 4 c3 -> 9 c2 + 27 c3 */
    const __m128i lo_tab = _mm_setr_epi8(0, 1, 2, 3, 3, 4, 5, 6, 6, 7, 8, 9, 9, 10, 11, 12);
    const __m128i hi_tab = _mm_setr_epi8(0, 9, 18, 27, 27, 36, 45, 54, 54, 63, 72, 81, 81, 90, 99, 108);
    const __m128i m4 = _mm_set1_epi8(15);
    const __m256i base = _mm256_setr_epi32(0, 81, 162, 243, 324, 405, 486, 567);
    __m128i v = _mm_loadl_epi64((const __m128i *)p);
    __m128i idx = _mm_add_epi8(_mm_shuffle_epi8(lo_tab, _mm_and_si128(v, m4)),
                               _mm_shuffle_epi8(hi_tab, _mm_and_si128(_mm_srli_epi16(v, 4), m4)));
    __m256i o = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtepu8_epi32(idx), base), 5);
    _mm256_store_si256((__m256i *)off, o);
}

/* Sum of the 8 lookups of one row in one part (16 lanes, int16). */
AX_INLINE __m256i row_lookup(const uint8_t *tab, const uint32_t *off) {
    __m256i a0 = _mm256_load_si256((const __m256i *)(tab + off[0]));
    __m256i a1 = _mm256_load_si256((const __m256i *)(tab + off[1]));
#pragma GCC unroll 8
    for (int i = 2; i < HB_GROUPS; i += 2) {
        a0 = _mm256_add_epi16(a0, _mm256_load_si256((const __m256i *)(tab + off[i])));
        a1 = _mm256_add_epi16(a1, _mm256_load_si256((const __m256i *)(tab + off[i + 1])));
    }
    return _mm256_add_epi16(a0, a1);
}

static void write_rows(const lanes_job *jb, const uint8_t *acc, int64_t r0, int64_t r1) {
    const bn_weight *w = jb->w;
    float scale = w->tensor_scale * w->extra_scale;
    for (int64_t t = 0; t < jb->nt; t++) {
        char *yrow = pc_row(jb->y, jb->t0 + t);
        float sx = jb->s[jb->t0 + t]; /* divided, not multiplied by 1/sx: as the MAD kernel */
        for (int64_t j = r0; j < r1; j++) {
            const uint8_t *a = acc + (j - r0) * ACC_BYTES;
            if (jb->y->type == BN_TYPE_I32)
                ((int32_t *)yrow)[j] = ((const int32_t *)a)[t];
            else if (jb->scaled)
                ((float *)yrow)[j] = ((const float *)a)[t] * w->extra_scale / sx;
            else
                ((float *)yrow)[j] = (float)((const int32_t *)a)[t] * scale / sx;
        }
    }
}

/* Rows r0..r1 of one part, SUB rows at a time: their table offsets first
 * (a pass of its own, so the lookups read them from memory written well
 * before), then the lookups. */
static void part_rows(const lanes_job *jb, const uint8_t *tab, const uint8_t *codes, __m256i *acc16,
                      int64_t r0, int64_t r1) {
    const bn_weight *w = jb->w;
    uint32_t offs[SUB * HB_GROUPS] __attribute__((aligned(32)));
    for (int64_t s0 = r0; s0 < r1; s0 += SUB) {
        int64_t s1 = s0 + SUB < r1 ? s0 + SUB : r1;
        for (int64_t j = s0; j < s1; j++)
            table_offsets(codes + (size_t)j * w->row_bytes, offs + (j - s0) * HB_GROUPS);
        for (int64_t j = s0; j < s1; j++)
            acc16[j - r0] = _mm256_add_epi16(acc16[j - r0], row_lookup(tab, offs + (j - s0) * HB_GROUPS));
    }
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

static void lanes_work(void *arg, int64_t begin, int64_t end, int thread_index) {
    (void)thread_index;
    const lanes_job *jb = arg;
    const bn_weight *w = jb->w;
    for (int64_t ch = begin; ch < end; ch++) {
        int64_t c0 = w->n_rows * ch / jb->n_chunks, c1 = w->n_rows * (ch + 1) / jb->n_chunks;
        uint8_t *tab = jb->scratch + (size_t)ch * jb->chunk_bytes;
        uint8_t *acc = tab + TABLE_BYTES;
        __m256i *acc16 = (__m256i *)(acc + TILE_ROWS * ACC_BYTES);
        /* tiles of rows whose code lines, 16-bit and 32-bit sums stay in L2
         * while every part of every block passes over them */
        int64_t n_tiles = (c1 - c0 + TILE_ROWS - 1) / TILE_ROWS; /* of equal size: no small last one */
        for (int64_t ti = 0; ti < n_tiles; ti++) {
            int64_t r0 = c0 + (c1 - c0) * ti / n_tiles, r1 = c0 + (c1 - c0) * (ti + 1) / n_tiles;
            memset(acc, 0, (size_t)TILE_ROWS * (ACC_BYTES + 32));
            for (int64_t blk = 0; blk < w->k_pad / AX_BLOCK; blk++) {
                for (int part = 0; part < PARTS; part++) {
                    for (int g = 0; g < HB_GROUPS; g++)
                        build_group(jb->cols, blk * AX_BLOCK + part * HB_GROUPS + g,
                                    (__m256i *)(tab + (size_t)g * COMBOS * 32));
                    part_rows(jb, tab, w->codes + blk * AX_BLOCK_BYTES + part * HB_GROUPS, acc16, r0, r1);
                }
                widen_rows(jb, blk, acc16, acc, r0, r1); /* a block: 32 lookups, |sum| <= 2^14 */
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
    size_t chunk_bytes = TABLE_BYTES + TILE_ROWS * (ACC_BYTES + 32);
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
        memset(cols, 0, cols_bytes);
        for (int64_t t = 0; t < nt; t++) {
            const int8_t *qt = q + (t0 + t) * kp;
            for (int64_t k = 0; k < kp; k++)
                cols[k * LANES + t] = qt[k];
        }
        jb.t0 = t0;
        jb.nt = nt;
        pc_parallel(ctx, n_chunks, 1, lanes_work, &jb);
    }
    pc_scratch_put(ctx, AX_SCR_LANES, scr);
    return BN_OK;
}
