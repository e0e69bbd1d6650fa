/*
 * Row-wise and element-wise ops: rms_norm, rope, softmax, ffn_act, add, copy.
 *
 * Reductions (sum of squares, softmax sums) and the transcendental parts
 * (rope angles, exp) are computed in double and rounded to f32 once at the
 * end, so the oracle is as close to exact as the output type allows.
 * Rows are flattened over dims 1..3 and addressed through nb, so views
 * with padded rows work; ne[0] must be contiguous (nb[0] = element size).
 */
#include <math.h>

#include "ref_internal.h"

static const int32_t F32_ONLY[] = {BN_TYPE_F32, -1};

bn_status ref_rms_norm(bn_backend_ctx *ctx, const bn_tensor *x, const bn_tensor *weight, float eps,
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
        double ss = 0.0;
        for (int64_t i = 0; i < n; i++)
            ss += (double)xr[i] * (double)xr[i];
        double inv = 1.0 / sqrt(ss / (double)n + (double)eps);
        for (int64_t i = 0; i < n; i++) /* dst may alias x: element i is read before written */
            yr[i] = (float)((double)xr[i] * inv * (wv ? (double)wv[i] : 1.0));
    }
    return BN_OK;
}

bn_status ref_rope(bn_backend_ctx *ctx, bn_tensor *x, const bn_tensor *pos, const bn_rope_args *args) {
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
    int half = nd / 2;
    int norm = args->style == BN_ROPE_NORM;
    for (int64_t t = 0; t < n_tok; t++) {
        int32_t p = *(const int32_t *)((const char *)pos->data + t * pos->nb[0]);
        for (int i = 0; i < half; i++) {
            /* the angle straight from its definition, for any position */
            double theta = (double)p * (double)args->freq_scale *
                           pow((double)args->freq_base, -2.0 * i / (double)nd);
            double c = cos(theta), s = sin(theta);
            int a = norm ? 2 * i : i, b = norm ? 2 * i + 1 : i + half;
            for (int64_t h = 0; h < n_head; h++) {
                float *v = (float *)((char *)x->data + h * x->nb[1] + t * x->nb[2]);
                double x0 = v[a], x1 = v[b];
                v[a] = (float)(x0 * c - x1 * s);
                v[b] = (float)(x0 * s + x1 * c);
            }
        }
    }
    return BN_OK;
}


bn_status ref_ffn_act(bn_backend_ctx *ctx, const bn_tensor *gate, const bn_tensor *up, int32_t act,
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
    for (int64_t r = 0; r < pc_n_rows(gate); r++) {
        const float *g = (const float *)pc_row(gate, r), *u = (const float *)pc_row(up, r);
        float *y = (float *)pc_row(dst, r);
        for (int64_t i = 0; i < gate->ne[0]; i++) {
            double gi = g[i], a;
            if (act == BN_ACT_RELU2)
                a = gi > 0.0 ? gi * gi : 0.0;
            else
                a = gi / (1.0 + exp(-gi));
            y[i] = (float)(a * (double)u[i]);
        }
    }
    return BN_OK;
}

bn_status ref_add(bn_backend_ctx *ctx, const bn_tensor *a, const bn_tensor *b, bn_tensor *dst) {
    bn_status st;
    if ((st = pc_check(ctx, a, "add", "a", F32_ONLY)) != BN_OK ||
        (st = pc_check(ctx, b, "add", "b", F32_ONLY)) != BN_OK ||
        (st = pc_check(ctx, dst, "add", "dst", F32_ONLY)) != BN_OK)
        return st;
    if (!pc_same_shape(a, b) || !pc_same_shape(a, dst))
        return pc_fail(ctx, BN_ERR_INVALID, "add: a, b and dst must have one shape");
    for (int64_t r = 0; r < pc_n_rows(a); r++) {
        const float *ar = (const float *)pc_row(a, r), *br = (const float *)pc_row(b, r);
        float *y = (float *)pc_row(dst, r);
        for (int64_t i = 0; i < a->ne[0]; i++)
            y[i] = ar[i] + br[i];
    }
    return BN_OK;
}
