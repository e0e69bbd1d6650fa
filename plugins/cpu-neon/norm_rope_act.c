/*
 * Row-wise and element-wise ops: rms_norm, rope, ffn_act, add (softmax and
 * copy are the common scalar ones).
 *
 * The numerics are cpu-avx2's: rms_norm sums squares in double, in the
 * same eight lanes and the same reduction order (so the two plugins agree
 * bit for bit), then scales in f32. rope takes its angles in double once
 * per call (pc_rope_tables) and rotates with FMA: NEOX pairs are two
 * contiguous halves; NORM pairs are adjacent, rotated as
 * x * c + rev64(x) * (-s, s). ffn_act and add are plain 4-wide loops (silu
 * with the vector exp of neon_vecmath.h). Argument checks and the scalar
 * tails are plugins/common/row_ops.c. Rows are flattened over dims 1..3
 * and addressed through nb.
 */
#include <arm_neon.h>
#include <math.h>

#include "neon_internal.h"
#include "neon_vecmath.h"

/* Lane i % 8 of eight double lanes, reduced as cpu-avx2 does:
 * ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7)). */
static double sum_squares(const float *x, int64_t n) {
    float64x2_t a0 = vdupq_n_f64(0.0), a1 = a0, a2 = a0, a3 = a0;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        float32x4_t lo = vld1q_f32(x + i), hi = vld1q_f32(x + i + 4);
        float64x2_t d0 = vcvt_f64_f32(vget_low_f32(lo)), d1 = vcvt_high_f64_f32(lo);
        float64x2_t d2 = vcvt_f64_f32(vget_low_f32(hi)), d3 = vcvt_high_f64_f32(hi);
        a0 = vfmaq_f64(a0, d0, d0);
        a1 = vfmaq_f64(a1, d1, d1);
        a2 = vfmaq_f64(a2, d2, d2);
        a3 = vfmaq_f64(a3, d3, d3);
    }
    float64x2_t s = vaddq_f64(vaddq_f64(a0, a2), vaddq_f64(a1, a3));
    double ss = vgetq_lane_f64(s, 0) + vgetq_lane_f64(s, 1);
    for (; i < n; i++)
        ss += (double)x[i] * (double)x[i];
    return ss;
}

bn_status nn_rms_norm(bn_backend_ctx *ctx, const bn_tensor *x, const bn_tensor *weight, float eps,
                      bn_tensor *dst) {
    const float *wv;
    bn_status st = pc_rms_norm_check(ctx, x, weight, dst, &wv);
    if (st != BN_OK)
        return st;
    const int64_t n = x->ne[0];
    for (int64_t r = 0; r < pc_n_rows(x); r++) {
        const float *xr = (const float *)pc_row(x, r);
        float *yr = (float *)pc_row(dst, r);
        const float inv = (float)(1.0 / sqrt(sum_squares(xr, n) / (double)n + (double)eps));
        int64_t i = 0;
        /* dst may alias x: each vector is read before it is written */
        for (; i + 4 <= n; i += 4) {
            float32x4_t v = vmulq_n_f32(vld1q_f32(xr + i), inv);
            if (wv)
                v = vmulq_f32(v, vld1q_f32(wv + i));
            vst1q_f32(yr + i, v);
        }
        for (; i < n; i++)
            yr[i] = xr[i] * inv * (wv ? wv[i] : 1.0f);
    }
    return BN_OK;
}

/* (x0, x1) <- (x0 c - x1 s, x0 s + x1 c) for x0 = v[i], x1 = v[half + i]. */
static void rope_head_neox(float *v, int half, const float *c, const float *s) {
    int i = 0;
    for (; i + 4 <= half; i += 4) {
        const float32x4_t x0 = vld1q_f32(v + i), x1 = vld1q_f32(v + half + i);
        const float32x4_t vc = vld1q_f32(c + i), vs = vld1q_f32(s + i);
        /* x0 c fused, x1 s rounded: cpu-avx2's fmsub */
        vst1q_f32(v + i, vfmaq_f32(vnegq_f32(vmulq_f32(x1, vs)), x0, vc));
        vst1q_f32(v + half + i, vfmaq_f32(vmulq_f32(x1, vc), x0, vs));
    }
    for (; i < half; i++) {
        float x0 = v[i], x1 = v[half + i];
        v[i] = x0 * c[i] - x1 * s[i];
        v[half + i] = x0 * s[i] + x1 * c[i];
    }
}

/* Adjacent pairs; c and s hold one entry per lane (s signed -s, s). */
static void rope_head_norm(float *v, int nd, const float *c, const float *s) {
    int i = 0;
    for (; i + 4 <= nd; i += 4) {
        const float32x4_t x = vld1q_f32(v + i);
        vst1q_f32(v + i, vfmaq_f32(vmulq_f32(vrev64q_f32(x), vld1q_f32(s + i)), x, vld1q_f32(c + i)));
    }
    for (; i < nd; i += 2) {
        float x0 = v[i], x1 = v[i + 1];
        v[i] = x0 * c[i] + x1 * s[i];
        v[i + 1] = x1 * c[i + 1] + x0 * s[i + 1];
    }
}

bn_status nn_rope(bn_backend_ctx *ctx, bn_tensor *x, const bn_tensor *pos, const bn_rope_args *args) {
    bn_status st = pc_rope_check(ctx, x, pos, args);
    if (st != BN_OK)
        return st;
    const int64_t n_head = x->ne[1], n_tok = x->ne[2];
    const int nd = args->n_dims, half = nd / 2, norm = args->style == BN_ROPE_NORM;
    const int64_t stride = norm ? nd : half;
    float *cs = pc_scratch_get(ctx, NN_SCR_ROPE, 2 * sizeof(float) * (size_t)(n_tok * stride));
    if (!cs)
        return pc_fail(ctx, BN_ERR_NOMEM, "rope: out of memory for the angle tables");
    float *sn = cs + n_tok * stride;
    pc_rope_tables(pos, args, n_tok, cs, sn);
    for (int64_t t = 0; t < n_tok; t++) {
        const float *c = cs + t * stride, *s = sn + t * stride;
        char *xt = (char *)x->data + t * x->nb[2];
        for (int64_t h = 0; h < n_head; h++) {
            float *v = (float *)(xt + h * x->nb[1]);
            if (norm)
                rope_head_norm(v, nd, c, s);
            else
                rope_head_neox(v, half, c, s);
        }
    }
    pc_scratch_put(ctx, NN_SCR_ROPE, cs);
    return BN_OK;
}

static inline float32x4_t act_vec(float32x4_t g, int32_t act) {
    if (act == BN_ACT_RELU2) {
        const float32x4_t r = vmaxq_f32(g, vdupq_n_f32(0.0f));
        return vmulq_f32(r, r);
    }
    /* silu(g) = g / (1 + e^-g) */
    return vdivq_f32(g, vaddq_f32(vdupq_n_f32(1.0f), nn_exp_ps(vnegq_f32(g))));
}

bn_status nn_ffn_act(bn_backend_ctx *ctx, const bn_tensor *gate, const bn_tensor *up, int32_t act,
                     bn_tensor *dst) {
    bn_status st = pc_ffn_act_check(ctx, gate, up, act, dst);
    if (st != BN_OK)
        return st;
    const int64_t n = gate->ne[0];
    for (int64_t r = 0; r < pc_n_rows(gate); r++) {
        const float *g = (const float *)pc_row(gate, r), *u = (const float *)pc_row(up, r);
        float *y = (float *)pc_row(dst, r);
        int64_t i = 0;
        for (; i + 4 <= n; i += 4)
            vst1q_f32(y + i, vmulq_f32(act_vec(vld1q_f32(g + i), act), vld1q_f32(u + i)));
        for (; i < n; i++)
            y[i] = pc_act_one(g[i], act) * u[i];
    }
    return BN_OK;
}

bn_status nn_add(bn_backend_ctx *ctx, const bn_tensor *a, const bn_tensor *b, bn_tensor *dst) {
    bn_status st = pc_add_check(ctx, a, b, dst);
    if (st != BN_OK)
        return st;
    const int64_t n = a->ne[0];
    for (int64_t r = 0; r < pc_n_rows(a); r++) {
        const float *ar = (const float *)pc_row(a, r), *br = (const float *)pc_row(b, r);
        float *y = (float *)pc_row(dst, r);
        int64_t i = 0;
        for (; i + 4 <= n; i += 4)
            vst1q_f32(y + i, vaddq_f32(vld1q_f32(ar + i), vld1q_f32(br + i)));
        for (; i < n; i++)
            y[i] = ar[i] + br[i];
    }
    return BN_OK;
}
