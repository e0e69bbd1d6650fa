/*
 * Ternary y = W x for a batch of tokens, one token per 16-bit lane.
 *
 * The MAD kernel (matmul.c) spends two vector ops (maddubs, add) per 32
 * multiply-adds of one token, whatever the batch. With 4-5 or more tokens
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
 * the MAD kernel. Writing the outputs 8 rows at a time turned around (8 x
 * 8 transposes) instead of 16 scattered 4-byte stores per row: 6912x2560
 * at 16 tokens, medians of 6 alternating runs, 4.61 -> 4.38 ms (I2_S),
 * 4.74 -> 4.45 ms (TQ2_0); 2560x2560 1.91 -> 1.66 ms.
 *
 * A pass of 8 tokens or fewer (a batch of 4-8, or what is left after
 * passes of 16) runs the same kernel on 8 lanes of an xmm
 * (matmul_lanes_width.h is compiled once per width): a 10 KB table, and
 * each lookup, add and sum is half the bytes, where a 16-lane pass would
 * carry 8 or more empty lanes at full cost. Same runs, 6912x2560: at 8
 * tokens 4.31 -> 2.80 ms (I2_S), at 6 tokens 3.68 (MAD) -> 2.77 ms, at 5
 * 3.14 (MAD) -> 2.77 ms; hence the thresholds in matmul.c.
 */
#include <string.h>

#include "avx2_internal.h"
#include "simd_util.h"

#define LANES 16       /* tokens per pass (int16 lanes of a ymm) */
#define HB_GROUPS 8    /* code bytes per part of a block */
#define PARTS (AX_BLOCK_BYTES / HB_GROUPS)
#define COMBOS 81      /* 3^4 code combinations of a byte */
#define TABLE_BYTES (COMBOS * HB_GROUPS * 32) /* [combination][group] entries, 16 lanes (the larger) */
#define ACC_BYTES 64   /* per row: 16 int32 or float lanes (the larger) */
#define TILE_ROWS 2048 /* rows per table build (see lanes_work in matmul_lanes_width.h) */
#define COMBO_BYTES 64 /* per row: combination numbers of two blocks */
#define PREFETCH_ROWS 24 /* rows ahead in copy_combos */

typedef struct lanes_job {
    const bn_weight *w;
    const int16_t *cols; /* [k_pad][16 or 8]: column k of the pass's tokens */
    const float *s;      /* activation scales of the pass's tokens */
    bn_tensor *y;
    int64_t t0, nt;      /* the pass's first token, token count */
    int scaled;          /* per-block scales applied (float sums); else int32 sums */
    int pair_widen;      /* no q is -128: two blocks' sums fit 16 bits (2 * 128 * 127 < 2^15) */
    uint8_t *scratch;    /* per chunk: table, then row accumulators */
    size_t chunk_bytes;
    int64_t n_chunks;
} lanes_job;

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

/* cols[k][t] = q of token t0 + t at column k (int16, ln lanes; zero for
 * t >= nt), 16 columns at a time turned around; returns the smallest q
 * seen. */
static int turn_columns(const int8_t *q, int64_t kp, int64_t t0, int64_t nt, int ln, int16_t *cols) {
    __m128i lo = _mm_setzero_si128();
    for (int64_t k = 0; k < kp; k += 16) {
        __m128i r[16];
        for (int64_t t = 0; t < 16; t++) {
            r[t] = t < nt ? _mm_loadu_si128((const __m128i *)(q + (t0 + t) * kp + k)) : _mm_setzero_si128();
            lo = _mm_min_epi8(lo, r[t]);
        }
        transpose16x16(r);
        for (int c = 0; c < 16; c++) {
            if (ln == 16)
                _mm256_store_si256((__m256i *)(cols + (k + c) * 16), _mm256_cvtepi8_epi16(r[c]));
            else
                _mm_store_si128((__m128i *)(cols + (k + c) * 8), _mm_cvtepi8_epi16(r[c]));
        }
    }
    int8_t m[16];
    _mm_storeu_si128((__m128i *)m, lo);
    int min_q = 0;
    for (int i = 0; i < 16; i++)
        min_q = m[i] < min_q ? m[i] : min_q;
    return min_q;
}

/* The pass kernel for 16 tokens (ymm) and for up to 8 (xmm: half the
 * table, loads and stores of the 16-lane one, where a pass of 8 or fewer
 * would leave half of each ymm empty). */
#define LN 16
#define VI __m256i
#define V_LOAD(p) _mm256_load_si256(p)
#define V_STORE(p, v) _mm256_store_si256(p, v)
#define V_ADD(a, b) _mm256_add_epi16(a, b)
#define V_SUB(a, b) _mm256_sub_epi16(a, b)
#define V_ZERO() _mm256_setzero_si256()
#define V_HALF(v, h) ((h) ? _mm256_extracti128_si256(v, 1) : _mm256_castsi256_si128(v))
#define SH 8
#define FN(name) name##_16
#include "matmul_lanes_width.h"

#define LN 8
#define VI __m128i
#define V_LOAD(p) _mm_load_si128(p)
#define V_STORE(p, v) _mm_store_si128(p, v)
#define V_ADD(a, b) _mm_add_epi16(a, b)
#define V_SUB(a, b) _mm_sub_epi16(a, b)
#define V_ZERO() _mm_setzero_si128()
#define V_HALF(v, h) ((void)(h), (v))
#define SH 7
#define FN(name) name##_8
#include "matmul_lanes_width.h"

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
        int ln = nt > 8 ? 16 : 8;
        jb.pair_widen = turn_columns(q, kp, t0, nt, ln, cols) > -128;
        jb.t0 = t0;
        jb.nt = nt;
        pc_parallel(ctx, n_chunks, 1, ln == 16 ? lanes_work_16 : lanes_work_8, &jb);
    }
    pc_scratch_put(ctx, AX_SCR_LANES, scr);
    return BN_OK;
}
