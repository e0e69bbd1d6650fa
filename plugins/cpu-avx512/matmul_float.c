/*
 * Float weights (F16, BF16, F32; Q6_K decoded per block) with F32
 * activations: f32 FMA dot products. Four rows share each activation load;
 * the weights are converted 16 at a time (vcvtph2ps for F16, a shift for
 * BF16); the column tail uses masked loads. y = dot * extra.
 */
#include <immintrin.h>

#include "a5_internal.h"

#define ROWS_PER_GRAIN 16

typedef struct f_job {
    const bn_backend_ctx *ctx;
    const bn_weight *w;
    const bn_tensor *x;
    bn_tensor *y;
} f_job;

A5_INLINE __m512 load_w(int32_t type, const uint8_t *row, int64_t k, __mmask16 m) {
    if (m == 0xffff) {
        if (type == BN_TYPE_F16)
            return _mm512_cvtph_ps(_mm256_loadu_si256((const void *)(row + 2 * k)));
        if (type == BN_TYPE_BF16)
            return _mm512_castsi512_ps(
                _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const void *)(row + 2 * k))), 16));
        return _mm512_loadu_ps(row + 4 * k);
    }
    switch (type) {
    case BN_TYPE_F16:
        return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, row + 2 * k));
    case BN_TYPE_BF16:
        return _mm512_castsi512_ps(
            _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, row + 2 * k)), 16));
    default:
        return _mm512_maskz_loadu_ps(m, row + 4 * k);
    }
}

/* Dots of 4 rows with one activation row. */
A5_INLINE void dot4(int32_t type, const uint8_t *const rows[4], const float *x, int64_t n, float out[4]) {
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    int64_t k = 0;
    for (; k + 16 <= n; k += 16) { /* full vectors: plain loads */
        __m512 xv = _mm512_loadu_ps(x + k);
        for (int r = 0; r < 4; r++)
            acc[r] = _mm512_fmadd_ps(load_w(type, rows[r], k, 0xffff), xv, acc[r]);
    }
    if (k < n) {
        __mmask16 m = (__mmask16)((1u << (n - k)) - 1u);
        __m512 xv = _mm512_maskz_loadu_ps(m, x + k);
        for (int r = 0; r < 4; r++)
            acc[r] = _mm512_fmadd_ps(load_w(type, rows[r], k, m), xv, acc[r]);
    }
    for (int r = 0; r < 4; r++)
        out[r] = _mm512_reduce_add_ps(acc[r]);
}

static void rows_typed(const f_job *jb, int32_t type, int64_t begin, int64_t end) {
    const bn_weight *w = jb->w;
    int64_t n_tok = pc_n_rows(jb->x);
    for (int64_t j = begin; j < end; j += 4) {
        const uint8_t *rows[4];
        for (int r = 0; r < 4; r++) /* a short last group repeats its last row */
            rows[r] = w->raw + (size_t)(j + r < end ? j + r : end - 1) * w->raw_row_bytes;
        for (int64_t t = 0; t < n_tok; t++) {
            float out[4];
            dot4(type, rows, (const float *)pc_row(jb->x, t), w->n_cols, out);
            float *y = (float *)pc_row(jb->y, t);
            for (int r = 0; r < 4 && j + r < end; r++)
                y[j + r] = out[r] * w->extra_scale;
        }
    }
}

static void rows_q6_k(const f_job *jb, int64_t begin, int64_t end) {
    const bn_weight *w = jb->w;
    float v[BN_QK_K];
    for (int64_t j = begin; j < end; j++) {
        const uint8_t *row = w->raw + (size_t)j * w->raw_row_bytes;
        for (int64_t t = 0; t < pc_n_rows(jb->x); t++) {
            const float *x = (const float *)pc_row(jb->x, t);
            __m512 acc = _mm512_setzero_ps();
            for (int64_t b = 0; b < w->n_cols / BN_QK_K; b++) {
                pc_decode_float_row(jb->ctx, w->type, row + b * 210, BN_QK_K, v);
                for (int i = 0; i < BN_QK_K; i += 16)
                    acc = _mm512_fmadd_ps(_mm512_loadu_ps(v + i), _mm512_loadu_ps(x + b * BN_QK_K + i), acc);
            }
            ((float *)pc_row(jb->y, t))[j] = _mm512_reduce_add_ps(acc) * w->extra_scale;
        }
    }
}

static void float_work(void *arg, int64_t begin, int64_t end, int thread_index) {
    (void)thread_index;
    const f_job *jb = arg;
    switch (jb->w->type) {
    case BN_TYPE_F16: rows_typed(jb, BN_TYPE_F16, begin, end); break;
    case BN_TYPE_BF16: rows_typed(jb, BN_TYPE_BF16, begin, end); break;
    case BN_TYPE_F32: rows_typed(jb, BN_TYPE_F32, begin, end); break;
    default: rows_q6_k(jb, begin, end); break;
    }
}

bn_status a5_matmul_float(bn_backend_ctx *ctx, const bn_weight *w, const bn_tensor *x, bn_tensor *y) {
    if (x->type != BN_TYPE_F32)
        return pc_fail(ctx, BN_ERR_UNSUPPORTED, "matmul: %s weights need F32 activations", bn_type_name(w->type));
    f_job jb = {.ctx = ctx, .w = w, .x = x, .y = y};
    pc_parallel(ctx, w->n_rows, ROWS_PER_GRAIN, float_work, &jb);
    return BN_OK;
}
