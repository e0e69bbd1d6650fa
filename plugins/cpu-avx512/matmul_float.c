/*
 * Float weights (F16, BF16, F32; Q6_K decoded per block) with F32
 * activations: f32 FMA dot products, y = dot * extra. Every (row, token)
 * result is one 16-lane FMA chain over the row in column order (the tail
 * by masked loads), then _mm512_reduce_add_ps: the same bits whatever the
 * batch, so a sequence decoded with others gets its single-token logits.
 *
 * One token (dot4): four rows share each activation load; the weights are
 * converted 16 at a time (vcvtph2ps for F16, a shift for BF16). Bound by
 * memory bandwidth.
 *
 * Several tokens (rows_tokens): dot4 once per token converted each row
 * again for every token (vcvtph2ps takes both FMA ports) and ran the
 * 16-token 2B-4T head (128256 x 2560) at 154 ms on 2 threads. Here, per
 * block of ROW_BLOCK rows and span of SPAN columns, the block's weights
 * are converted to f32 once (8 KB, in L1), then tiles of 4 rows x 4
 * tokens run their 16 chains in registers: each weight load feeds 4
 * chains, each activation load 4 (a 1 x 16 tile needs one load per FMA,
 * and this core sustains about 1.5 512-bit loads per cycle). Chains are
 * parked in memory between spans. The activations are staged span-major
 * once per call. Measured (bench-kernels -t 2 --only lm_head --tokens 16,
 * Xeon with AVX-512): 154 -> 65-70 ms; from L3 (4096 rows) ~90 G FMA/s on
 * 2 cores. Software prefetching of the next block only slowed it down.
 */
#include <immintrin.h>
#include <string.h>

#include "a5_internal.h"

#define ROWS_PER_GRAIN 16
#define SPAN 256         /* columns per pass over a row block: x of 16 tokens in 16 KB */
#define ROW_BLOCK 8      /* rows converted per span (8 KB of f32) */
#define MULTI_MIN_TOKENS 2

typedef struct f_job {
    const bn_backend_ctx *ctx;
    const bn_weight *w;
    const bn_tensor *x;
    bn_tensor *y;
    /* several tokens */
    int64_t n_spans, n_tok_pad; /* spans of SPAN columns; tokens rounded up to 4 */
    const float *xs;            /* the activations, span-major (stage_spans) */
    float *thread_area;         /* per thread: converted weights, then parked chains */
    size_t thread_floats;
    int n_areas;                /* threads with an area */
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

/* The span [k0, k1) of rows j..j+3 as f32 in wf ([4][SPAN], zero from
 * k1 on); rows past `last` repeat it. */
A5_INLINE void convert_span(const bn_weight *w, int32_t type, int64_t j, int64_t last, int64_t k0, int64_t k1,
                            float *wf) {
    for (int r = 0; r < 4; r++) {
        const uint8_t *row = w->raw + (size_t)(j + r <= last ? j + r : last) * w->raw_row_bytes;
        float *out = wf + r * SPAN;
        int64_t k = k0;
        for (; k + 16 <= k1; k += 16)
            _mm512_store_ps(out + (k - k0), load_w(type, row, k, 0xffff));
        if (k < k1)
            _mm512_store_ps(out + (k - k0), load_w(type, row, k, (__mmask16)((1u << (k1 - k)) - 1u)));
    }
}

/* Chains acc[r][t] of 4 rows (wf) x T tokens (xs: [token][SPAN]) over
 * `steps` steps of 16 columns: each weight vector feeds T chains, each
 * activation vector 4 (a 1 x 16 tile, one load per FMA, is bound by the
 * load ports). */
A5_INLINE void tile_span(const float *wf, const float *xs, int64_t steps, const int T, __m512 acc[4][4]) {
    for (int64_t i = 0; i < steps; i++) {
        __m512 wv[4];
        for (int r = 0; r < 4; r++)
            wv[r] = _mm512_load_ps(wf + r * SPAN + 16 * i);
        for (int t = 0; t < T; t++) {
            __m512 xv = _mm512_load_ps(xs + t * SPAN + 16 * i);
            for (int r = 0; r < 4; r++)
                acc[r][t] = _mm512_fmadd_ps(wv[r], xv, acc[r][t]);
        }
    }
}

/* One tile of rows j..j+3 (those <= last) x tokens t0..t0+T-1 over one
 * span: chains from `pk` (this tile's 4 x 4 parked vectors; zero on the
 * first span), back to it, and on the last span summed into y. */
A5_INLINE void tile_run(const f_job *jb, int64_t j, int64_t last, int64_t t0, int64_t sp, const float *wf,
                        const float *xs, float *pk, const int T) {
    const bn_weight *w = jb->w;
    int64_t n = w->n_cols, k0 = sp * SPAN, steps = ((n - k0 < SPAN ? n - k0 : SPAN) + 15) / 16;
    __m512 acc[4][4];
    for (int r = 0; r < 4; r++)
        for (int t = 0; t < T; t++)
            acc[r][t] = sp == 0 ? _mm512_setzero_ps() : _mm512_load_ps(pk + (4 * r + t) * 16);
    tile_span(wf, xs + t0 * SPAN, steps, T, acc);
    for (int r = 0; r < 4; r++)
        for (int t = 0; t < T; t++)
            _mm512_store_ps(pk + (4 * r + t) * 16, acc[r][t]);
    if (k0 + SPAN >= n)
        for (int r = 0; r < 4 && j + r <= last; r++)
            for (int t = 0; t < T; t++)
                ((float *)pc_row(jb->y, t0 + t))[j + r] =
                    _mm512_reduce_add_ps(_mm512_load_ps(pk + (4 * r + t) * 16)) * w->extra_scale;
}

/* Rows [begin, end) for every token: blocks of ROW_BLOCK rows; per span,
 * the block's weights converted once, then every token quad x row quad. */
static void rows_tokens(const f_job *jb, int32_t type, int64_t begin, int64_t end, float *wf, float *park) {
    const bn_weight *w = jb->w;
    int64_t n_tok = pc_n_rows(jb->x);
    for (int64_t j0 = begin; j0 < end; j0 += ROW_BLOCK) {
        int64_t j1 = end - j0 < ROW_BLOCK ? end : j0 + ROW_BLOCK;
        for (int64_t sp = 0; sp < jb->n_spans; sp++) {
            int64_t k0 = sp * SPAN, k1 = w->n_cols - k0 < SPAN ? w->n_cols : k0 + SPAN;
            for (int64_t j = j0; j < j1; j += 4)
                convert_span(w, type, j, j1 - 1, k0, k1, wf + (j - j0) * SPAN);
            const float *xs = jb->xs + (size_t)sp * jb->n_tok_pad * SPAN;
            for (int64_t t0 = 0; t0 < n_tok; t0 += 4) {
                int T = n_tok - t0 < 4 ? (int)(n_tok - t0) : 4;
                for (int64_t j = j0; j < j1; j += 4) {
                    const float *wq = wf + (j - j0) * SPAN;
                    float *pk = park + (((j - j0) / 4) * (jb->n_tok_pad / 4) + t0 / 4) * 256;
                    switch (T) {
                    case 1: tile_run(jb, j, j1 - 1, t0, sp, wq, xs, pk, 1); break;
                    case 2: tile_run(jb, j, j1 - 1, t0, sp, wq, xs, pk, 2); break;
                    case 3: tile_run(jb, j, j1 - 1, t0, sp, wq, xs, pk, 3); break;
                    default: tile_run(jb, j, j1 - 1, t0, sp, wq, xs, pk, 4); break;
                    }
                }
            }
        }
    }
}

/* The activations span-major, [span][token][SPAN], zero past each row's
 * end. */
static void stage_spans(const f_job *jb, float *xs) {
    int64_t n = jb->w->n_cols;
    memset(xs, 0, sizeof(float) * (size_t)jb->n_spans * jb->n_tok_pad * SPAN);
    for (int64_t t = 0; t < pc_n_rows(jb->x); t++) {
        const float *x = (const float *)pc_row(jb->x, t);
        for (int64_t sp = 0; sp < jb->n_spans; sp++) {
            int64_t k0 = sp * SPAN, len = n - k0 < SPAN ? n - k0 : SPAN;
            memcpy(xs + ((size_t)sp * jb->n_tok_pad + (size_t)t) * SPAN, x + k0, sizeof(float) * (size_t)len);
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
    const f_job *jb = arg;
    if (jb->thread_area && thread_index >= 0 && thread_index < jb->n_areas) {
        float *wf = jb->thread_area + (size_t)thread_index * jb->thread_floats;
        rows_tokens(jb, jb->w->type, begin, end, wf, wf + ROW_BLOCK * SPAN);
        return;
    }
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
    int64_t n_tok = pc_n_rows(x);
    float *scr = NULL;
    if (n_tok >= MULTI_MIN_TOKENS && w->type != BN_TYPE_Q6_K) {
        jb.n_spans = (w->n_cols + SPAN - 1) / SPAN;
        jb.n_tok_pad = (n_tok + 3) / 4 * 4;
        jb.n_areas = ctx->pc.n_threads < 1 ? 1 : ctx->pc.n_threads;
        jb.thread_floats = (size_t)ROW_BLOCK * SPAN + (size_t)ROW_BLOCK * jb.n_tok_pad * 16;
        size_t xs_floats = (size_t)jb.n_spans * jb.n_tok_pad * SPAN;
        scr = pc_scratch_get(ctx, A5_SCR_FLOAT, sizeof(float) * (xs_floats + jb.thread_floats * jb.n_areas));
        if (!scr)
            return pc_fail(ctx, BN_ERR_NOMEM, "matmul: out of memory for the float weights' token buffers");
        stage_spans(&jb, scr);
        jb.xs = scr;
        jb.thread_area = scr + xs_floats;
    }
    pc_parallel(ctx, w->n_rows, ROWS_PER_GRAIN, float_work, &jb);
    if (scr)
        pc_scratch_put(ctx, A5_SCR_FLOAT, scr);
    return BN_OK;
}
