/*
 * Row-wise and element-wise ops: rms_norm, rope, softmax, ffn_act, add, copy.
 *
 * rms_norm sums squares in double (8 lanes of double, then one rounding),
 * then scales in f32. rope computes every angle in double once per call
 * (theta = p * scale * base^(-2i/n_dims), the reference's expression), keeps
 * cos/sin as f32 and rotates with FMA: NEOX pairs are two contiguous halves;
 * NORM pairs are adjacent, rotated as x * c + swap_pairs(x) * (-s, s).
 * ffn_act and add are plain 8-wide loops (silu with the vector exp).
 * softmax and copy are not on the forward path (attention has its own
 * softmax; copy writes one KV row per token): they keep the reference's
 * scalar code, which is exact by construction.
 * Rows are flattened over dims 1..3 and addressed through nb. Argument
 * checks, rope's angle tables and the scalar tail of the activations are
 * shared with cpu-neon (plugins/common/row_ops.c).
 */
#include <math.h>

#include "avx2_internal.h"
#include "simd_util.h"

static double sum_squares(const float *x, int64_t n) {
    __m256d a0 = _mm256_setzero_pd(), a1 = a0;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v)), hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
        a0 = _mm256_fmadd_pd(lo, lo, a0);
        a1 = _mm256_fmadd_pd(hi, hi, a1);
    }
    a0 = _mm256_add_pd(a0, a1);
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(a0), _mm256_extractf128_pd(a0, 1));
    double ss = _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
    for (; i < n; i++)
        ss += (double)x[i] * (double)x[i];
    return ss;
}

bn_status ax_rms_norm(bn_backend_ctx *ctx, const bn_tensor *x, const bn_tensor *weight, float eps,
                      bn_tensor *dst) {
    const float *wv;
    bn_status st = pc_rms_norm_check(ctx, x, weight, dst, &wv);
    if (st != BN_OK)
        return st;
    int64_t n = x->ne[0];
    for (int64_t r = 0; r < pc_n_rows(x); r++) {
        const float *xr = (const float *)pc_row(x, r);
        float *yr = (float *)pc_row(dst, r);
        float inv = (float)(1.0 / sqrt(sum_squares(xr, n) / (double)n + (double)eps));
        __m256 vi = _mm256_set1_ps(inv);
        int64_t i = 0;
        /* dst may alias x: each vector is read before it is written */
        for (; i + 8 <= n; i += 8) {
            __m256 v = _mm256_mul_ps(_mm256_loadu_ps(xr + i), vi);
            if (wv)
                v = _mm256_mul_ps(v, _mm256_loadu_ps(wv + i));
            _mm256_storeu_ps(yr + i, v);
        }
        for (; i < n; i++)
            yr[i] = xr[i] * inv * (wv ? wv[i] : 1.0f);
    }
    return BN_OK;
}

static void rope_head_neox(float *v, int half, const float *c, const float *s) {
    int i = 0;
    for (; i + 8 <= half; i += 8) {
        __m256 x0 = _mm256_loadu_ps(v + i), x1 = _mm256_loadu_ps(v + half + i);
        __m256 vc = _mm256_loadu_ps(c + i), vs = _mm256_loadu_ps(s + i);
        _mm256_storeu_ps(v + i, _mm256_fmsub_ps(x0, vc, _mm256_mul_ps(x1, vs)));
        _mm256_storeu_ps(v + half + i, _mm256_fmadd_ps(x0, vs, _mm256_mul_ps(x1, vc)));
    }
    for (; i < half; i++) {
        float x0 = v[i], x1 = v[half + i];
        v[i] = x0 * c[i] - x1 * s[i];
        v[half + i] = x0 * s[i] + x1 * c[i];
    }
}

static void rope_head_norm(float *v, int nd, const float *c, const float *s) {
    int i = 0;
    for (; i + 8 <= nd; i += 8) {
        __m256 x = _mm256_loadu_ps(v + i);
        __m256 sw = _mm256_permute_ps(x, 0xb1); /* (x1, x0) per pair */
        _mm256_storeu_ps(v + i, _mm256_fmadd_ps(x, _mm256_loadu_ps(c + i), _mm256_mul_ps(sw, _mm256_loadu_ps(s + i))));
    }
    for (; i < nd; i += 2) {
        float x0 = v[i], x1 = v[i + 1];
        v[i] = x0 * c[i] + x1 * s[i];
        v[i + 1] = x1 * c[i + 1] + x0 * s[i + 1];
    }
}

bn_status ax_rope(bn_backend_ctx *ctx, bn_tensor *x, const bn_tensor *pos, const bn_rope_args *args) {
    bn_status st = pc_rope_check(ctx, x, pos, args);
    if (st != BN_OK)
        return st;
    int64_t n_head = x->ne[1], n_tok = x->ne[2];
    int nd = args->n_dims;
    int norm = args->style == BN_ROPE_NORM, half = nd / 2;
    int64_t stride = norm ? nd : half;
    float *cs = pc_scratch_get(ctx, AX_SCR_ROPE, 2 * sizeof(float) * (size_t)(n_tok * stride));
    if (!cs)
        return pc_fail(ctx, BN_ERR_NOMEM, "rope: out of memory for the angle tables");
    float *sn = cs + n_tok * stride;
    pc_rope_tables(pos, args, n_tok, cs, sn);
    for (int64_t t = 0; t < n_tok; t++)
        for (int64_t h = 0; h < n_head; h++) {
            float *v = (float *)((char *)x->data + h * x->nb[1] + t * x->nb[2]);
            if (norm)
                rope_head_norm(v, nd, cs + t * stride, sn + t * stride);
            else
                rope_head_neox(v, half, cs + t * stride, sn + t * stride);
        }
    pc_scratch_put(ctx, AX_SCR_ROPE, cs);
    return BN_OK;
}


static inline __m256 act_vec(__m256 g, int32_t act) {
    if (act == BN_ACT_RELU2) {
        __m256 r = _mm256_max_ps(g, _mm256_setzero_ps());
        return _mm256_mul_ps(r, r);
    }
    /* silu(g) = g / (1 + e^-g) */
    __m256 e = ax_exp_ps(_mm256_sub_ps(_mm256_setzero_ps(), g));
    return _mm256_div_ps(g, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

bn_status ax_ffn_act(bn_backend_ctx *ctx, const bn_tensor *gate, const bn_tensor *up, int32_t act,
                     bn_tensor *dst) {
    bn_status st = pc_ffn_act_check(ctx, gate, up, act, dst);
    if (st != BN_OK)
        return st;
    int64_t n = gate->ne[0];
    for (int64_t r = 0; r < pc_n_rows(gate); r++) {
        const float *g = (const float *)pc_row(gate, r), *u = (const float *)pc_row(up, r);
        float *y = (float *)pc_row(dst, r);
        int64_t i = 0;
        for (; i + 8 <= n; i += 8)
            _mm256_storeu_ps(y + i, _mm256_mul_ps(act_vec(_mm256_loadu_ps(g + i), act), _mm256_loadu_ps(u + i)));
        for (; i < n; i++)
            y[i] = pc_act_one(g[i], act) * u[i];
    }
    return BN_OK;
}

bn_status ax_add(bn_backend_ctx *ctx, const bn_tensor *a, const bn_tensor *b, bn_tensor *dst) {
    bn_status st = pc_add_check(ctx, a, b, dst);
    if (st != BN_OK)
        return st;
    int64_t n = a->ne[0];
    for (int64_t r = 0; r < pc_n_rows(a); r++) {
        const float *ar = (const float *)pc_row(a, r), *br = (const float *)pc_row(b, r);
        float *y = (float *)pc_row(dst, r);
        int64_t i = 0;
        for (; i + 8 <= n; i += 8)
            _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(ar + i), _mm256_loadu_ps(br + i)));
        for (; i < n; i++)
            y[i] = ar[i] + br[i];
    }
    return BN_OK;
}
