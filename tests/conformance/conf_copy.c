/*
 * copy with type conversion between F32, F16 and BF16: bit-exact, with
 * float -> 16 bit rounding to nearest even (ties, f16 subnormals,
 * overflow to infinity and signed zero are in the data). The reference
 * must do F32 -> F32/F16/BF16 and F16/BF16 -> F32; other pairs are checked
 * where a plugin accepts them. F32 -> Q8_0 and Q8_0 -> Q8_0 (the 8-bit KV
 * cache) against ggml's reference rule, byte for byte.
 */
#include "conf_tests.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const float specials[] = {
    1.0f + 0x1p-11f, 1.0f + 3 * 0x1p-11f, 1.0f + 0x1p-8f, 1.0f + 3 * 0x1p-8f, 65504.0f, 65519.0f,
    65520.0f,        1e5f,                -0.0f,          6e-8f,              3e-5f,    1e-40f,
    0.333333343f,    -2.5e-3f,            -1.0f - 0x1p-11f, 2.0f - 0x1p-12f};

static void to_type(int32_t type, const float *f, size_t n, void *out) {
    for (size_t i = 0; i < n; i++) {
        if (type == BN_TYPE_F32)
            ((float *)out)[i] = f[i];
        else
            ((uint16_t *)out)[i] = type == BN_TYPE_F16 ? or_f32_to_f16(f[i]) : or_f32_to_bf16(f[i]);
    }
}

static void to_f32(int32_t type, const void *in, size_t n, float *f) {
    for (size_t i = 0; i < n; i++)
        f[i] = type == BN_TYPE_F32   ? ((const float *)in)[i]
               : type == BN_TYPE_F16 ? or_f16_to_f32(((const uint16_t *)in)[i])
                                     : or_bf16_to_f32(((const uint16_t *)in)[i]);
}

static void copy_case(int pi, int32_t st, int32_t dtp, int64_t n, int64_t T, int64_t pad) {
    conf_plugin *p = &conf_plugins[pi];
    conf_case c;
    cc_init(&c, pi, BN_OP_COPY, "%s->%s n=%lld T=%lld%s", bn_type_name(st), bn_type_name(dtp), (long long)n,
            (long long)T, pad ? " strided" : "");
    if (!cc_has(&c, p->be->copy, "copy"))
        return;
    int required = st == BN_TYPE_F32 || dtp == BN_TYPE_F32;
    size_t m = (size_t)(n * T);
    float *f = xmalloc(m * 4), *mid = xmalloc(m * 4), *expf32 = xmalloc(m * 4);
    void *src = xmalloc(m * 4), *exp = xmalloc(m * 4), *got = xmalloc(m * 4);
    conf_rng r;
    rng_seed(&r, (uint64_t)(st * 64 + dtp) + (uint64_t)n);
    for (size_t i = 0; i < m; i++)
        f[i] = i < sizeof specials / sizeof specials[0] ? specials[i] : rng_f(&r) * ldexpf(1.0f, (int)(i % 40) - 20);
    to_type(st, f, m, src);
    to_f32(st, src, m, mid); /* the value the source holds */
    to_type(dtp, mid, m, exp);
    dev_tensor ds, dd;
    memset(&dd, 0, sizeof dd);
    if (dt_new(&c, p, &ds, st, n, T, 1, pad) && dt_put(&c, p, &ds, src) && dt_new(&c, p, &dd, dtp, n, T, 1, 0)) {
        bn_status s = p->be->copy(p->ctx, &ds.t, &dd.t);
        if (s == BN_ERR_UNSUPPORTED && !(required && p->is_reference)) {
            cc_skip(&c);
        } else if (cc_ok(&c, p, s, "copy") && dt_get(&c, p, &dd, got)) {
            if (dtp == BN_TYPE_F32) {
                to_f32(dtp, exp, m, expf32);
                cc_cmp_f32(&c, "values (bit-exact)", got, expf32, NULL, (int64_t)m, 0.0, 1e-30, 0);
            } else {
                cc_cmp_u16(&c, "16-bit patterns (round to nearest even)", got, exp, (int64_t)m);
            }
        }
    }
    dt_del(p, &ds);
    dt_del(p, &dd);
    free(f);
    free(mid);
    free(expf32);
    free(src);
    free(exp);
    free(got);
}

/* F32 -> Q8_0 (the 8-bit KV cache store): the bytes of ggml's reference
 * rule, block scale and every q; a plugin that says no is skipped, the
 * reference must do it. */
static void copy_q8_case(int pi, int64_t n, int64_t T, int64_t pad) {
    conf_plugin *p = &conf_plugins[pi];
    conf_case c;
    cc_init(&c, pi, BN_OP_COPY, "F32->Q8_0 n=%lld T=%lld%s", (long long)n, (long long)T, pad ? " strided" : "");
    if (!cc_has(&c, p->be->copy, "copy"))
        return;
    bn_op_desc want = {.op = BN_OP_COPY, .wtype = -1, .xtype = BN_TYPE_F32, .ytype = BN_TYPE_Q8_0, .kernel = 0};
    if (p->be->supports && !p->be->supports(p->ctx, &want)) {
        if (p->is_reference)
            cc_fail(&c, "the reference plugin must copy F32 -> Q8_0");
        else
            cc_skip(&c);
        return;
    }
    size_t m = (size_t)(n * T), qb = (size_t)(n / 32 * 34 * T);
    float *f = xmalloc(m * 4);
    uint8_t *exp = xmalloc(qb), *got = xmalloc(qb);
    conf_rng r;
    rng_seed(&r, 777 + (uint64_t)n);
    for (size_t i = 0; i < m; i++) /* blocks of very different magnitudes, one all zero, exact halves */
        f[i] = i / 32 == 1 ? 0.0f : i < 32 ? (float)((int)i - 16) * 0.5f : rng_f(&r) * ldexpf(1.0f, (int)(i / 32 % 30) - 15);
    for (int64_t t = 0; t < T; t++)
        or_encode_q8_0_row(f + t * n, n, exp + t * (n / 32 * 34), NULL);
    dev_tensor ds, dd;
    memset(&dd, 0, sizeof dd);
    if (dt_new(&c, p, &ds, BN_TYPE_F32, n, T, 1, pad) && dt_put(&c, p, &ds, f) &&
        dt_new(&c, p, &dd, BN_TYPE_Q8_0, n, T, 1, 0) && cc_ok(&c, p, p->be->copy(p->ctx, &ds.t, &dd.t), "copy") &&
        dt_get(&c, p, &dd, got)) {
        cc_cmp_u16(&c, "Q8_0 bytes in pairs (ggml's rule: scale and every q)", (const uint16_t *)got,
                   (const uint16_t *)exp, (int64_t)(qb / 2));
        /* Q8_0 -> Q8_0 (a KV page copied on write) keeps every byte */
        dev_tensor d2;
        memset(got, 0, qb);
        if (dt_new(&c, p, &d2, BN_TYPE_Q8_0, n, T, 1, 0) &&
            cc_ok(&c, p, p->be->copy(p->ctx, &dd.t, &d2.t), "copy Q8_0 -> Q8_0") && dt_get(&c, p, &d2, got))
            cc_cmp_u16(&c, "Q8_0 -> Q8_0 bytes in pairs", (const uint16_t *)got, (const uint16_t *)exp,
                       (int64_t)(qb / 2));
        dt_del(p, &d2);
    }
    dt_del(p, &ds);
    dt_del(p, &dd);
    free(f);
    free(exp);
    free(got);
}

void conf_test_copy(int pi) {
    static const int32_t types[] = {BN_TYPE_F32, BN_TYPE_F16, BN_TYPE_BF16};
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) {
            copy_case(pi, types[a], types[b], 67, 3, 0);
            copy_case(pi, types[a], types[b], 2560, 1, 0);
            copy_case(pi, types[a], types[b], 33, 4, 5);
        }
    copy_q8_case(pi, 128, 3, 0);
    copy_q8_case(pi, 2560, 1, 0);
    copy_q8_case(pi, 64, 5, 32);
}
