/*
 * Activation-side ops against the scalar oracle and the reference plugin.
 *
 * Tolerances (err = |got - expected|, relative to |expected| unless said):
 *  - quantize_act: int8 values and the per-row scale s_x bit-exact (the
 *    integer sums downstream depend on both).
 *  - rms_norm: 1e-6 * (1 + sqrt(n)) (float sum of squares over n).
 *  - rope: 1e-5 relative to the magnitude of the rotated pair; theta is
 *    defined in double, so a float theta at position 4095 (error ~2e-4)
 *    fails on purpose; dims past n_dims must be untouched (exact).
 *  - softmax: 1e-6 * (2 + sqrt(n) / 4), values below 1e-7 compared
 *    absolutely against 1e-7.
 *  - ffn_act: 2e-6 (silu uses exp), relu2 1e-6.
 *  - add: 1e-6 relative to |a| + |b|.
 *  - against the reference plugin: twice these.
 */
#include "conf_tests.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops_oracle.h"

/* ---- quantize_act ----------------------------------------------------------- */

static void qa_case(int pi, int64_t n, int64_t T, int64_t pad, uint64_t seed) {
    conf_plugin *p = &conf_plugins[pi];
    conf_case c;
    cc_init(&c, pi, BN_OP_QUANTIZE_ACT, "n=%lld T=%lld%s", (long long)n, (long long)T, pad ? " strided" : "");
    if (!cc_has(&c, p->be->quantize_act, "quantize_act"))
        return;
    conf_rng r;
    rng_seed(&r, seed);
    float *x = xmalloc(sizeof(float) * (size_t)(n * T)), *s = xmalloc(sizeof(float) * (size_t)T);
    float *gs = xmalloc(sizeof(float) * (size_t)T);
    int8_t *q = xmalloc((size_t)(n * T)), *gq = xmalloc((size_t)(n * T));
    for (int64_t t = 0; t < T; t++) {
        float *row = x + t * n;
        rng_fill(&r, row, n, t == 1 ? 0.0f : t == 2 ? 3e-6f : 0.1f + 10.0f * (float)t);
        if (t == 3 && n >= 8) { /* absmax 127 -> s = 1: exact halves test round-half-even */
            static const float ties[8] = {127.0f, 2.5f, -2.5f, 3.5f, 0.5f, -0.5f, -127.0f, 126.5f};
            memcpy(row, ties, sizeof ties);
        }
        or_quantize_row(row, n, q + t * n, &s[t]);
    }
    dev_tensor dx, dq, ds;
    memset(&dq, 0, sizeof dq);
    memset(&ds, 0, sizeof ds);
    if (dt_new(&c, p, &dx, BN_TYPE_F32, n, T, 1, pad) && dt_put(&c, p, &dx, x) &&
        dt_new(&c, p, &dq, BN_TYPE_I8, n, T, 1, pad) && dt_new(&c, p, &ds, BN_TYPE_F32, T, 1, 1, 0) &&
        cc_ok(&c, p, p->be->quantize_act(p->ctx, &dx.t, &dq.t, &ds.t), "quantize_act") &&
        dt_get(&c, p, &dq, gq) && dt_get(&c, p, &ds, gs)) {
        cc_cmp_i8(&c, "int8 values", gq, q, n * T);
        cc_cmp_f32(&c, "row scales s_x", gs, s, NULL, T, 0.0, 1e-30, 0);
    }
    dt_del(p, &dx);
    dt_del(p, &dq);
    dt_del(p, &ds);
    free(x);
    free(s);
    free(gs);
    free(q);
    free(gq);
}

void conf_test_quantize_act(int pi) {
    static const int64_t ns[] = {1, 7, 32, 256, 2560, 6912};
    static const int64_t Ts[] = {1, 3, 8};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
        for (size_t j = 0; j < 3; j++)
            qa_case(pi, ns[i], Ts[j], 0, 10 * i + j);
    qa_case(pi, 100, 4, 7, 99);
}

/* ---- generic row-op runner ---------------------------------------------------- */

/* Up to three F32 inputs and one F32 output of shape n x T on plugin p. */
typedef bn_status (*row_op_fn)(conf_plugin *p, dev_tensor *in, dev_tensor *out, const void *arg);

static int run_rows(conf_case *c, conf_plugin *p, int n_in, float *const *in, int64_t n, int64_t T, int64_t pad,
                    int alias, row_op_fn fn, const void *arg, float *out) {
    dev_tensor d[4];
    int ok = 0;
    memset(d, 0, sizeof d);
    for (int i = 0; i < n_in; i++)
        if (!dt_new(c, p, &d[i], BN_TYPE_F32, n, T, 1, pad) || !dt_put(c, p, &d[i], in[i]))
            goto out;
    if (!alias && !dt_new(c, p, &d[3], BN_TYPE_F32, n, T, 1, pad))
        goto out;
    dev_tensor *dst = alias ? &d[0] : &d[3];
    if (cc_ok(c, p, fn(p, d, dst, arg), conf_op_name(c->op)))
        ok = dt_get(c, p, dst, out);
out:
    for (int i = 0; i < 4; i++)
        dt_del(p, &d[i]);
    return ok;
}

/* Runs on p and (if p is not the reference) on the reference, compares. */
static void check_rows(conf_case *c, int n_in, float *const *in, int64_t n, int64_t T, int64_t pad, int alias,
                       row_op_fn fn, const void *arg, const float *exp, const float *mag, double tol,
                       double floor) {
    size_t m = (size_t)(n * T);
    float *got = xmalloc(m * sizeof(float));
    if (run_rows(c, c->p, n_in, in, n, T, pad, alias, fn, arg, got)) {
        cc_cmp_f32(c, "values", got, exp, mag, (int64_t)m, tol, floor, 0);
        float *ref = xmalloc(m * sizeof(float));
        if (!c->p->is_reference && run_rows(c, conf_ref, n_in, in, n, T, pad, alias, fn, arg, ref))
            cc_cmp_f32(c, "values", got, ref, mag, (int64_t)m, 2 * tol, floor, 1);
        free(ref);
    }
    free(got);
}

/* ---- rms_norm ------------------------------------------------------------------- */

typedef struct rms_arg {
    int with_weight;
    float eps;
} rms_arg;

static bn_status rms_fn(conf_plugin *p, dev_tensor *in, dev_tensor *out, const void *arg) {
    const rms_arg *a = arg;
    /* the weight is one row: view the first row of in[1] */
    bn_tensor w = in[1].t;
    w.ne[1] = 1;
    w.nb[2] = w.nb[3] = w.nb[1];
    return p->be->rms_norm(p->ctx, &in[0].t, a->with_weight ? &w : NULL, a->eps, &out->t);
}

void conf_test_rms_norm(int pi) {
    static const int64_t ns[] = {1, 64, 2560, 6912};
    conf_plugin *p = &conf_plugins[pi];
    for (size_t i = 0; i < 4; i++)
        for (int variant = 0; variant < 3; variant++) {
            int64_t n = ns[i], T = variant == 2 ? 8 : 3, pad = variant == 1 ? 4 : 0;
            rms_arg a = {.with_weight = variant != 2, .eps = variant == 0 ? 1e-5f : 1e-6f};
            conf_case c;
            cc_init(&c, pi, BN_OP_RMS_NORM, "n=%lld T=%lld %s eps=%g%s", (long long)n, (long long)T,
                    a.with_weight ? "weight" : "no-weight", (double)a.eps, pad ? " strided" : "");
            if (!cc_has(&c, p->be->rms_norm, "rms_norm"))
                continue;
            conf_rng r;
            rng_seed(&r, 31 * i + (uint64_t)variant);
            size_t m = (size_t)(n * T);
            float *x = xmalloc(m * 4), *w = xmalloc(m * 4), *exp = xmalloc(m * 4);
            rng_fill(&r, x, (int64_t)m, 4.0f);
            rng_fill(&r, w, (int64_t)m, 2.0f);
            for (int64_t k = 0; k < n; k++) /* row 1 small enough for eps to matter */
                x[n + k] *= 1e-3f;
            for (int64_t t = 0; t < T; t++)
                or_rms_norm_row(x + t * n, a.with_weight ? w : NULL, n, a.eps, exp + t * n);
            float *in[2] = {x, w};
            check_rows(&c, 2, in, n, T, pad, 0, rms_fn, &a, exp, NULL, 1e-6 * (1.0 + sqrt((double)n)), 1e-30);
            free(x);
            free(w);
            free(exp);
        }
}

/* ---- softmax ---------------------------------------------------------------------- */

static bn_status softmax_fn(conf_plugin *p, dev_tensor *in, dev_tensor *out, const void *arg) {
    return p->be->softmax(p->ctx, &in[0].t, *(const float *)arg, &out->t);
}

void conf_test_softmax(int pi) {
    static const int64_t ns[] = {1, 5, 128, 4096};
    conf_plugin *p = &conf_plugins[pi];
    for (size_t i = 0; i < 4; i++)
        for (int variant = 0; variant < 3; variant++) {
            int64_t n = ns[i], T = variant == 2 ? 1 : 3, pad = variant == 1 ? 2 : 0;
            float scale = variant == 0 ? 1.0f : 0.08838834764f;
            conf_case c;
            cc_init(&c, pi, BN_OP_SOFTMAX, "n=%lld T=%lld scale=%g%s%s", (long long)n, (long long)T, (double)scale,
                    pad ? " strided" : "", variant == 2 ? " in-place" : "");
            if (!cc_has(&c, p->be->softmax, "softmax"))
                continue;
            conf_rng r;
            rng_seed(&r, 17 * i + (uint64_t)variant);
            size_t m = (size_t)(n * T);
            float *x = xmalloc(m * 4), *exp = xmalloc(m * 4);
            rng_fill(&r, x, (int64_t)m, 8.0f);
            for (int64_t t = 0; t < T; t++)
                or_softmax_row(x + t * n, n, scale, exp + t * n);
            float *in[1] = {x};
            check_rows(&c, 1, in, n, T, pad, variant == 2, softmax_fn, &scale, exp, NULL,
                       1e-6 * (2.0 + sqrt((double)n) / 4.0), 1e-7);
            free(x);
            free(exp);
        }
}

/* ---- ffn_act and add ---------------------------------------------------------------- */

static bn_status ffn_fn(conf_plugin *p, dev_tensor *in, dev_tensor *out, const void *arg) {
    return p->be->ffn_act(p->ctx, &in[0].t, &in[1].t, *(const int32_t *)arg, &out->t);
}

static bn_status add_fn(conf_plugin *p, dev_tensor *in, dev_tensor *out, const void *arg) {
    (void)arg;
    return p->be->add(p->ctx, &in[0].t, &in[1].t, &out->t);
}

static void binary_cases(int pi, int op) {
    static const int64_t ns[] = {1, 7, 6912};
    conf_plugin *p = &conf_plugins[pi];
    for (size_t i = 0; i < 3; i++)
        for (int variant = 0; variant < 4; variant++) {
            int64_t n = ns[i], T = variant == 3 ? 8 : 2, pad = variant == 2 ? 3 : 0;
            int32_t act = variant == 1 ? BN_ACT_SILU : BN_ACT_RELU2;
            int alias = op == BN_OP_ADD && variant == 1;
            conf_case c;
            cc_init(&c, pi, op, "n=%lld T=%lld%s%s%s", (long long)n, (long long)T,
                    op == BN_OP_FFN_ACT ? (act == BN_ACT_SILU ? " silu" : " relu2") : "", pad ? " strided" : "",
                    alias ? " in-place" : "");
            if (!cc_has(&c, op == BN_OP_ADD ? (const void *)p->be->add : (const void *)p->be->ffn_act,
                        conf_op_name(op)))
                continue;
            conf_rng r;
            rng_seed(&r, 5 * i + (uint64_t)variant + (uint64_t)op);
            size_t m = (size_t)(n * T);
            float *a = xmalloc(m * 4), *b = xmalloc(m * 4), *exp = xmalloc(m * 4), *mag = xmalloc(m * 4);
            rng_fill(&r, a, (int64_t)m, 8.0f);
            rng_fill(&r, b, (int64_t)m, 3.0f);
            for (size_t k = 0; k < m; k++) {
                exp[k] = op == BN_OP_ADD ? a[k] + b[k] : or_ffn_act(a[k], b[k], act);
                mag[k] = op == BN_OP_ADD ? fabsf(a[k]) + fabsf(b[k]) : fabsf(exp[k]);
            }
            float *in[2] = {a, b};
            double tol = op == BN_OP_FFN_ACT && act == BN_ACT_SILU ? 2e-6 : 1e-6;
            check_rows(&c, 2, in, n, T, pad, alias, op == BN_OP_ADD ? add_fn : ffn_fn, &act, exp, mag, tol, 1e-30);
            free(a);
            free(b);
            free(exp);
            free(mag);
        }
}

void conf_test_ffn_act(int pi) { binary_cases(pi, BN_OP_FFN_ACT); }
void conf_test_add(int pi) { binary_cases(pi, BN_OP_ADD); }
