/*
 * y = W x for float-family weights (the LM head, embeddings used as the
 * head, and any non-ternary linear layer).
 *  F16 with x F32: tiles of R rows x T tokens (f16_tile), one 8-lane FMA
 *      chain per (row, token) over the row in order, then one horizontal
 *      sum: each converted weight vector feeds T tokens and each x vector
 *      R rows, and a (row, token) result is the same bits whatever the
 *      tile, so a sequence decoded in a batch gets its single-token logits.
 *      From F16_CONVERT_MIN_TOKENS tokens on, each 3 rows are converted to
 *      f32 once and then swept by every token group (f16_converted_rows).
 *  BF16 / F32 with x F32: f32 FMA dot products, 2 independent
 *      accumulators; float error far inside the suite's bound.
 *  Q8_0: x F32 is quantised per row to absmax int8 exactly like ternary
 *      activations (allowed: no coarser than per-row absmax int8), I8 x is
 *      used as given. Weights and q are widened to int16 and multiplied
 *      with madd (exact; Q8_0 weights may be -128, so the maddubs sign
 *      trick would overflow), then per block acc += d_b * isum_b in 8
 *      float lanes; y = acc * extra / s_x. Tiles of R rows x T tokens as
 *      for F16 (q8_tile), with the same per-(row, token) order.
 *  Q6_K: 256-blocks decoded with the scalar decoder, then FMA.
 * Rows are split over the pool; every token of a call reuses a row while
 * it is in L1.
 */
#include <string.h>

#include "avx2_internal.h"
#include "simd_util.h"

#define ROWS_PER_GRAIN 16
#define Q6K_TOK_GROUP 8
#define F16_STRIDE(n) (((n) + 7) / 8 * 8) /* floats per converted row (f16_converted_rows) */
#define F16_CONVERT_MIN_TOKENS 6 /* bench-kernels lm_head: slower at 4 tokens, faster from 6 */
#define ROW_BLOCK 48 /* F16 / Q8_0 rows per L2 block: 240 KiB of F16 at 2560 columns */

typedef struct fm_job {
    const bn_backend_ctx *ctx;
    const bn_weight *w;
    const bn_tensor *x;
    bn_tensor *y;
    int64_t n_tok;
    const int16_t *q16; /* Q8_0: [n_tok][n_cols] */
    const float *s;     /* Q8_0: [n_tok] */
    float *wf;          /* F16, several tokens: per thread 3 converted rows */
    int n_wf;           /* threads with a wf area */
} fm_job;

AX_INLINE __m256 bf16x8(const uint8_t *p) {
    __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
}

static float dot_bf16(const uint8_t *row, const float *x, int64_t n) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        a0 = _mm256_fmadd_ps(bf16x8(row + 2 * i), _mm256_loadu_ps(x + i), a0);
        a1 = _mm256_fmadd_ps(bf16x8(row + 2 * i + 16), _mm256_loadu_ps(x + i + 8), a1);
    }
    float sum = ax_hsum_ps(_mm256_add_ps(a0, a1));
    for (; i < n; i++)
        sum += pc_bf16_to_f32(pc_rd16(row + 2 * i)) * x[i];
    return sum;
}

static float dot_f32(const uint8_t *row, const float *x, int64_t n) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0;
    const float *w = (const float *)row;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i), _mm256_loadu_ps(x + i), a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(w + i + 8), _mm256_loadu_ps(x + i + 8), a1);
    }
    float sum = ax_hsum_ps(_mm256_add_ps(a0, a1));
    for (; i < n; i++)
        sum += pc_rdf32(row + 4 * i) * x[i];
    return sum;
}

/* Rows j..j+R-1 x tokens t0..t0+T-1 of an F16 weight (see the top). */
AX_INLINE void f16_tile(const fm_job *jb, int64_t j, int64_t t0, const int R, const int T, const float *wf) {
    const bn_weight *w = jb->w;
    const int64_t n = w->n_cols;
    const uint16_t *h[4];
    const float *x[4];
    __m256 acc[4][4];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
        h[r] = (const uint16_t *)(w->raw + (size_t)(j + r) * w->raw_row_bytes);
#pragma GCC unroll 4
    for (int t = 0; t < T; t++) {
        x[t] = (const float *)pc_row(jb->x, t0 + t);
#pragma GCC unroll 4
        for (int r = 0; r < R; r++)
            acc[r][t] = _mm256_setzero_ps();
    }
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 wv[4];
#pragma GCC unroll 4
        for (int r = 0; r < R; r++)
            wv[r] = wf ? _mm256_load_ps(wf + r * F16_STRIDE(n) + i)
                       : _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h[r] + i)));
#pragma GCC unroll 4
        for (int t = 0; t < T; t++) {
            __m256 xv = _mm256_loadu_ps(x[t] + i);
#pragma GCC unroll 4
            for (int r = 0; r < R; r++)
                acc[r][t] = _mm256_fmadd_ps(wv[r], xv, acc[r][t]);
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int t = 0; t < T; t++) {
            float sum = ax_hsum_ps(acc[r][t]);
            for (int64_t k = i; k < n; k++)
                sum += jb->ctx->pc.f16_table[h[r][k]] * x[t][k];
            ((float *)pc_row(jb->y, t0 + t))[j + r] = sum * w->extra_scale;
        }
}

/* The same tiles for Q8_0: per 32-block the int16 madd sums (exact) times
 * the block's d, one float chain per (row, token). */
AX_INLINE void q8_tile(const fm_job *jb, int64_t j, int64_t t0, const int R, const int T, const float *unused) {
    (void)unused;
    const bn_weight *w = jb->w;
    const int64_t n = w->n_cols, nb = n / BN_QK_Q8_0;
    const float *f16 = jb->ctx->pc.f16_table;
    const uint8_t *row[4];
    const int16_t *q[4];
    __m256 acc[4][4];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
        row[r] = w->raw + (size_t)(j + r) * w->raw_row_bytes;
#pragma GCC unroll 4
    for (int t = 0; t < T; t++) {
        q[t] = jb->q16 + (t0 + t) * n;
#pragma GCC unroll 4
        for (int r = 0; r < R; r++)
            acc[r][t] = _mm256_setzero_ps();
    }
    for (int64_t b = 0; b < nb; b++) {
        __m256i w0[4], w1[4];
        __m256 d[4];
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            const uint8_t *blk = row[r] + b * 34;
            w0[r] = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(blk + 2)));
            w1[r] = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(blk + 18)));
            d[r] = _mm256_set1_ps(f16[pc_rd16(blk)]);
        }
#pragma GCC unroll 4
        for (int t = 0; t < T; t++) {
            __m256i q0 = _mm256_loadu_si256((const __m256i *)(q[t] + b * BN_QK_Q8_0));
            __m256i q1 = _mm256_loadu_si256((const __m256i *)(q[t] + b * BN_QK_Q8_0 + 16));
#pragma GCC unroll 4
            for (int r = 0; r < R; r++) {
                __m256i p = _mm256_add_epi32(_mm256_madd_epi16(w0[r], q0), _mm256_madd_epi16(w1[r], q1));
                acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), d[r], acc[r][t]);
            }
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 4
        for (int t = 0; t < T; t++)
            ((float *)pc_row(jb->y, t0 + t))[j + r] = ax_hsum_ps(acc[r][t]) * w->extra_scale / jb->s[t0 + t];
}

/* Rows [j0, j1) of F16 / Q8_0 over every token: tiles of 3 rows x 4
 * tokens (12 accumulators + 3 weight vectors in 16 ymm), 4 x 1 for a
 * single token (four independent chains), edges with smaller tiles. */
#define TILE_CASE(KERNEL, R, T) KERNEL(jb, j, t0, R, T, wf)
#define TILE_SWITCH(KERNEL, R, T)                                                                           \
    switch ((R) * 4 + (T)) {                                                                                \
    case 1 * 4 + 1: TILE_CASE(KERNEL, 1, 1); break;                                                         \
    case 1 * 4 + 2: TILE_CASE(KERNEL, 1, 2); break;                                                         \
    case 1 * 4 + 3: TILE_CASE(KERNEL, 1, 3); break;                                                         \
    case 1 * 4 + 4: TILE_CASE(KERNEL, 1, 4); break;                                                         \
    case 2 * 4 + 1: TILE_CASE(KERNEL, 2, 1); break;                                                         \
    case 2 * 4 + 2: TILE_CASE(KERNEL, 2, 2); break;                                                         \
    case 2 * 4 + 3: TILE_CASE(KERNEL, 2, 3); break;                                                         \
    case 2 * 4 + 4: TILE_CASE(KERNEL, 2, 4); break;                                                         \
    case 3 * 4 + 1: TILE_CASE(KERNEL, 3, 1); break;                                                         \
    case 3 * 4 + 2: TILE_CASE(KERNEL, 3, 2); break;                                                         \
    case 3 * 4 + 3: TILE_CASE(KERNEL, 3, 3); break;                                                         \
    case 3 * 4 + 4: TILE_CASE(KERNEL, 3, 4); break;                                                         \
    default: TILE_CASE(KERNEL, 4, 1); break;                                                                \
    }

static void tiled_rows(const fm_job *jb, int64_t j0, int64_t j1) {
    const int q8 = jb->w->type == BN_TYPE_Q8_0;
    const int rows = jb->n_tok == 1 ? 4 : 3;
    const float *wf = NULL;
    /* blocks of rows that stay in L2 while every token group passes */
    for (int64_t b0 = j0; b0 < j1; b0 += ROW_BLOCK) {
        const int64_t b1 = b0 + ROW_BLOCK < j1 ? b0 + ROW_BLOCK : j1;
        for (int64_t t0 = 0; t0 < jb->n_tok; t0 += 4) {
            const int T = jb->n_tok - t0 < 4 ? (int)(jb->n_tok - t0) : 4;
            for (int64_t j = b0; j < b1;) {
                const int R = b1 - j < rows ? (int)(b1 - j) : rows;
                if (q8) {
                    TILE_SWITCH(q8_tile, R, T)
                } else {
                    TILE_SWITCH(f16_tile, R, T)
                }
                j += R;
            }
        }
    }
}
/* F16 rows [j0, j1) for several tokens: 3 rows at a time converted to
 * f32 once into wf (an L1-sized buffer of this thread), then swept by
 * every token group; the same chains, hence the same bits, as
 * tiled_rows. `bench-kernels -t 1 --only lm_head` on a Zen 1 core,
 * 128256 x 2560: 16 tokens 444-468 -> 355-361 ms, 6 tokens 217 -> 187 ms,
 * but 4 tokens 125 -> 145 ms, hence F16_CONVERT_MIN_TOKENS. */
static void f16_converted_rows(const fm_job *jb, int64_t j0, int64_t j1, float *wf) {
    const bn_weight *w = jb->w;
    const int64_t n = w->n_cols, n8 = n / 8 * 8;
    for (int64_t j = j0; j < j1;) {
        const int R = j1 - j < 3 ? (int)(j1 - j) : 3;
        for (int r = 0; r < R; r++) {
            const uint16_t *h = (const uint16_t *)(w->raw + (size_t)(j + r) * w->raw_row_bytes);
            for (int64_t i = 0; i < n8; i += 8)
                _mm256_store_ps(wf + r * F16_STRIDE(n) + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + i))));
        }
        for (int64_t t0 = 0; t0 < jb->n_tok; t0 += 4) {
            const int T = jb->n_tok - t0 < 4 ? (int)(jb->n_tok - t0) : 4;
            TILE_SWITCH(f16_tile, R, T)
        }
        j += R;
    }
}
#undef TILE_SWITCH
#undef TILE_CASE

static void q6k_rows(const fm_job *jb, int64_t j) {
    const bn_weight *w = jb->w;
    const uint8_t *row = w->raw + (size_t)j * w->raw_row_bytes;
    float buf[BN_QK_K] __attribute__((aligned(32)));
    for (int64_t t0 = 0; t0 < jb->n_tok; t0 += Q6K_TOK_GROUP) {
        int64_t nt = jb->n_tok - t0 < Q6K_TOK_GROUP ? jb->n_tok - t0 : Q6K_TOK_GROUP;
        __m256 acc[Q6K_TOK_GROUP];
        for (int64_t t = 0; t < nt; t++)
            acc[t] = _mm256_setzero_ps();
        for (int64_t b = 0; b < w->n_cols / BN_QK_K; b++) {
            pc_decode_float_row(jb->ctx, BN_TYPE_Q6_K, row + b * 210, BN_QK_K, buf);
            for (int64_t t = 0; t < nt; t++) {
                const float *x = (const float *)pc_row(jb->x, t0 + t) + b * BN_QK_K;
                for (int i = 0; i < BN_QK_K; i += 8)
                    acc[t] = _mm256_fmadd_ps(_mm256_load_ps(buf + i), _mm256_loadu_ps(x + i), acc[t]);
            }
        }
        for (int64_t t = 0; t < nt; t++)
            ((float *)pc_row(jb->y, t0 + t))[j] = ax_hsum_ps(acc[t]) * w->extra_scale;
    }
}

static void fm_work(void *arg, int64_t begin, int64_t end, int thread_index) {
    const fm_job *jb = arg;
    const bn_weight *w = jb->w;
    int64_t n = w->n_cols;
    if (jb->wf && thread_index >= 0 && thread_index < jb->n_wf) {
        f16_converted_rows(jb, begin, end, jb->wf + (size_t)thread_index * 3 * (size_t)F16_STRIDE(n));
        return;
    }
    if (w->type == BN_TYPE_F16 || w->type == BN_TYPE_Q8_0) {
        tiled_rows(jb, begin, end);
        return;
    }
    for (int64_t j = begin; j < end; j++) {
        if (w->type == BN_TYPE_Q6_K) {
            q6k_rows(jb, j);
            continue;
        }
        const uint8_t *row = w->raw + (size_t)j * w->raw_row_bytes;
        for (int64_t t = 0; t < jb->n_tok; t++) {
            const float *x = (const float *)pc_row(jb->x, t);
            ((float *)pc_row(jb->y, t))[j] =
                (w->type == BN_TYPE_BF16 ? dot_bf16(row, x, n) : dot_f32(row, x, n)) * w->extra_scale;
        }
    }
}

/* Q8_0 activations as int16 (quantised from F32, or the given I8). */
static void widen_i8(const int8_t *q, int64_t n, int16_t *out) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm256_storeu_si256((__m256i *)(out + i), _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(q + i))));
    for (; i < n; i++)
        out[i] = q[i];
}

bn_status ax_matmul_float(bn_backend_ctx *ctx, const bn_weight *w, const bn_tensor *x,
                          const bn_tensor *x_scale, bn_tensor *y) {
    int64_t n_tok = pc_n_rows(x), n = w->n_cols;
    fm_job jb = {.ctx = ctx, .w = w, .x = x, .y = y, .n_tok = n_tok};
    uint8_t *scr = NULL;
    if (w->type == BN_TYPE_Q8_0) {
        size_t q16_bytes = sizeof(int16_t) * (size_t)(n_tok * n), s_off = (q16_bytes + 63) / 64 * 64;
        size_t i8_off = (s_off + sizeof(float) * (size_t)n_tok + 63) / 64 * 64;
        scr = pc_scratch_get(ctx, AX_SCR_ACT, i8_off + (size_t)n);
        if (!scr)
            return pc_fail(ctx, BN_ERR_NOMEM, "matmul: out of memory for activation scratch");
        int16_t *q16 = (int16_t *)scr;
        float *s = (float *)(scr + s_off);
        int8_t *tmp = (int8_t *)(scr + i8_off);
        for (int64_t t = 0; t < n_tok; t++) {
            const char *xr = pc_row(x, t);
            if (x->type == BN_TYPE_I8) {
                widen_i8((const int8_t *)xr, n, q16 + t * n);
                s[t] = *pc_row_scale(x_scale, x, t);
            } else {
                s[t] = ax_quantize_row((const float *)xr, n, tmp);
                widen_i8(tmp, n, q16 + t * n);
            }
        }
        jb.q16 = q16;
        jb.s = s;
    } else if (x->type != BN_TYPE_F32) {
        return pc_fail(ctx, BN_ERR_UNSUPPORTED, "matmul: %s weights need F32 activations ('%s')",
                       bn_type_name(w->type), w->name);
    } else if (w->type == BN_TYPE_F16 && n_tok >= F16_CONVERT_MIN_TOKENS) {
        jb.n_wf = ctx->pc.n_threads < 1 ? 1 : ctx->pc.n_threads;
        scr = pc_scratch_get(ctx, AX_SCR_ACT, sizeof(float) * 3 * (size_t)F16_STRIDE(n) * (size_t)jb.n_wf);
        if (!scr)
            return pc_fail(ctx, BN_ERR_NOMEM, "matmul: out of memory for converted F16 rows");
        jb.wf = (float *)scr;
    }
    pc_parallel(ctx, w->n_rows, ROWS_PER_GRAIN, fm_work, &jb);
    pc_scratch_put(ctx, AX_SCR_ACT, scr);
    return BN_OK;
}
