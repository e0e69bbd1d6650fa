/*
 * Per-head ops: rope and causal GQA attention.
 *
 * Tolerances: rope 1e-5 relative to the magnitude of each rotated pair
 * (theta in double; see conf_ops.c). Attention: ATTN_TOL relative to
 * M = sum_i p_i |v_i| per output element, against a float64 oracle (F16
 * caches are judged on the same decoded f16 values, so the cache adds no
 * error). Derivation: a score s = scale q.k summed in float32 over head_dim
 * d carries ~u sqrt(d) |q||k| scale; exp turns an error e in s into a
 * relative error e in p (the row max cancels), the vector exp polynomials
 * add ~2u, normalisation and the sum over n_kv positions of p v another
 * ~u sqrt(n_kv) M. With the test's q, k of order 1 and d <= 128 that is a
 * few u = 2^-24 = 6e-8 of M; measured worst 2.3e-7 (cpu-avx2; the
 * reference matches the oracle), so ATTN_TOL = 2.5e-6 is ~10x that.
 * Against the reference plugin: twice these. Cache positions no query may
 * see hold large values, so reading them shows up.
 */
#include "conf_tests.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops_oracle.h"



/* ---- rope ----------------------------------------------------------------- */

typedef struct rope_case {
    int32_t hd, nh, T, n_dims, style;
    float base, fscale;
    int32_t pos0, pos_step;
    int pad;
} rope_case;

static int rope_run(conf_case *c, conf_plugin *p, const rope_case *rc, const float *x, const int32_t *pos, float *out) {
    dev_tensor dx, dp;
    int ok = 0;
    memset(&dp, 0, sizeof dp);
    bn_rope_args a = {.n_dims = rc->n_dims, .style = rc->style, .freq_base = rc->base, .freq_scale = rc->fscale};
    if (dt_new(c, p, &dx, BN_TYPE_F32, rc->hd, rc->nh, rc->T, rc->pad) && dt_put(c, p, &dx, x) &&
        dt_new(c, p, &dp, BN_TYPE_I32, rc->T, 1, 1, 0) && dt_put(c, p, &dp, pos) &&
        cc_ok(c, p, p->be->rope(p->ctx, &dx.t, &dp.t, &a), "rope"))
        ok = dt_get(c, p, &dx, out);
    dt_del(p, &dx);
    dt_del(p, &dp);
    return ok;
}

void conf_test_rope(int pi) {
    static const rope_case cases[] = {
        {128, 4, 3, 128, BN_ROPE_NEOX, 500000.0f, 1.0f, 0, 4095 / 2, 0},
        {64, 2, 8, 64, BN_ROPE_NORM, 10000.0f, 1.0f, 3, 1, 0},
        {128, 3, 2, 64, BN_ROPE_NORM, 10000.0f, 0.5f, 37, 963, 0},
        {128, 3, 2, 64, BN_ROPE_NEOX, 10000.0f, 0.5f, 37, 963, 2},
        {8, 1, 1, 8, BN_ROPE_NEOX, 10000.0f, 1.0f, 4095, 0, 0},
        {128, 20, 1, 128, BN_ROPE_NEOX, 500000.0f, 1.0f, 1234, 0, 0},
    };
    conf_plugin *p = &conf_plugins[pi];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const rope_case *rc = &cases[i];
        conf_case c;
        cc_init(&c, pi, BN_OP_ROPE, "%s head_dim=%d n_dims=%d heads=%d T=%d base=%g scale=%g%s",
                rc->style == BN_ROPE_NEOX ? "NEOX" : "NORM", rc->hd, rc->n_dims, rc->nh, rc->T, (double)rc->base,
                (double)rc->fscale, rc->pad ? " strided" : "");
        if (!cc_has(&c, p->be->rope, "rope"))
            continue;
        size_t m = (size_t)rc->hd * (size_t)rc->nh * (size_t)rc->T;
        float *x = xmalloc(m * 4), *exp = xmalloc(m * 4), *mag = xmalloc(m * 4), *got = xmalloc(m * 4);
        int32_t *pos = xmalloc(sizeof(int32_t) * (size_t)rc->T);
        conf_rng r;
        rng_seed(&r, 1000 + i);
        rng_fill(&r, x, (int64_t)m, 2.0f);
        memcpy(exp, x, m * 4);
        for (int32_t t = 0; t < rc->T; t++)
            pos[t] = rc->pos0 + t * rc->pos_step;
        for (size_t h = 0; h < m / (size_t)rc->hd; h++) {
            float *v = x + h * (size_t)rc->hd;
            int32_t half = rc->n_dims / 2;
            for (int32_t d = 0; d < rc->hd; d++) {
                int32_t a = d, b = d;
                if (d < rc->n_dims) {
                    int32_t i2 = rc->style == BN_ROPE_NEOX ? d % half : d / 2;
                    a = rc->style == BN_ROPE_NEOX ? i2 : 2 * i2;
                    b = rc->style == BN_ROPE_NEOX ? i2 + half : 2 * i2 + 1;
                }
                mag[h * (size_t)rc->hd + (size_t)d] = sqrtf(v[a] * v[a] + v[b] * v[b]);
            }
            or_rope_head(exp + h * (size_t)rc->hd, rc->n_dims, rc->style, rc->base, rc->fscale,
                         pos[h / (size_t)rc->nh]);
        }
        if (rope_run(&c, p, rc, x, pos, got)) {
            cc_cmp_f32(&c, "values", got, exp, mag, (int64_t)m, 1e-5, 1e-30, 0);
            if (!p->is_reference && rope_run(&c, conf_ref, rc, x, pos, exp))
                cc_cmp_f32(&c, "values", got, exp, mag, (int64_t)m, 2e-5, 1e-30, 1);
        }
        free(x);
        free(exp);
        free(mag);
        free(got);
        free(pos);
    }
}

/* ---- attention --------------------------------------------------------------- */

typedef struct attn_case {
    int32_t nh, nkv, hd, T, pos0;
    int32_t kv_type;
} attn_case;

static int attn_run(conf_case *c, conf_plugin *p, const attn_case *ac, int64_t n_ctx, const float *q, const void *k,
                    const void *v, float *out) {
    dev_tensor dq, dk, dv, dout;
    int ok = 0;
    memset(&dk, 0, sizeof dk);
    memset(&dv, 0, sizeof dv);
    memset(&dout, 0, sizeof dout);
    bn_attn_args a = {.n_head = ac->nh, .n_head_kv = ac->nkv, .head_dim = ac->hd, .n_tokens = ac->T,
                      .pos0 = ac->pos0, .scale = 1.0f / sqrtf((float)ac->hd)};
    if (dt_new(c, p, &dq, BN_TYPE_F32, ac->hd, ac->nh, ac->T, 0) && dt_put(c, p, &dq, q) &&
        dt_new(c, p, &dk, ac->kv_type, ac->hd, n_ctx, ac->nkv, 0) && dt_put(c, p, &dk, k) &&
        dt_new(c, p, &dv, ac->kv_type, ac->hd, n_ctx, ac->nkv, 0) && dt_put(c, p, &dv, v) &&
        dt_new(c, p, &dout, BN_TYPE_F32, ac->hd, ac->nh, ac->T, 0) &&
        cc_ok(c, p, p->be->attention(p->ctx, &dq.t, &dk.t, &dv.t, &a, &dout.t), "attention"))
        ok = dt_get(c, p, &dout, out);
    dt_del(p, &dq);
    dt_del(p, &dk);
    dt_del(p, &dv);
    dt_del(p, &dout);
    return ok;
}

/* Cache [hd, n_ctx, nkv] in kv_type from random values; f32 view of what
 * was stored goes to `dec`. Positions >= visible are poisoned. */
static void *make_cache(conf_rng *r, int32_t type, int32_t hd, int64_t n_ctx, int32_t nkv, int64_t visible,
                        float poison, float *dec) {
    size_t m = (size_t)hd * (size_t)n_ctx * (size_t)nkv;
    void *buf = xmalloc(m * 4);
    for (size_t i = 0; i < m; i++) {
        int64_t posi = (int64_t)(i / (size_t)hd) % n_ctx;
        float f = posi >= visible ? poison : rng_f(r);
        if (type == BN_TYPE_Q8_0) { /* encoded row by row below */
            dec[i] = f;
        } else if (type == BN_TYPE_F16) {
            uint16_t h = or_f32_to_f16(f);
            ((uint16_t *)buf)[i] = h;
            dec[i] = or_f16_to_f32(h);
        } else {
            ((float *)buf)[i] = f;
            dec[i] = f;
        }
    }
    if (type == BN_TYPE_Q8_0)
        for (size_t row = 0; row < m / (size_t)hd; row++)
            or_encode_q8_0_row(dec + row * (size_t)hd, hd, (uint8_t *)buf + row * (size_t)hd / 32 * 34,
                               dec + row * (size_t)hd);
    return buf;
}

void conf_test_attention(int pi) {
    static const attn_case cases[] = {
        {4, 2, 8, 1, 0, BN_TYPE_F32},    {4, 1, 16, 3, 5, BN_TYPE_F16},   {20, 5, 128, 1, 37, BN_TYPE_F32},
        {20, 5, 128, 1, 37, BN_TYPE_F16}, {20, 5, 128, 8, 0, BN_TYPE_F32}, {8, 8, 64, 3, 100, BN_TYPE_F16},
        /* odd and wide GQA groups, head_dim tails, key counts off multiples of 4 */
        {6, 2, 80, 5, 7, BN_TYPE_F16},    {16, 2, 256, 2, 9, BN_TYPE_F32}, {32, 4, 96, 1, 200, BN_TYPE_F16},
        {4, 2, 36, 3, 11, BN_TYPE_F16},   {3, 1, 20, 2, 5, BN_TYPE_F32},
        /* the 8-bit cache (--kv-type q8_0): judged on the values it decodes to */
        {20, 5, 128, 1, 37, BN_TYPE_Q8_0}, {8, 8, 64, 3, 100, BN_TYPE_Q8_0}, {32, 4, 96, 2, 200, BN_TYPE_Q8_0},
    };
    conf_plugin *p = &conf_plugins[pi];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const attn_case *ac = &cases[i];
        conf_case c;
        cc_init(&c, pi, BN_OP_ATTENTION, "heads=%d/%d head_dim=%d T=%d pos0=%d cache=%s", ac->nh, ac->nkv, ac->hd,
                ac->T, ac->pos0, bn_type_name(ac->kv_type));
        if (!cc_has(&c, p->be->attention, "attention") || !conf_kv_supported(&c, p, ac->kv_type))
            continue;
        int64_t visible = ac->pos0 + ac->T, n_ctx = visible + 3;
        size_t mq = (size_t)ac->hd * (size_t)ac->nh * (size_t)ac->T;
        size_t mc = (size_t)ac->hd * (size_t)n_ctx * (size_t)ac->nkv;
        float *q = xmalloc(mq * 4), *exp = xmalloc(mq * 4), *mag = xmalloc(mq * 4), *got = xmalloc(mq * 4);
        float *kd = xmalloc(mc * 4), *vd = xmalloc(mc * 4);
        conf_rng r;
        rng_seed(&r, 2000 + i);
        rng_fill(&r, q, (int64_t)mq, 2.0f);
        void *k = make_cache(&r, ac->kv_type, ac->hd, n_ctx, ac->nkv, visible, 30.0f, kd);
        void *v = make_cache(&r, ac->kv_type, ac->hd, n_ctx, ac->nkv, visible, 1000.0f, vd);
        int32_t group = ac->nh / ac->nkv;
        for (int32_t t = 0; t < ac->T; t++)
            for (int32_t h = 0; h < ac->nh; h++) {
                size_t o = ((size_t)t * (size_t)ac->nh + (size_t)h) * (size_t)ac->hd;
                size_t kvo = (size_t)(h / group) * (size_t)n_ctx * (size_t)ac->hd;
                or_attention_head(q + o, kd + kvo, vd + kvo, ac->hd, ac->hd, ac->pos0 + t + 1,
                                  1.0f / sqrtf((float)ac->hd), exp + o, mag + o);
            }
        if (attn_run(&c, p, ac, n_ctx, q, k, v, got)) {
            cc_cmp_f32(&c, "values", got, exp, mag, (int64_t)mq, ATTN_TOL, 1e-30, 0);
            if (!p->is_reference && attn_run(&c, conf_ref, ac, n_ctx, q, k, v, exp))
                cc_cmp_f32(&c, "values", got, exp, mag, (int64_t)mq, 2 * ATTN_TOL, 1e-30, 1);
        }
        free(q);
        free(exp);
        free(mag);
        free(got);
        free(kd);
        free(vd);
        free(k);
        free(v);
    }
}
