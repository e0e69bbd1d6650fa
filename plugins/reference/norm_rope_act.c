/*
 * Row-wise and element-wise ops: rms_norm, rope, ffn_act, add (softmax and
 * copy are the common pc_softmax / pc_copy).
 *
 * Reductions (sum of squares) and the transcendental parts (rope angles,
 * exp) are computed in double and rounded to f32 once at the end, so the
 * oracle is as close to exact as the output type allows.
 * Rows are flattened over dims 1..3 and addressed through nb, so views
 * with padded rows work; ne[0] must be contiguous (nb[0] = element size).
 * The argument checks are common to the CPU plugins (plugins/common/row_ops.c).
 */
#include <math.h>

#include "ref_internal.h"

bn_status ref_rms_norm(bn_backend_ctx *ctx, const bn_tensor *x, const bn_tensor *weight, float eps,
                       bn_tensor *dst) {
    const float *wv;
    bn_status st = pc_rms_norm_check(ctx, x, weight, dst, &wv);
    if (st != BN_OK)
        return st;
    int64_t n = x->ne[0];
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
    bn_status st = pc_rope_check(ctx, x, pos, args);
    if (st != BN_OK)
        return st;
    int64_t n_head = x->ne[1], n_tok = x->ne[2];
    int nd = args->n_dims;
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
    bn_status st = pc_ffn_act_check(ctx, gate, up, act, dst);
    if (st != BN_OK)
        return st;
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
    bn_status st = pc_add_check(ctx, a, b, dst);
    if (st != BN_OK)
        return st;
    for (int64_t r = 0; r < pc_n_rows(a); r++) {
        const float *ar = (const float *)pc_row(a, r), *br = (const float *)pc_row(b, r);
        float *y = (float *)pc_row(dst, r);
        for (int64_t i = 0; i < a->ne[0]; i++)
            y[i] = ar[i] + br[i];
    }
    return BN_OK;
}
