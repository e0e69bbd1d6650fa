/*
 * Q8_0 weights (the int8 LM head): activations are int8 per token (given,
 * or quantised here by absmax, which the ABI allows for Q8_0), and each
 * 32-column block's exact integer sum sum(w q) comes from sign-extended
 * int16 products (vpmaddwd: 16 lanes of 2 products, |lane| <= 2 * 128^2),
 * converted to float and scaled by the block's d:
 *   y = (sum_b d_b * isum_b) * extra / s_x.
 * The LM head is memory-bound (34 bytes per block), so widening to int16
 * costs nothing measurable against dpbusd and needs no offset correction.
 *
 * Several tokens (q8_tiles): dot_row per token widened each weight block
 * again for every token and ran the 16-token 2B-4T head at 135-151 ms on 2
 * threads, twice the F16 head's time. Tiles of 2 rows x 4 tokens widen a
 * weight block and broadcast its d once for 4 tokens, the activations are
 * widened once per call, and each (row, token) keeps dot_row's two chains
 * (even and odd blocks) and its final sum: the same bits in any batch.
 */
#include <immintrin.h>
#include <string.h>

#include "a5_internal.h"

#define ROWS_PER_GRAIN 16

#define Q8_TILE_ROWS 2
#define Q8_TILE_TOKENS 4
#define Q8_ROW_BLOCK 16 /* rows (40 KB at 2560 columns, in L2) that every token quad passes */

typedef struct q8_job {
    const bn_backend_ctx *ctx;
    const bn_weight *w;
    const int8_t *q;   /* [n_tok][n_cols] */
    const int16_t *q16; /* several tokens: q widened, [n_tok][n_cols] */
    const float *s;    /* [n_tok] */
    int64_t n_tok, tok0;
    bn_tensor *y;
} q8_job;

static float dot_row(const bn_backend_ctx *ctx, const int8_t *wr, const uint16_t *d, const int8_t *q,
                     int64_t nb) {
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    int64_t b = 0;
    for (; b + 2 <= nb; b += 2) {
        __m512i w0 = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const void *)(wr + 32 * b)));
        __m512i x0 = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const void *)(q + 32 * b)));
        __m512i w1 = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const void *)(wr + 32 * b + 32)));
        __m512i x1 = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const void *)(q + 32 * b + 32)));
        __m512 p0 = _mm512_cvtepi32_ps(_mm512_madd_epi16(w0, x0));
        __m512 p1 = _mm512_cvtepi32_ps(_mm512_madd_epi16(w1, x1));
        acc0 = _mm512_fmadd_ps(_mm512_set1_ps(ctx->pc.f16_table[d[b]]), p0, acc0);
        acc1 = _mm512_fmadd_ps(_mm512_set1_ps(ctx->pc.f16_table[d[b + 1]]), p1, acc1);
    }
    if (b < nb) {
        __m512i w0 = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const void *)(wr + 32 * b)));
        __m512i x0 = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const void *)(q + 32 * b)));
        __m512 p0 = _mm512_cvtepi32_ps(_mm512_madd_epi16(w0, x0));
        acc0 = _mm512_fmadd_ps(_mm512_set1_ps(ctx->pc.f16_table[d[b]]), p0, acc0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

/* One block of R rows x T tokens into the chains of its parity (acc[r][t]
 * is the even- or the odd-block chain), as dot_row does it. */
A5_INLINE void q8_tile_block(const q8_job *jb, const int8_t *const *wr, const uint16_t *const *d, int64_t t0,
                             int64_t b, const int R, const int T, __m512 acc[Q8_TILE_ROWS][Q8_TILE_TOKENS]) {
    const int64_t n = jb->w->n_cols;
    __m512i wv[Q8_TILE_ROWS];
    __m512 dv[Q8_TILE_ROWS];
    for (int r = 0; r < R; r++) {
        wv[r] = _mm512_cvtepi8_epi16(_mm256_loadu_si256((const void *)(wr[r] + 32 * b)));
        dv[r] = _mm512_set1_ps(jb->ctx->pc.f16_table[d[r][b]]);
    }
    for (int t = 0; t < T; t++) {
        __m512i xv = _mm512_loadu_si512((const void *)(jb->q16 + (t0 + t) * n + 32 * b));
        for (int r = 0; r < R; r++)
            acc[r][t] = _mm512_fmadd_ps(dv[r], _mm512_cvtepi32_ps(_mm512_madd_epi16(wv[r], xv)), acc[r][t]);
    }
}

/* Rows j..j+R-1 x tokens t0..t0+T-1 over the whole row. */
A5_INLINE void q8_tile(const q8_job *jb, int64_t j, int64_t t0, const int R, const int T) {
    const bn_weight *w = jb->w;
    const int64_t nb = w->n_cols / BN_QK_Q8_0;
    const int8_t *wr[Q8_TILE_ROWS];
    const uint16_t *d[Q8_TILE_ROWS];
    __m512 even[Q8_TILE_ROWS][Q8_TILE_TOKENS], odd[Q8_TILE_ROWS][Q8_TILE_TOKENS];
    for (int r = 0; r < R; r++) {
        wr[r] = w->q8 + (j + r) * w->n_cols;
        d[r] = w->q8_d + (j + r) * nb;
        for (int t = 0; t < T; t++)
            even[r][t] = odd[r][t] = _mm512_setzero_ps();
    }
    int64_t b = 0;
    for (; b + 2 <= nb; b += 2) {
        q8_tile_block(jb, wr, d, t0, b, R, T, even);
        q8_tile_block(jb, wr, d, t0, b + 1, R, T, odd);
    }
    if (b < nb)
        q8_tile_block(jb, wr, d, t0, b, R, T, even);
    for (int r = 0; r < R; r++)
        for (int t = 0; t < T; t++) {
            float acc = _mm512_reduce_add_ps(_mm512_add_ps(even[r][t], odd[r][t]));
            ((float *)pc_row(jb->y, jb->tok0 + t0 + t))[j + r] = acc * w->extra_scale / jb->s[t0 + t];
        }
}

/* Rows [begin, end) for several tokens: blocks of Q8_ROW_BLOCK rows, each
 * swept by every token quad in tiles of 2 rows (1 for an odd last). */
static void q8_tiles(const q8_job *jb, int64_t begin, int64_t end) {
    for (int64_t j0 = begin; j0 < end; j0 += Q8_ROW_BLOCK) {
        int64_t j1 = end - j0 < Q8_ROW_BLOCK ? end : j0 + Q8_ROW_BLOCK;
        for (int64_t t0 = 0; t0 < jb->n_tok; t0 += Q8_TILE_TOKENS) {
            int64_t T = jb->n_tok - t0 < Q8_TILE_TOKENS ? jb->n_tok - t0 : Q8_TILE_TOKENS;
            for (int64_t j = j0; j < j1; j += Q8_TILE_ROWS) {
                int R = j1 - j < Q8_TILE_ROWS ? 1 : Q8_TILE_ROWS;
#define A5_Q8_CASE(RR, TT) \
    if (R == (RR) && T == (TT)) { \
        q8_tile(jb, j, t0, RR, TT); \
        continue; \
    }
                A5_Q8_CASE(2, 4) A5_Q8_CASE(2, 3) A5_Q8_CASE(2, 2) A5_Q8_CASE(2, 1)
                A5_Q8_CASE(1, 4) A5_Q8_CASE(1, 3) A5_Q8_CASE(1, 2) A5_Q8_CASE(1, 1)
#undef A5_Q8_CASE
            }
        }
    }
}

static void q8_rows(void *arg, int64_t begin, int64_t end, int thread_index) {
    (void)thread_index;
    const q8_job *jb = arg;
    const bn_weight *w = jb->w;
    int64_t nb = w->n_cols / BN_QK_Q8_0;
    if (jb->q16) {
        q8_tiles(jb, begin, end);
        return;
    }
    for (int64_t j = begin; j < end; j++) {
        const int8_t *wr = w->q8 + j * w->n_cols;
        const uint16_t *d = w->q8_d + j * nb;
        for (int64_t t = 0; t < jb->n_tok; t++) {
            float acc = dot_row(jb->ctx, wr, d, jb->q + t * w->n_cols, nb);
            ((float *)pc_row(jb->y, jb->tok0 + t))[j] = acc * w->extra_scale / jb->s[t];
        }
    }
}

bn_status a5_matmul_q8(bn_backend_ctx *ctx, const bn_weight *w, const bn_tensor *x,
                       const bn_tensor *x_scale, bn_tensor *y) {
    int64_t n_tok = pc_n_rows(x), pass = n_tok < A5_TOK_PASS ? n_tok : A5_TOK_PASS;
    size_t qbytes = (size_t)(pass * w->n_cols + 63) / 64 * 64, q16bytes = pass > 1 ? 2 * qbytes : 0;
    uint8_t *base = pc_scratch_get(ctx, A5_SCR_STAGE, qbytes + q16bytes + sizeof(float) * (size_t)pass);
    if (!base)
        return pc_fail(ctx, BN_ERR_NOMEM, "matmul: out of memory for activation scratch");
    int8_t *q = (int8_t *)base;
    int16_t *q16 = (int16_t *)(base + qbytes);
    float *s = (float *)(base + qbytes + q16bytes);
    q8_job jb = {.ctx = ctx, .w = w, .q = q, .s = s, .y = y};
    for (int64_t t0 = 0; t0 < n_tok; t0 += pass) {
        jb.tok0 = t0;
        jb.n_tok = n_tok - t0 < pass ? n_tok - t0 : pass;
        for (int64_t t = 0; t < jb.n_tok; t++) {
            const char *xr = pc_row(x, t0 + t);
            if (x->type == BN_TYPE_I8) {
                memcpy(q + t * w->n_cols, xr, (size_t)w->n_cols);
                s[t] = *pc_row_scale(x_scale, x, t0 + t);
            } else {
                s[t] = a5_quantize_row((const float *)xr, w->n_cols, q + t * w->n_cols);
            }
        }
        jb.q16 = jb.n_tok > 1 ? q16 : NULL;
        if (jb.q16) {
            int64_t i = 0, nq = jb.n_tok * w->n_cols; /* n_cols is a multiple of 32 */
            for (; i < nq; i += 32)
                _mm512_storeu_si512((void *)(q16 + i), _mm512_cvtepi8_epi16(_mm256_loadu_si256((const void *)(q + i))));
        }
        pc_parallel(ctx, w->n_rows, ROWS_PER_GRAIN, q8_rows, &jb);
    }
    pc_scratch_put(ctx, A5_SCR_STAGE, base);
    return BN_OK;
}
