/*
 * Weight-side conformance: dequantize, get_rows, the encoders and the
 * refusals of weight_prepare.
 *
 * Tolerances: dequantize / get_rows values within 1e-6 relative of the
 * oracle (they are code * block scale * tensor scale: at most two float
 * roundings); encoders byte-for-byte equal to the oracle encoders for
 * I2_S / TQ1_0 / TQ2_0; encode -> weight_prepare -> dequantize reproduces
 * t * gamma (I2_S: float32 gamma, TQ: fp16(gamma)) within 1e-6; Q8_0 encode
 * round trip within 0.6 d per element (d = the stored block scale).
 */
#include "conf_tests.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const int32_t all_types[] = {BN_TYPE_I2_S, BN_TYPE_TQ1_0, BN_TYPE_TQ2_0, BN_TYPE_Q8_0,
                                    BN_TYPE_F16,  BN_TYPE_BF16,  BN_TYPE_F32};

static const conf_shape deq_shapes[] = {
    {1, 256, 0, 0, 0, 1.0f},  {3, 256, 0, 0, 0, 1.0f},    {4, 96, 0, 0, 0, 1.0f},
    {4, 160, 0, 0, 0, 1.0f},  {2, 32, 0, 0, 0, 1.0f},     {17, 768, 0, 1, 1, 0.75f},
    {9, 512, 0, 0, 0, 2.0f},  {2560, 2560, 0, 0, 0, 1.0f}, {6912, 2560, 0, 0, 0, 1.0f},
};

/* Dequantize rows [row0, row0 + nr) on p into out (F32). */
static int deq_run(conf_case *c, conf_plugin *p, const bn_weight *w, int64_t cols, int64_t row0, int64_t nr,
                   int64_t pad, float *out) {
    dev_tensor d;
    int ok = 0;
    if (!dt_new(c, p, &d, BN_TYPE_F32, cols, nr, 1, pad))
        return 0;
    if (cc_ok(c, p, p->be->dequantize(p->ctx, w, row0, &d.t), "dequantize"))
        ok = dt_get(c, p, &d, out);
    dt_del(p, &d);
    return ok;
}

static void deq_case(int pi, const wfix *f) {
    conf_plugin *p = &conf_plugins[pi];
    conf_case c;
    cc_init(&c, pi, BN_OP_DEQUANTIZE, "fmt=%s shape=%lldx%lld%s", bn_type_name(f->type), (long long)f->rows,
            (long long)f->cols, wfix_block_scales(f) ? " block-scales" : "");
    if (!cc_has(&c, p->be->dequantize, "dequantize"))
        return;
    bn_weight *w = wfix_prepare(&c, p, f, BN_KERNEL_AUTO);
    bn_weight *wr = !p->is_reference && w ? wfix_prepare(&c, conf_ref, f, BN_KERNEL_AUTO) : NULL;
    if (!w)
        return;
    /* whole matrix when small; else head and tail; and a range starting at
     * row 1 (I2_S blocks may start mid-row) */
    int64_t ranges[3][2] = {{0, f->rows}, {f->rows > 1 ? 1 : 0, f->rows > 4 ? 3 : f->rows - (f->rows > 1)},
                            {f->rows > 5 ? f->rows - 5 : 0, f->rows > 5 ? 5 : 0}};
    if (f->rows * f->cols > (1 << 23))
        ranges[0][1] = 4;
    for (int ri = 0; ri < 3; ri++) {
        int64_t row0 = ranges[ri][0], nr = ranges[ri][1];
        if (nr <= 0)
            continue;
        size_t n = (size_t)(nr * f->cols);
        float *got = xmalloc(n * sizeof(float)), *exp = xmalloc(n * sizeof(float));
        char what[64];
        snprintf(what, sizeof what, "rows [%lld, %lld)", (long long)row0, (long long)(row0 + nr));
        or_decode_rows(f->type, f->data, f->rows, f->cols, row0, nr, f->scale, exp);
        if (deq_run(&c, p, w, f->cols, row0, nr, ri == 1 ? 3 : 0, got)) {
            cc_cmp_f32(&c, what, got, exp, NULL, (int64_t)n, 1e-6, 1e-30, 0);
            if (wr && deq_run(&c, conf_ref, wr, f->cols, row0, nr, 0, exp))
                cc_cmp_f32(&c, what, got, exp, NULL, (int64_t)n, 2e-6, 1e-30, 1);
        }
        free(got);
        free(exp);
    }
    p->be->weight_free(p->ctx, w);
    if (wr)
        conf_ref->be->weight_free(conf_ref->ctx, wr);
}

void conf_test_dequantize(int pi) {
    for (size_t ti = 0; ti < sizeof all_types / sizeof all_types[0]; ti++)
        for (size_t si = 0; si < sizeof deq_shapes / sizeof deq_shapes[0]; si++) {
            const conf_shape *s = &deq_shapes[si];
            wfix f;
            int big = s->rows * s->cols > (1 << 23);
            if (conf_quick_skip(s->rows, s->cols, 0))
                continue;
            if ((!big || bn_type_is_ternary(all_types[ti])) &&
                wfix_make(&f, all_types[ti], s->rows, s->cols, 500 + si * 11 + ti, s->mode, s->scale))
                deq_case(pi, &f);
            wfix_free(&f);
        }
}

/* ---- get_rows ------------------------------------------------------------- */

static int rows_run(conf_case *c, conf_plugin *p, const bn_weight *w, const int32_t *ids, int64_t n_ids,
                    int64_t cols, float *out) {
    dev_tensor di, d;
    int ok = 0;
    memset(&d, 0, sizeof d);
    if (!dt_new(c, p, &di, BN_TYPE_I32, n_ids, 1, 1, 0))
        return 0;
    if (dt_put(c, p, &di, ids) && dt_new(c, p, &d, BN_TYPE_F32, cols, n_ids, 1, 0) &&
        cc_ok(c, p, p->be->get_rows(p->ctx, w, &di.t, &d.t), "get_rows"))
        ok = dt_get(c, p, &d, out);
    dt_del(p, &di);
    dt_del(p, &d);
    return ok;
}

void conf_test_get_rows(int pi) {
    static const conf_shape shapes[] = {
        {1, 256, 0, 0, 0, 1.0f}, {4, 96, 0, 0, 0, 1.0f}, {7, 512, 0, 0, 1, 1.0f}, {1000, 2560, 0, 0, 0, 0.5f}};
    conf_plugin *p = &conf_plugins[pi];
    for (size_t ti = 0; ti < sizeof all_types / sizeof all_types[0]; ti++)
        for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
            wfix f;
            conf_case c;
            if (!wfix_make(&f, all_types[ti], shapes[si].rows, shapes[si].cols, 40 + si * 3 + ti, shapes[si].mode,
                           shapes[si].scale)) {
                wfix_free(&f);
                continue;
            }
            cc_init(&c, pi, BN_OP_GET_ROWS, "fmt=%s shape=%lldx%lld", bn_type_name(f.type), (long long)f.rows,
                    (long long)f.cols);
            bn_weight *w = cc_has(&c, p->be->get_rows, "get_rows") ? wfix_prepare(&c, p, &f, BN_KERNEL_AUTO) : NULL;
            if (w) {
                int32_t n = (int32_t)f.rows;
                int32_t ids[6] = {n - 1, 0, n / 2, 0, 1 % n, n - 1};
                size_t ne = (size_t)(6 * f.cols);
                float *got = xmalloc(ne * sizeof(float)), *exp = xmalloc(ne * sizeof(float));
                for (int i = 0; i < 6; i++)
                    or_decode_rows(f.type, f.data, f.rows, f.cols, ids[i], 1, f.scale, exp + i * f.cols);
                if (rows_run(&c, p, w, ids, 6, f.cols, got))
                    cc_cmp_f32(&c, "rows", got, exp, NULL, (int64_t)ne, 1e-6, 1e-30, 0);
                p->be->weight_free(p->ctx, w);
                free(got);
                free(exp);
            }
            wfix_free(&f);
        }
}

/* ---- encoders --------------------------------------------------------------- */

static void enc_roundtrip(conf_case *c, conf_plugin *p, const wfix *f, const float *W) {
    /* expected values: t * gamma from the oracle ternarisation */
    int64_t n = f->rows * f->cols, nr = f->rows < 4 ? f->rows : 4;
    int8_t *t = xmalloc((size_t)n);
    float gamma = or_absmean_ternarize(W, n, t);
    if (f->type != BN_TYPE_I2_S)
        gamma = or_f16_to_f32(or_f32_to_f16(gamma));
    bn_weight *w = p->be->dequantize ? wfix_prepare(c, p, f, BN_KERNEL_AUTO) : NULL;
    if (w) {
        int64_t row0s[2] = {0, f->rows - nr};
        for (int k = 0; k < 2; k++) {
            size_t m = (size_t)(nr * f->cols);
            float *got = xmalloc(m * sizeof(float)), *exp = xmalloc(m * sizeof(float));
            for (size_t i = 0; i < m; i++)
                exp[i] = (float)t[(size_t)(row0s[k] * f->cols) + i] * gamma;
            if (deq_run(c, p, w, f->cols, row0s[k], nr, 0, got))
                cc_cmp_f32(c, "round trip encode->dequantize = t*gamma", got, exp, NULL, (int64_t)m, 1e-6, 1e-30, 0);
            free(got);
            free(exp);
        }
        p->be->weight_free(p->ctx, w);
    }
    free(t);
}

static void enc_case(int pi, int32_t type, int64_t rows, int64_t cols, uint64_t seed, float amp) {
    conf_plugin *p = &conf_plugins[pi];
    conf_case c;
    cc_init(&c, pi, BN_OP_ENCODE, "fmt=%s shape=%lldx%lld%s", bn_type_name(type), (long long)rows, (long long)cols,
            amp == 0.0f ? " zeros" : "");
    size_t size = or_storage_size(type, rows, cols), written = 0;
    if (!size || !cc_has(&c, p->be->encode, "encode"))
        return;
    int64_t n = rows * cols;
    float *W = xmalloc(sizeof(float) * (size_t)n);
    conf_rng r;
    rng_seed(&r, seed);
    rng_fill(&r, W, n, amp);
    wfix f = {.type = type, .rows = rows, .cols = cols, .size = size, .scale = 1.0f, .uniform_d = 1};
    f.data = xmalloc(size + 16);
    if (cc_ok(&c, p, p->be->encode(p->ctx, type, W, rows, cols, f.data, size, &written), "encode")) {
        if (written != size)
            cc_fail(&c, "encode wrote %zu bytes, expected %zu", written, size);
        if (type == BN_TYPE_Q8_0) {
            float *dec = xmalloc(sizeof(float) * (size_t)n), *mag = xmalloc(sizeof(float) * (size_t)n);
            or_decode_rows(type, f.data, rows, cols, 0, rows, 1.0f, dec);
            for (int64_t i = 0; i < n; i++) { /* 0.6 d per element, d = stored block scale */
                const uint8_t *blk = f.data + (i / 32) * 34;
                mag[i] = 0.6f * or_f16_to_f32((uint16_t)(blk[0] | (blk[1] << 8))) + 1e-30f;
            }
            cc_cmp_f32(&c, "Q8_0 round trip", dec, W, mag, n, 1.0, 1e-30, 0);
            free(dec);
            free(mag);
        } else {
            uint8_t *mine = xmalloc(size);
            or_encode(type, W, rows, cols, mine);
            cc_cmp_bytes(&c, "encoded bytes vs oracle encoder", f.data, mine, size);
            free(mine);
            enc_roundtrip(&c, p, &f, W);
        }
    }
    /* a destination one byte short must be refused, not overrun */
    if (p->be->encode(p->ctx, type, W, rows, cols, f.data, size - 1, &written) == BN_OK)
        cc_fail(&c, "encode accepted dst_size %zu < %zu", size - 1, size);
    free(f.data);
    free(W);
}

void conf_test_encode(int pi) {
    static const int64_t shapes[][2] = {{1, 256}, {3, 256}, {4, 96}, {4, 160}, {17, 768},
                                        {2560, 2560}, {640, 2560}, {6912, 2560}, {2560, 6912}};
    static const int32_t types[] = {BN_TYPE_I2_S, BN_TYPE_TQ1_0, BN_TYPE_TQ2_0, BN_TYPE_Q8_0};
    for (size_t ti = 0; ti < 4; ti++) {
        for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++)
            if ((types[ti] != BN_TYPE_Q8_0 || shapes[si][0] * shapes[si][1] <= (1 << 22)) &&
                !conf_quick_skip(shapes[si][0], shapes[si][1], 0))
                enc_case(pi, types[ti], shapes[si][0], shapes[si][1], 77 + si + 13 * ti, 0.01f + 0.3f * (float)si);
        enc_case(pi, types[ti], 1, 256, 5, 0.0f);
    }
}

/* ---- refusals -------------------------------------------------------------- */

static void refuse(int pi, int32_t type, int64_t rows, int64_t cols, size_t size, const char *why) {
    conf_plugin *p = &conf_plugins[pi];
    conf_case c;
    cc_init(&c, pi, BN_OP_MATMUL, "fmt=%s shape=%lldx%lld refusal", bn_type_name(type), (long long)rows,
            (long long)cols);
    uint8_t *data = xmalloc(size + 1);
    memset(data, 0x55, size + 1);
    bn_weight_src src = {.name = "conformance.bad", .type = type, .kernel = BN_KERNEL_AUTO, .n_rows = rows,
                         .n_cols = cols, .data = data, .size = size, .scale = 1.0f};
    bn_weight *w = NULL;
    bn_status st = p->be->weight_prepare(p->ctx, &src, &w);
    if (st == BN_OK) {
        cc_fail(&c, "weight_prepare accepted %s (size %zu)", why, size);
        if (w)
            p->be->weight_free(p->ctx, w);
    } else {
        const char *(*le)(bn_backend_ctx *) = BN_BACKEND_SLOT(p->be, last_error);
        const char *msg = le ? le(p->ctx) : NULL;
        if (!msg || !msg[0])
            cc_fail(&c, "weight_prepare refused %s but last_error is empty", why);
    }
    free(data);
}

/* matmul with x or y whose shape does not match the weight must be refused */
static void refuse_matmul_shapes(int pi) {
    conf_plugin *p = &conf_plugins[pi];
    conf_case c;
    wfix f;
    cc_init(&c, pi, BN_OP_MATMUL, "fmt=I2_S shape=4x256 shape-mismatch refusal");
    if (!wfix_make(&f, BN_TYPE_I2_S, 4, 256, 3, WFIX_RANDOM, 1.0f))
        return;
    bn_weight *w = wfix_prepare(&c, p, &f, BN_KERNEL_AUTO);
    static const int64_t bad[3][2] = {{255, 4}, {256, 3}, {512, 4}}; /* x ne0, y ne0 */
    for (int i = 0; w && i < 3; i++) {
        dev_tensor x, y;
        memset(&y, 0, sizeof y);
        if (dt_new(&c, p, &x, BN_TYPE_F32, bad[i][0], 2, 1, 0) && dt_new(&c, p, &y, BN_TYPE_F32, bad[i][1], 2, 1, 0)) {
            float *zeros = xmalloc(sizeof(float) * 2 * 512);
            dt_put(&c, p, &x, zeros);
            free(zeros);
            if (p->be->matmul(p->ctx, w, &x.t, NULL, &y.t) == BN_OK)
                cc_fail(&c, "matmul accepted x of %lld columns and y of %lld rows for a 4x256 weight",
                        (long long)bad[i][0], (long long)bad[i][1]);
        }
        dt_del(p, &x);
        dt_del(p, &y);
    }
    if (w)
        p->be->weight_free(p->ctx, w);
    wfix_free(&f);
}

void conf_test_refusals(int pi) {
    refuse_matmul_shapes(pi);
    refuse(pi, BN_TYPE_TL1, 4, 256, 4 * 256 / 4 + 32, "a TL1 (38) file tensor");
    refuse(pi, BN_TYPE_TL2, 4, 256, 4 * 256 / 4 + 32, "a TL2 (39) file tensor");
    for (size_t ti = 0; ti < sizeof all_types / sizeof all_types[0]; ti++) {
        size_t size = or_storage_size(all_types[ti], 4, 256);
        refuse(pi, all_types[ti], 4, 256, size - 1, "a size one byte short");
        refuse(pi, all_types[ti], 4, 256, size + 1, "a size one byte long");
        refuse(pi, all_types[ti], 4, 256, 0, "size 0");
    }
    refuse(pi, BN_TYPE_I2_S, 3, 100, 3 * 100 / 4 + 32, "an I2_S tensor of 300 elements (not a multiple of 128)");
    refuse(pi, BN_TYPE_TQ2_0, 2, 128, 66, "TQ2_0 rows of 128 (not a multiple of 256)");
    refuse(pi, BN_TYPE_TQ1_0, 2, 128, 54, "TQ1_0 rows of 128 (not a multiple of 256)");
    refuse(pi, BN_TYPE_Q8_0, 2, 48, 2 * 34 + 34 / 2, "Q8_0 rows of 48 (not a multiple of 32)");
    refuse(pi, 37, 4, 256, 4 * 256, "type 37 (I8_S, unidentified)");
}
