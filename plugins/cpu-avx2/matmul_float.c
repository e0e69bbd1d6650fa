/*
 * y = W x for float-family weights (the LM head, embeddings used as the
 * head, and any non-ternary linear layer).
 *  F16 / BF16 / F32 with x F32: f32 FMA dot products (F16 via F16C), 4
 *      independent accumulators; float error far inside the suite's bound.
 *  Q8_0: x F32 is quantised per row to absmax int8 exactly like ternary
 *      activations (allowed: no coarser than per-row absmax int8), I8 x is
 *      used as given. Weights and q are widened to int16 and multiplied
 *      with madd (exact; Q8_0 weights may be -128, so the maddubs sign
 *      trick would overflow), then per block acc += d_b * isum_b in 8
 *      float lanes; y = acc * extra / s_x.
 *  Q6_K: 256-blocks decoded with the scalar decoder, then FMA.
 * Rows are split over the pool; every token of a call reuses a row while
 * it is in L1.
 */
#include <string.h>

#include "avx2_internal.h"
#include "simd_util.h"

#define ROWS_PER_GRAIN 16
#define Q6K_TOK_GROUP 8

typedef struct fm_job {
    const bn_backend_ctx *ctx;
    const bn_weight *w;
    const bn_tensor *x;
    bn_tensor *y;
    int64_t n_tok;
    const int16_t *q16; /* Q8_0: [n_tok][n_cols] */
    const float *s;     /* Q8_0: [n_tok] */
} fm_job;

static float dot_f16(const bn_backend_ctx *ctx, const uint8_t *row, const float *x, int64_t n) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    const uint16_t *h = (const uint16_t *)row;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + i))), _mm256_loadu_ps(x + i), a0);
        a1 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + i + 8))),
                             _mm256_loadu_ps(x + i + 8), a1);
        a2 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + i + 16))),
                             _mm256_loadu_ps(x + i + 16), a2);
        a3 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + i + 24))),
                             _mm256_loadu_ps(x + i + 24), a3);
    }
    for (; i + 8 <= n; i += 8)
        a0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + i))), _mm256_loadu_ps(x + i), a0);
    float sum = ax_hsum_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; i < n; i++)
        sum += ctx->pc.f16_table[pc_rd16(row + 2 * i)] * x[i];
    return sum;
}

/* dot_f16 for two tokens at once: each weight vector is converted once
 * and feeds both; per token the same operations in the same order as
 * dot_f16, so each result is bit-equal to it. */
static void dot_f16_x2(const bn_backend_ctx *ctx, const uint8_t *row, const float *x, const float *z,
                       int64_t n, float *out_x, float *out_z) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
    const uint16_t *h = (const uint16_t *)row;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256 w0 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + i)));
        __m256 w1 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + i + 8)));
        __m256 w2 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + i + 16)));
        __m256 w3 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + i + 24)));
        a0 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + i), a0);
        b0 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(z + i), b0);
        a1 = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x + i + 8), a1);
        b1 = _mm256_fmadd_ps(w1, _mm256_loadu_ps(z + i + 8), b1);
        a2 = _mm256_fmadd_ps(w2, _mm256_loadu_ps(x + i + 16), a2);
        b2 = _mm256_fmadd_ps(w2, _mm256_loadu_ps(z + i + 16), b2);
        a3 = _mm256_fmadd_ps(w3, _mm256_loadu_ps(x + i + 24), a3);
        b3 = _mm256_fmadd_ps(w3, _mm256_loadu_ps(z + i + 24), b3);
    }
    for (; i + 8 <= n; i += 8) {
        __m256 w0 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + i)));
        a0 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + i), a0);
        b0 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(z + i), b0);
    }
    float sx = ax_hsum_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    float sz = ax_hsum_ps(_mm256_add_ps(_mm256_add_ps(b0, b1), _mm256_add_ps(b2, b3)));
    for (; i < n; i++) {
        float wv = ctx->pc.f16_table[pc_rd16(row + 2 * i)];
        sx += wv * x[i];
        sz += wv * z[i];
    }
    *out_x = sx;
    *out_z = sz;
}

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

static float dot_q8_0(const bn_backend_ctx *ctx, const uint8_t *row, const int16_t *q, int64_t n) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0;
    int64_t nb = n / BN_QK_Q8_0, b = 0;
    for (; b < nb; b++) {
        const uint8_t *blk = row + b * 34;
        const int16_t *qb = q + b * BN_QK_Q8_0;
        __m256i w0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(blk + 2)));
        __m256i w1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(blk + 18)));
        __m256i p = _mm256_add_epi32(_mm256_madd_epi16(w0, _mm256_loadu_si256((const __m256i *)qb)),
                                     _mm256_madd_epi16(w1, _mm256_loadu_si256((const __m256i *)(qb + 16))));
        __m256 d = _mm256_set1_ps(ctx->pc.f16_table[pc_rd16(blk)]);
        if (b & 1)
            a1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), d, a1);
        else
            a0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), d, a0);
    }
    return ax_hsum_ps(_mm256_add_ps(a0, a1));
}

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
    (void)thread_index;
    const fm_job *jb = arg;
    const bn_weight *w = jb->w;
    int64_t n = w->n_cols;
    for (int64_t j = begin; j < end; j++) {
        if (w->type == BN_TYPE_Q6_K) {
            q6k_rows(jb, j);
            continue;
        }
        const uint8_t *row = w->raw + (size_t)j * w->raw_row_bytes;
        int64_t t = 0;
        if (w->type == BN_TYPE_F16) {
            for (; t + 2 <= jb->n_tok; t += 2) {
                float *y0 = (float *)pc_row(jb->y, t), *y1 = (float *)pc_row(jb->y, t + 1);
                dot_f16_x2(jb->ctx, row, (const float *)pc_row(jb->x, t), (const float *)pc_row(jb->x, t + 1), n,
                           &y0[j], &y1[j]);
                y0[j] *= w->extra_scale;
                y1[j] *= w->extra_scale;
            }
        }
        for (; t < jb->n_tok; t++) {
            float *yrow = (float *)pc_row(jb->y, t);
            const float *x = jb->q16 ? NULL : (const float *)pc_row(jb->x, t);
            switch (w->type) {
            case BN_TYPE_F16: yrow[j] = dot_f16(jb->ctx, row, x, n) * w->extra_scale; break;
            case BN_TYPE_BF16: yrow[j] = dot_bf16(row, x, n) * w->extra_scale; break;
            case BN_TYPE_F32: yrow[j] = dot_f32(row, x, n) * w->extra_scale; break;
            default: /* Q8_0 */
                yrow[j] = dot_q8_0(jb->ctx, row, jb->q16 + t * n, n) * w->extra_scale / jb->s[t];
                break;
            }
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
    }
    pc_parallel(ctx, w->n_rows, ROWS_PER_GRAIN, fm_work, &jb);
    pc_scratch_put(ctx, AX_SCR_ACT, scr);
    return BN_OK;
}
