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
 * Rows are flattened over dims 1..3 and addressed through nb.
 */
#include <math.h>

#include "avx2_internal.h"
#include "simd_util.h"

static const int32_t F32_ONLY[] = {BN_TYPE_F32, -1};

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
    bn_status st;
    if ((st = pc_check(ctx, x, "rms_norm", "x", F32_ONLY)) != BN_OK ||
        (st = pc_check(ctx, dst, "rms_norm", "dst", F32_ONLY)) != BN_OK)
        return st;
    if (!pc_same_shape(x, dst))
        return pc_fail(ctx, BN_ERR_INVALID, "rms_norm: dst must have the shape of x");
    int64_t n = x->ne[0];
    const float *wv = NULL;
    if (weight) {
        if ((st = pc_check(ctx, weight, "rms_norm", "weight", F32_ONLY)) != BN_OK)
            return st;
        if (weight->ne[0] != n || pc_n_rows(weight) != 1)
            return pc_fail(ctx, BN_ERR_INVALID, "rms_norm: weight must be [%lld], got ne[0] = %lld",
                           (long long)n, (long long)weight->ne[0]);
        wv = weight->data;
    }
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

/* cos/sin tables of one call: [n_tok][half] each (NORM: [n_tok][n_dims],
 * duplicated per pair, sin with the sign of its lane). */
static void rope_tables(const bn_tensor *pos, const bn_rope_args *a, int64_t n_tok, float *cs, float *sn) {
    int nd = a->n_dims, half = nd / 2, norm = a->style == BN_ROPE_NORM;
    int64_t stride = norm ? nd : half;
    /* base^(-2i/n_dims) once per call (heads up to 512 rotated dims) */
    double inv_freq[256];
    int hoist = half <= 256;
    for (int i = 0; hoist && i < half; i++)
        inv_freq[i] = pow((double)a->freq_base, -2.0 * i / (double)nd);
    for (int64_t t = 0; t < n_tok; t++) {
        int32_t p = *(const int32_t *)((const char *)pos->data + t * pos->nb[0]);
        for (int i = 0; i < half; i++) {
            /* same expression and evaluation order as the reference: bit-identical theta */
            double f = hoist ? inv_freq[i] : pow((double)a->freq_base, -2.0 * i / (double)nd);
            double theta = (double)p * (double)a->freq_scale * f;
            float c = (float)cos(theta), s = (float)sin(theta);
            if (norm) {
                cs[t * stride + 2 * i] = cs[t * stride + 2 * i + 1] = c;
                sn[t * stride + 2 * i] = -s;
                sn[t * stride + 2 * i + 1] = s;
            } else {
                cs[t * stride + i] = c;
                sn[t * stride + i] = s;
            }
        }
    }
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
    static const int32_t i32[] = {BN_TYPE_I32, -1};
    bn_status st;
    if ((st = pc_check(ctx, x, "rope", "x", F32_ONLY)) != BN_OK ||
        (st = pc_check(ctx, pos, "rope", "pos", i32)) != BN_OK)
        return st;
    if (!args)
        return pc_fail(ctx, BN_ERR_INVALID, "rope: NULL args");
    int64_t head_dim = x->ne[0], n_head = x->ne[1], n_tok = x->ne[2];
    int nd = args->n_dims;
    if (x->ne[3] != 1 || pos->ne[0] != n_tok || pc_n_rows(pos) != 1)
        return pc_fail(ctx, BN_ERR_INVALID, "rope: x must be [head_dim, n_head, n_tokens] and pos [n_tokens] "
                       "(x ne[2] = %lld, pos ne[0] = %lld)", (long long)n_tok, (long long)pos->ne[0]);
    if (nd <= 0 || nd % 2 || nd > head_dim)
        return pc_fail(ctx, BN_ERR_INVALID, "rope: n_dims %d must be even and in (0, head_dim = %lld]", nd,
                       (long long)head_dim);
    if (args->style != BN_ROPE_NORM && args->style != BN_ROPE_NEOX)
        return pc_fail(ctx, BN_ERR_INVALID, "rope: unknown style %d", (int)args->style);
    if (!(args->freq_base > 0.0f))
        return pc_fail(ctx, BN_ERR_INVALID, "rope: freq_base must be > 0");
    int norm = args->style == BN_ROPE_NORM, half = nd / 2;
    int64_t stride = norm ? nd : half;
    float *cs = pc_scratch_get(ctx, AX_SCR_ROPE, 2 * sizeof(float) * (size_t)(n_tok * stride));
    if (!cs)
        return pc_fail(ctx, BN_ERR_NOMEM, "rope: out of memory for the angle tables");
    float *sn = cs + n_tok * stride;
    rope_tables(pos, args, n_tok, cs, sn);
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

static inline float act_one(float g, int32_t act) {
    if (act == BN_ACT_RELU2)
        return g > 0.0f ? g * g : 0.0f;
    return g / (1.0f + expf(-g));
}

bn_status ax_ffn_act(bn_backend_ctx *ctx, const bn_tensor *gate, const bn_tensor *up, int32_t act,
                     bn_tensor *dst) {
    bn_status st;
    if ((st = pc_check(ctx, gate, "ffn_act", "gate", F32_ONLY)) != BN_OK ||
        (st = pc_check(ctx, up, "ffn_act", "up", F32_ONLY)) != BN_OK ||
        (st = pc_check(ctx, dst, "ffn_act", "dst", F32_ONLY)) != BN_OK)
        return st;
    if (!pc_same_shape(gate, up) || !pc_same_shape(gate, dst))
        return pc_fail(ctx, BN_ERR_INVALID, "ffn_act: gate, up and dst must have one shape");
    if (act != BN_ACT_RELU2 && act != BN_ACT_SILU)
        return pc_fail(ctx, BN_ERR_INVALID, "ffn_act: unknown activation %d", (int)act);
    int64_t n = gate->ne[0];
    for (int64_t r = 0; r < pc_n_rows(gate); r++) {
        const float *g = (const float *)pc_row(gate, r), *u = (const float *)pc_row(up, r);
        float *y = (float *)pc_row(dst, r);
        int64_t i = 0;
        for (; i + 8 <= n; i += 8)
            _mm256_storeu_ps(y + i, _mm256_mul_ps(act_vec(_mm256_loadu_ps(g + i), act), _mm256_loadu_ps(u + i)));
        for (; i < n; i++)
            y[i] = act_one(g[i], act) * u[i];
    }
    return BN_OK;
}

bn_status ax_add(bn_backend_ctx *ctx, const bn_tensor *a, const bn_tensor *b, bn_tensor *dst) {
    bn_status st;
    if ((st = pc_check(ctx, a, "add", "a", F32_ONLY)) != BN_OK ||
        (st = pc_check(ctx, b, "add", "b", F32_ONLY)) != BN_OK ||
        (st = pc_check(ctx, dst, "add", "dst", F32_ONLY)) != BN_OK)
        return st;
    if (!pc_same_shape(a, b) || !pc_same_shape(a, dst))
        return pc_fail(ctx, BN_ERR_INVALID, "add: a, b and dst must have one shape");
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
