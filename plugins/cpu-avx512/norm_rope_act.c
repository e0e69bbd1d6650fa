/*
 * Row-wise and element-wise ops: rms_norm, rope, ffn_act, add, copy
 * (softmax is the common pc_softmax).
 *
 * rms_norm sums squares in double (8 lanes) and scales in f32; rope takes
 * its angles in double once per (token, i) and rotates every head with f32
 * FMAs; relu2 and add are plain f32 vectors; silu uses libm expf per
 * element; copy converts F32 <-> F16 with vcvtps2ph / vcvtph2ps and takes
 * the rest (and Q8_0) through the common scalar code (copy must be
 * bit-exact).
 * Rows are flattened over dims 1..3 and addressed through nb. The argument
 * checks and silu's scalar form are common (plugins/common/row_ops.c).
 */
#include <immintrin.h>
#include <math.h>

#include "a5_internal.h"

A5_INLINE __mmask16 tail_mask(int64_t left) {
    return left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1u);
}

/* The row-wise ops run their rows across the pool when there are several
 * (prompt processing) and enough work to pay for the hand-off; one row
 * (decode) stays on the calling thread. */
enum { ROW_RMS, ROW_RELU2, ROW_SILU, ROW_ADD };

typedef struct rows_job {
    int op;
    const bn_tensor *a, *b; /* x | gate, up | a, b */
    bn_tensor *dst;
    const float *w; /* rms_norm weight or NULL */
    float eps;
} rows_job;

static void rms_row(const float *xr, const float *wv, float eps, int64_t n, float *yr) {
    __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
    for (int64_t i = 0; i < n; i += 16) {
        __m512 v = _mm512_maskz_loadu_ps(tail_mask(n - i), xr + i);
        __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
        __m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
        s0 = _mm512_fmadd_pd(lo, lo, s0);
        s1 = _mm512_fmadd_pd(hi, hi, s1);
    }
    double ss = _mm512_reduce_add_pd(_mm512_add_pd(s0, s1));
    __m512 inv = _mm512_set1_ps((float)(1.0 / sqrt(ss / (double)n + (double)eps)));
    for (int64_t i = 0; i < n; i += 16) { /* dst may alias x: each chunk is read before written */
        __mmask16 k = tail_mask(n - i);
        __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(k, xr + i), inv);
        if (wv)
            v = _mm512_mul_ps(v, _mm512_maskz_loadu_ps(k, wv + i));
        _mm512_mask_storeu_ps(yr + i, k, v);
    }
}

static void act_row(int silu, const float *g, const float *u, int64_t n, float *y) {
    if (silu) {
        for (int64_t i = 0; i < n; i++)
            y[i] = pc_act_one(g[i], BN_ACT_SILU) * u[i];
        return;
    }
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 k = tail_mask(n - i);
        __m512 gv = _mm512_max_ps(_mm512_maskz_loadu_ps(k, g + i), _mm512_setzero_ps());
        __m512 uv = _mm512_maskz_loadu_ps(k, u + i);
        _mm512_mask_storeu_ps(y + i, k, _mm512_mul_ps(_mm512_mul_ps(gv, gv), uv));
    }
}

static void add_row(const float *ar, const float *br, int64_t n, float *y) {
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 k = tail_mask(n - i);
        _mm512_mask_storeu_ps(y + i, k, _mm512_add_ps(_mm512_maskz_loadu_ps(k, ar + i), _mm512_maskz_loadu_ps(k, br + i)));
    }
}

static void rows_work(void *arg, int64_t begin, int64_t end, int thread_index) {
    (void)thread_index;
    const rows_job *jb = arg;
    int64_t n = jb->a->ne[0];
    for (int64_t r = begin; r < end; r++) {
        const float *a = (const float *)pc_row(jb->a, r), *b = jb->b ? (const float *)pc_row(jb->b, r) : NULL;
        float *y = (float *)pc_row(jb->dst, r);
        switch (jb->op) {
        case ROW_RMS: rms_row(a, jb->w, jb->eps, n, y); break;
        case ROW_RELU2: act_row(0, a, b, n, y); break;
        case ROW_SILU: act_row(1, a, b, n, y); break;
        default: add_row(a, b, n, y); break;
        }
    }
}

#define ROWS_PARALLEL_MIN 8192 /* elements; below this the hand-off costs more than it saves */

static void run_rows(bn_backend_ctx *ctx, rows_job *jb) {
    int64_t rows = pc_n_rows(jb->a);
    if (rows > 1 && rows * jb->a->ne[0] >= ROWS_PARALLEL_MIN)
        pc_parallel(ctx, rows, 1, rows_work, jb);
    else
        rows_work(jb, 0, rows, 0);
}

bn_status a5_rms_norm(bn_backend_ctx *ctx, const bn_tensor *x, const bn_tensor *weight, float eps,
                      bn_tensor *dst) {
    const float *wv;
    bn_status st = pc_rms_norm_check(ctx, x, weight, dst, &wv);
    if (st != BN_OK)
        return st;
    rows_job jb = {.op = ROW_RMS, .a = x, .dst = dst, .w = wv, .eps = eps};
    run_rows(ctx, &jb);
    return BN_OK;
}

#define ROPE_CHUNK 256 /* angles computed per chunk of pair indices */

/* Rotate pairs [i0, i0 + cnt) of every head of token t. */
static void rope_apply(bn_tensor *x, int64_t t, int norm, int half, int i0, int cnt, const float *c,
                       const float *s) {
    for (int64_t h = 0; h < x->ne[1]; h++) {
        float *v = (float *)((char *)x->data + h * x->nb[1] + t * x->nb[2]);
        if (norm) {
            for (int i = 0; i < cnt; i++) {
                float x0 = v[2 * (i0 + i)], x1 = v[2 * (i0 + i) + 1];
                v[2 * (i0 + i)] = x0 * c[i] - x1 * s[i];
                v[2 * (i0 + i) + 1] = x0 * s[i] + x1 * c[i];
            }
            continue;
        }
        float *a = v + i0, *b = v + i0 + half;
        for (int i = 0; i < cnt; i += 16) {
            __mmask16 k = tail_mask(cnt - i);
            __m512 x0 = _mm512_maskz_loadu_ps(k, a + i), x1 = _mm512_maskz_loadu_ps(k, b + i);
            __m512 cv = _mm512_maskz_loadu_ps(k, c + i), sv = _mm512_maskz_loadu_ps(k, s + i);
            _mm512_mask_storeu_ps(a + i, k, _mm512_fmsub_ps(x0, cv, _mm512_mul_ps(x1, sv)));
            _mm512_mask_storeu_ps(b + i, k, _mm512_fmadd_ps(x0, sv, _mm512_mul_ps(x1, cv)));
        }
    }
}

bn_status a5_rope(bn_backend_ctx *ctx, bn_tensor *x, const bn_tensor *pos, const bn_rope_args *args) {
    bn_status st = pc_rope_check(ctx, x, pos, args);
    if (st != BN_OK)
        return st;
    int64_t n_tok = x->ne[2];
    int nd = args->n_dims, half = nd / 2, norm = args->style == BN_ROPE_NORM;
    float c[ROPE_CHUNK], s[ROPE_CHUNK];
    double inv_freq[ROPE_CHUNK];
    for (int i0 = 0; i0 < half; i0 += ROPE_CHUNK) {
        int cnt = half - i0 < ROPE_CHUNK ? half - i0 : ROPE_CHUNK;
        /* theta = p * freq_scale * base^(-2i/n_dims) in double from its
         * definition, for any position; the power depends on i only, so it
         * is computed once per call, not per token. */
        for (int i = 0; i < cnt; i++)
            inv_freq[i] = (double)args->freq_scale * pow((double)args->freq_base, -2.0 * (i0 + i) / (double)nd);
        for (int64_t t = 0; t < n_tok; t++) {
            int32_t p = *(const int32_t *)((const char *)pos->data + t * pos->nb[0]);
            for (int i = 0; i < cnt; i++) {
                double theta = (double)p * inv_freq[i];
                c[i] = (float)cos(theta);
                s[i] = (float)sin(theta);
            }
            rope_apply(x, t, norm, half, i0, cnt, c, s);
        }
    }
    return BN_OK;
}

bn_status a5_ffn_act(bn_backend_ctx *ctx, const bn_tensor *gate, const bn_tensor *up, int32_t act,
                     bn_tensor *dst) {
    bn_status st = pc_ffn_act_check(ctx, gate, up, act, dst);
    if (st != BN_OK)
        return st;
    rows_job jb = {.op = act == BN_ACT_SILU ? ROW_SILU : ROW_RELU2, .a = gate, .b = up, .dst = dst};
    run_rows(ctx, &jb);
    return BN_OK;
}

bn_status a5_add(bn_backend_ctx *ctx, const bn_tensor *a, const bn_tensor *b, bn_tensor *dst) {
    bn_status st = pc_add_check(ctx, a, b, dst);
    if (st != BN_OK)
        return st;
    rows_job jb = {.op = ROW_ADD, .a = a, .b = b, .dst = dst};
    run_rows(ctx, &jb);
    return BN_OK;
}

bn_status a5_copy(bn_backend_ctx *ctx, const bn_tensor *src, bn_tensor *dst) {
    /* to and from Q8_0 (the 8-bit KV cache): the common encoder and checks */
    if (src && dst && (src->type == BN_TYPE_Q8_0 || dst->type == BN_TYPE_Q8_0))
        return pc_copy(ctx, src, dst);
    bn_status st = pc_copy_check(ctx, src, dst);
    if (st != BN_OK)
        return st;
    /* every F16/BF16 value is exact in f32, so going through f32 rounds once;
     * F32 <-> F16 (the KV cache writes) use vcvtps2ph / vcvtph2ps, which round
     * to nearest even like pc_f32_to_f16 */
    int64_t n = src->ne[0];
    for (int64_t r = 0; r < pc_n_rows(src); r++) {
        const char *sr = pc_row(src, r);
        char *dr = pc_row(dst, r);
        int64_t i = 0;
        if (src->type == BN_TYPE_F32 && dst->type == BN_TYPE_F16)
            for (; i + 16 <= n; i += 16)
                _mm256_storeu_si256((__m256i *)(dr + 2 * i),
                                    _mm512_cvtps_ph(_mm512_loadu_ps((const float *)sr + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        else if (src->type == BN_TYPE_F16 && dst->type == BN_TYPE_F32)
            for (; i + 16 <= n; i += 16)
                _mm512_storeu_ps((float *)dr + i, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(sr + 2 * i))));
        for (; i < n; i++)
            pc_store(dst, dr, i, pc_load(ctx, src, sr, i));
    }
    return BN_OK;
}
