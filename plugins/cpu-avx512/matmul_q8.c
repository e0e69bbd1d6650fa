/*
 * Q8_0 weights (the int8 LM head): activations are int8 per token (given,
 * or quantised here by absmax, which the ABI allows for Q8_0), and each
 * 32-column block's exact integer sum sum(w q) comes from sign-extended
 * int16 products (vpmaddwd: 16 lanes of 2 products, |lane| <= 2 * 128^2),
 * converted to float and scaled by the block's d:
 *   y = (sum_b d_b * isum_b) * extra / s_x.
 * The LM head is memory-bound (34 bytes per block), so widening to int16
 * costs nothing measurable against dpbusd and needs no offset correction.
 */
#include <immintrin.h>
#include <string.h>

#include "a5_internal.h"

#define ROWS_PER_GRAIN 16

typedef struct q8_job {
    const bn_backend_ctx *ctx;
    const bn_weight *w;
    const int8_t *q; /* [n_tok][n_cols] */
    const float *s;  /* [n_tok] */
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

static void q8_rows(void *arg, int64_t begin, int64_t end, int thread_index) {
    (void)thread_index;
    const q8_job *jb = arg;
    const bn_weight *w = jb->w;
    int64_t nb = w->n_cols / BN_QK_Q8_0;
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
    size_t qbytes = (size_t)(pass * w->n_cols + 63) / 64 * 64;
    uint8_t *base = pc_scratch_get(ctx, A5_SCR_STAGE, qbytes + sizeof(float) * (size_t)pass);
    if (!base)
        return pc_fail(ctx, BN_ERR_NOMEM, "matmul: out of memory for activation scratch");
    int8_t *q = (int8_t *)base;
    float *s = (float *)(base + qbytes);
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
        pc_parallel(ctx, w->n_rows, ROWS_PER_GRAIN, q8_rows, &jb);
    }
    pc_scratch_put(ctx, A5_SCR_STAGE, base);
    return BN_OK;
}
