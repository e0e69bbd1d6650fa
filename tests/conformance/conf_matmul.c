/*
 * Matmul conformance: every weight format x kernel x shape, against the
 * scalar oracle and against the reference plugin.
 *
 * Tolerances (err = |got - expected|):
 *  - ternary weights, y I32: bit-exact integer sums; every kernel
 *    (AUTO, MAD, TL1, TL2 as supports() reports them) gives the same sums.
 *  - ternary weights, y F32: err <= (nb + 4) * 1.2e-7 * M, where nb is the
 *    number of scale blocks per row and M = sum_b |d_b| sum_k |t q| |scale| / s_x;
 *    the integer part is exact, only the final float scaling (and the sum
 *    over nb block partials) may round.
 *  - other weights (F32/F16/BF16/Q8_0), x F32: the plugin may quantise x in
 *    any way no coarser than per-row absmax int8, so
 *    err <= 1.01 * 0.5 / s_x * sum|w| + 2e-6 * sqrt(K) * sum|w x|.
 *  - other weights, x I8: err <= 2e-6 * sqrt(K) * sum|w q| / s_x.
 *  - against the reference plugin: twice the oracle tolerance.
 */
#include "conf_tests.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops_oracle.h"

/* Dense matmul: error / (u sqrt(K) sum|w x|), see mm_expect. Worst measured:
 * cpu-avx2 0.10, reference 0.072 (F32/F16/BF16/Q8_0, K up to 6912); the
 * bound is 10x the worst. */
#define DENSE_TOL 1.0

typedef struct mm_io {
    int64_t T;
    float *x;      /* [T][K] activations for the x F32 path */
    int8_t *q;     /* [T][K] their oracle quantisation */
    float *s;      /* [T] */
    int8_t *q8;    /* [T][K] input of the x I8 path: q, except the last row
                      of 3+ uses the whole int8 range, -128 included */
    float *s8;     /* [T] */
    int32_t *isum; /* [T][N] of q8, ternary only */
    float *y, *mag;   /* x F32 path */
    float *y8, *mag8; /* x I8 path */
} mm_io;

/* extreme: constant rows (x = +-1 everywhere) so that integer sums reach
 * +-127 K, the case that overflows 16-bit accumulators. */
static void mm_inputs(mm_io *io, int64_t K, int64_t T, uint64_t seed, int extreme) {
    conf_rng r;
    rng_seed(&r, seed);
    memset(io, 0, sizeof *io);
    io->T = T;
    io->x = xmalloc(sizeof(float) * (size_t)(K * T));
    io->q = xmalloc((size_t)(K * T));
    io->q8 = xmalloc((size_t)(K * T));
    io->s = xmalloc(sizeof(float) * (size_t)T);
    io->s8 = xmalloc(sizeof(float) * (size_t)T);
    for (int64_t t = 0; t < T; t++) {
        float *x = io->x + t * K;
        if (extreme)
            for (int64_t k = 0; k < K; k++)
                x[k] = t % 3 == 0 ? 1.0f : t % 3 == 1 ? -1.0f : (k & 1 ? 0.5f : -0.5f);
        else /* row 1 sits below the 1e-5 absmax floor */
            rng_fill(&r, x, K, t == 1 ? 4e-6f : 0.5f + (float)t);
        or_quantize_row(x, K, io->q + t * K, &io->s[t]);
        memcpy(io->q8 + t * K, io->q + t * K, (size_t)K);
        io->s8[t] = io->s[t];
        if (T >= 3 && t == T - 1) {
            for (int64_t k = 0; k < K; k++)
                io->q8[t * K + k] = extreme ? (int8_t)-128 : (int8_t)(rng_u64(&r) >> 56);
            io->s8[t] = 42.0f;
        }
    }
}

static void mm_expect_ternary(mm_io *io, const wfix *f, const int8_t *qa, const float *sa, float *yo, float *mo,
                              int32_t *isum) {
    const or_ternary *tm = &f->tm;
    int64_t N = f->rows, K = f->cols;
    for (int64_t t = 0; t < io->T; t++) {
        const int8_t *q = qa + t * K;
        for (int64_t j = 0; j < N; j++) {
            double y = 0.0, m = 0.0;
            int32_t total = 0;
            for (int64_t b = 0; b < tm->blocks_per_row; b++) {
                const int8_t *tr = tm->t + j * K + b * tm->block;
                int32_t part = or_dot_i8(tr, q + b * tm->block, tm->block), pabs = 0;
                for (int64_t k = 0; k < tm->block; k++)
                    pabs += tr[k] ? abs(q[b * tm->block + k]) : 0;
                double d = tm->d[j * tm->blocks_per_row + b];
                total += part;
                y += d * part;
                m += fabs(d) * pabs;
            }
            if (isum)
                isum[t * N + j] = total;
            yo[t * N + j] = (float)(y * f->scale / sa[t]);
            mo[t * N + j] = (float)(m * fabs(f->scale) / sa[t]);
        }
    }
}

static void mm_expect(mm_io *io, const wfix *f) {
    int64_t N = f->rows, K = f->cols, T = io->T;
    size_t ny = sizeof(float) * (size_t)(N * T);
    io->y = xmalloc(ny);
    io->mag = xmalloc(ny);
    io->y8 = xmalloc(ny);
    io->mag8 = xmalloc(ny);
    if (bn_type_is_ternary(f->type)) {
        io->isum = xmalloc(sizeof(int32_t) * (size_t)(N * T));
        mm_expect_ternary(io, f, io->q, io->s, io->y, io->mag, NULL);
        mm_expect_ternary(io, f, io->q8, io->s8, io->y8, io->mag8, io->isum);
        return;
    }
    /* Dense weights, evaluated in float64 from the decoded weights. A plugin
     * sums K float32 products (F32/F16/BF16 with x F32), or Q8_0 blocks of
     * exact int32 sums scaled by d and 1/s (Q8_0: x is first quantised per
     * row exactly as for ternary weights, io->q / io->s, so the expected
     * value uses those int8 values, not x). Each rounding is relative
     * u = 2^-24 of a partial sum bounded by S = sum |w x| (or sum |w q| / s);
     * independent roundings over K terms add up like a random walk, so the
     * error is about u sqrt(K) S (Higham's probabilistic bound). mag is that
     * quantity; DENSE_TOL (its multiple allowed) is set from the worst
     * measured ratio, see there. Dropping one column of 2560 or scaling by
     * 1 % moves y by ~1e-2 S and fails by orders of magnitude. */
    const double u = 1.0 / 16777216.0;
    float *w = xmalloc(sizeof(float) * (size_t)K);
    for (int64_t j = 0; j < N; j++) {
        or_decode_rows(f->type, f->data, N, K, j, 1, f->scale, w);
        for (int64_t t = 0; t < T; t++) {
            const float *x = io->x + t * K;
            const int8_t *qx = io->q + t * K, *q = io->q8 + t * K;
            double y = 0, wx = 0, y8 = 0, wq = 0;
            for (int64_t k = 0; k < K; k++) {
                if (f->type == BN_TYPE_Q8_0) {
                    y += (double)w[k] * qx[k];
                    wx += fabs((double)w[k] * qx[k]);
                } else {
                    y += (double)w[k] * x[k];
                    wx += fabs((double)w[k] * x[k]);
                }
                y8 += (double)w[k] * q[k];
                wq += fabs((double)w[k] * q[k]);
            }
            double sx = f->type == BN_TYPE_Q8_0 ? io->s[t] : 1.0;
            io->y[t * N + j] = (float)(y / sx);
            io->mag[t * N + j] = (float)(u * sqrt((double)K) * wx / sx);
            io->y8[t * N + j] = (float)(y8 / io->s8[t]);
            io->mag8[t * N + j] = (float)(u * sqrt((double)K) * wq / io->s8[t]);
        }
    }
    free(w);
}

static void mm_free(mm_io *io) {
    free(io->x);
    free(io->q);
    free(io->s);
    free(io->q8);
    free(io->s8);
    free(io->isum);
    free(io->y);
    free(io->mag);
    free(io->y8);
    free(io->mag8);
    memset(io, 0, sizeof *io);
}

/* One matmul call on plugin p: x F32 (xtype F32) or I8 + scales; y host out. */
static int mm_run(conf_case *c, conf_plugin *p, const bn_weight *w, const wfix *f, const mm_io *io, int32_t xtype,
                  int32_t ytype, int64_t pad, void *yout) {
    dev_tensor x, xs = {0}, y;
    int ok = 0;
    memset(&y, 0, sizeof y);
    if (!dt_new(c, p, &x, xtype, f->cols, io->T, 1, pad))
        return 0;
    if (!dt_put(c, p, &x, xtype == BN_TYPE_F32 ? (const void *)io->x : (const void *)io->q8))
        goto out;
    if (xtype == BN_TYPE_I8 && (!dt_new(c, p, &xs, BN_TYPE_F32, io->T, 1, 1, 0) || !dt_put(c, p, &xs, io->s8)))
        goto out;
    if (!dt_new(c, p, &y, ytype, f->rows, io->T, 1, pad))
        goto out;
    char what[64];
    snprintf(what, sizeof what, "matmul(x=%s y=%s)", bn_type_name(xtype), bn_type_name(ytype));
    if (cc_ok(c, p, p->be->matmul(p->ctx, w, &x.t, xtype == BN_TYPE_I8 ? &xs.t : NULL, &y.t), what))
        ok = dt_get(c, p, &y, yout);
out:
    dt_del(p, &x);
    dt_del(p, &xs);
    dt_del(p, &y);
    return ok;
}

/* Outputs of the reference plugin (AUTO kernel) for the same inputs. */
typedef struct mm_refout {
    float *y;
    int32_t *isum;
} mm_refout;

static void mm_reference(conf_case *c, const wfix *f, const mm_io *io, int64_t pad, mm_refout *ro) {
    conf_plugin *r = conf_ref;
    int tern = bn_type_is_ternary(f->type);
    memset(ro, 0, sizeof *ro);
    bn_weight *w = wfix_prepare(c, r, f, BN_KERNEL_AUTO);
    if (!w)
        return;
    size_t n = (size_t)(f->rows * io->T);
    if (conf_supports(r, BN_OP_MATMUL, f->type, BN_TYPE_F32, BN_TYPE_F32, BN_KERNEL_AUTO)) {
        ro->y = xmalloc(n * sizeof(float));
        if (!mm_run(c, r, w, f, io, BN_TYPE_F32, BN_TYPE_F32, pad, ro->y)) {
            free(ro->y);
            ro->y = NULL;
        }
    }
    if (tern && f->uniform_d && conf_supports(r, BN_OP_MATMUL, f->type, BN_TYPE_I8, BN_TYPE_I32, BN_KERNEL_AUTO)) {
        ro->isum = xmalloc(n * sizeof(int32_t));
        if (!mm_run(c, r, w, f, io, BN_TYPE_I8, BN_TYPE_I32, pad, ro->isum)) {
            free(ro->isum);
            ro->isum = NULL;
        }
    }
    r->be->weight_free(r->ctx, w);
}

/* A token's outputs must not depend on the batch it came in: each token
 * run alone (x F32 -> y F32) gives the same bits as its row of the batch
 * output y. This is what lets a sequence decoded with others get the
 * logits it gets alone (batch_equivalence checks that end to end). */
static void mm_batch_invariance(conf_case *c, conf_plugin *p, const bn_weight *w, const wfix *f, const mm_io *io,
                                int64_t pad, const float *y, const char *kernel) {
    int64_t N = f->rows;
    float *y1 = xmalloc(sizeof(float) * (size_t)N);
    for (int64_t t = 0; t < io->T; t++) {
        mm_io one = *io;
        one.T = 1;
        one.x = io->x + t * f->cols;
        if (!mm_run(c, p, w, f, &one, BN_TYPE_F32, BN_TYPE_F32, pad, y1))
            break;
        for (int64_t j = 0; j < N; j++)
            if (memcmp(&y1[j], &y[t * N + j], sizeof(float))) {
                cc_fail(c, "kernel=%s x=F32 y=F32: token %lld alone gives y[%lld] = %.9g, in the batch of %lld %.9g",
                        kernel, (long long)t, (long long)j, (double)y1[j], (long long)io->T,
                        (double)y[t * N + j]);
                t = io->T;
                break;
            }
    }
    free(y1);
}

static void mm_case(int pi, const wfix *f, int64_t T, int64_t pad, uint64_t seed, int extreme) {
    conf_plugin *p = &conf_plugins[pi];
    conf_case c;
    int tern = bn_type_is_ternary(f->type);
    cc_init(&c, pi, BN_OP_MATMUL, "fmt=%s shape=%lldx%lld T=%lld%s%s%s", bn_type_name(f->type), (long long)f->rows,
            (long long)f->cols, (long long)T, pad ? " strided" : "", wfix_block_scales(f) ? " block-scales" : "",
            extreme ? " extreme" : "");
    mm_io io;
    mm_inputs(&io, f->cols, T, seed, extreme);
    mm_expect(&io, f);
    double tol = tern ? (double)(f->tm.blocks_per_row + 4) * 1.2e-7 : DENSE_TOL;
    mm_refout ro = {0};
    if (!p->is_reference)
        mm_reference(&c, f, &io, pad, &ro);

    size_t n = (size_t)(f->rows * T);
    float *y = xmalloc(n * sizeof(float));
    int32_t *isum = xmalloc(n * sizeof(int32_t)), *first = NULL;
    int first_kernel = -1, ran = 0;
    static const int kernels[] = {BN_KERNEL_AUTO, BN_KERNEL_MAD, BN_KERNEL_TL1, BN_KERNEL_TL2};
    for (size_t ki = 0; ki < (tern ? 4u : 1u); ki++) {
        int k = kernels[ki];
        int s_ff = conf_supports(p, BN_OP_MATMUL, f->type, BN_TYPE_F32, BN_TYPE_F32, k);
        int s_ii = tern && conf_supports(p, BN_OP_MATMUL, f->type, BN_TYPE_I8, BN_TYPE_I32, k);
        int s_if = conf_supports(p, BN_OP_MATMUL, f->type, BN_TYPE_I8, BN_TYPE_F32, k);
        if (p->is_reference && tern && k == BN_KERNEL_AUTO && (!s_ff || !s_ii))
            cc_fail(&c, "reference supports() denies ternary matmul (x F32->y F32: %d, x I8->y I32: %d)", s_ff, s_ii);
        if (!s_ff && !s_ii && !s_if)
            continue;
        bn_weight *w = wfix_prepare(&c, p, f, k);
        if (!w)
            continue;
        char what[96];
        ran = 1;
        if (tern)
            conf_kernels_seen[pi] |= 1u << k;
        if (s_ff && mm_run(&c, p, w, f, &io, BN_TYPE_F32, BN_TYPE_F32, pad, y)) {
            snprintf(what, sizeof what, "kernel=%s x=F32 y=F32", conf_kernel_name(k));
            cc_cmp_f32(&c, what, y, io.y, io.mag, (int64_t)n, tol, 1e-30, 0);
            if (ro.y)
                cc_cmp_f32(&c, what, y, ro.y, io.mag, (int64_t)n, 2 * tol, 1e-30, 1);
            /* cpu-avx2 sums a TQ 256-block in different groupings before
             * scaling by d in its token-lane kernel (whole block) and its
             * MAD kernel (8 lanes), so TQ results move by an ulp now and
             * then with the batch size there: the one known exception. */
            if (T > 1 && !(bn_type_is_ternary(f->type) && f->type != BN_TYPE_I2_S && !strcmp(p->name, "cpu-avx2")))
                mm_batch_invariance(&c, p, w, f, &io, pad, y, conf_kernel_name(k));
        }
        if (s_ii && f->uniform_d && mm_run(&c, p, w, f, &io, BN_TYPE_I8, BN_TYPE_I32, pad, isum)) {
            snprintf(what, sizeof what, "kernel=%s x=I8 y=I32 integer sums", conf_kernel_name(k));
            cc_cmp_i32(&c, what, isum, io.isum, (int64_t)n);
            if (ro.isum) {
                snprintf(what, sizeof what, "kernel=%s x=I8 y=I32 vs reference", conf_kernel_name(k));
                cc_cmp_i32(&c, what, isum, ro.isum, (int64_t)n);
            }
            if (first) {
                snprintf(what, sizeof what, "kernel=%s vs kernel=%s integer sums", conf_kernel_name(k),
                         conf_kernel_name(first_kernel));
                cc_cmp_i32(&c, what, isum, first, (int64_t)n);
            } else {
                first = isum;
                first_kernel = k;
                isum = xmalloc(n * sizeof(int32_t));
            }
        }
        if (s_if && mm_run(&c, p, w, f, &io, BN_TYPE_I8, BN_TYPE_F32, pad, y)) {
            snprintf(what, sizeof what, "kernel=%s x=I8 y=F32", conf_kernel_name(k));
            cc_cmp_f32(&c, what, y, io.y8, io.mag8, (int64_t)n, tol, 1e-30, 0);
        }
        p->be->weight_free(p->ctx, w);
    }
    if (!ran) {
        printf("SKIP plugin=%s op=matmul %s: supports() says no\n", p->name, c.label);
        cc_skip(&c);
    }
    free(y);
    free(isum);
    free(first);
    free(ro.y);
    free(ro.isum);
    mm_free(&io);
}

static const conf_shape tern_shapes[] = {
    {1, 256, 1, 0, 0, 1.0f},     {3, 256, 3, 0, 0, 1.0f},     {1, 512, 8, 0, 0, 1.0f},
    {5, 512, 8, 1, 0, 1.0f},     {4, 128, 3, 0, 0, 1.0f},     {4, 96, 3, 0, 0, 1.0f},
    {4, 160, 1, 0, 0, 1.0f},     {17, 768, 3, 0, 1, 0.75f},   {19, 768, 3, 0, 0, 1.25f},
    {64, 1024, 8, 0, 0, 1.0f},   {2560, 2560, 3, 0, 0, 1.0f}, {640, 2560, 8, 0, 0, 1.0f},
    {6912, 2560, 1, 0, 0, 1.0f}, {2560, 6912, 1, 0, 0, 1.0f}, {6, 6912, 3, 0, WFIX_EXTREME, 1.0f},
    {3, 2560, 4, 0, WFIX_EXTREME, 0.5f},
    /* 8+ tokens: the token-lane kernel of cpu-avx2 (one and two passes of
     * 16, several row tiles of 2048 per thread, an odd count of 128-blocks,
     * extreme sums, padding) */
    {19, 768, 9, 0, 0, 1.0f},    {33, 384, 16, 1, 0, 1.0f},   {4, 160, 12, 0, 0, 1.0f},
    {640, 2560, 17, 0, 0, 1.0f}, {2560, 512, 10, 0, 0, 1.0f}, {6, 6912, 21, 0, WFIX_EXTREME, 1.0f},
    {7, 2560, 32, 0, WFIX_EXTREME, 0.5f}, {4500, 384, 8, 0, 0, 1.0f},
    /* 4-8 tokens (and a pass's last 1-8): its 8-lane pass */
    {11, 640, 5, 1, 0, 1.0f},    {9, 2560, 7, 0, WFIX_EXTREME, 1.0f}, {2600, 256, 6, 0, 0, 1.0f},
    /* K >= 8192, weights all +1 / all -1 / alternating, and the I8 path's
     * last token -128 everywhere: sums that overflow any 16-bit accumulator
     * kept over more than 255 columns (peers' garbage on ARM without dotprod) */
    {6, 8192, 3, 0, WFIX_EXTREME, 1.0f}, {5, 16384, 9, 0, WFIX_EXTREME, 1.0f},
};

static const conf_shape dense_shapes[] = {
    {1, 256, 1, 0, 0, 1.0f}, {3, 64, 3, 0, 0, 1.0f}, {7, 96, 8, 1, 0, 1.0f},
    {2, 32, 3, 0, 0, 0.5f},  {64, 2560, 3, 0, 0, 1.0f}, {640, 2560, 1, 0, 0, 1.0f},
    /* 6+ tokens: cpu-avx2 converts F16 rows once for all token groups */
    {5, 100, 7, 0, 0, 1.0f}, {50, 2560, 16, 1, 0, 1.0f},
    /* cpu-avx512's F16 tiles of 4 x 4: spans of 256 columns with a ragged
     * last one, rows and tokens not a multiple of 4, more than 16 tokens */
    {37, 300, 18, 1, 0, 1.0f}, {13, 520, 5, 0, 0, 1.0f},
    /* its Q8_0 tiles of 2 rows x 4 tokens: an odd row and block count */
    {9, 416, 7, 0, 0, 1.0f},
};

static const int32_t tern_types[] = {BN_TYPE_I2_S, BN_TYPE_TQ1_0, BN_TYPE_TQ2_0};
static const int32_t dense_types[] = {BN_TYPE_Q8_0, BN_TYPE_F16, BN_TYPE_BF16, BN_TYPE_F32};

void conf_test_matmul(int pi) {
    for (size_t ti = 0; ti < 3; ti++) {
        for (size_t si = 0; si < sizeof tern_shapes / sizeof tern_shapes[0]; si++) {
            const conf_shape *s = &tern_shapes[si];
            if (conf_quick_skip(s->rows, s->cols, s->mode == WFIX_EXTREME)) /* emulated CPUs */
                continue;
            wfix f;
            if (wfix_make(&f, tern_types[ti], s->rows, s->cols, 100 + si * 7 + ti, s->mode, s->scale))
                mm_case(pi, &f, s->tokens, s->pad ? 5 : 0, 900 + si, s->mode == WFIX_EXTREME);
            wfix_free(&f);
        }
    }
    for (size_t ti = 0; ti < 4; ti++) {
        for (size_t si = 0; si < sizeof dense_shapes / sizeof dense_shapes[0]; si++) {
            const conf_shape *s = &dense_shapes[si];
            wfix f;
            if (wfix_make(&f, dense_types[ti], s->rows, s->cols, 300 + si * 5 + ti, 0, s->scale))
                mm_case(pi, &f, s->tokens, s->pad ? 3 : 0, 700 + si, 0);
            wfix_free(&f);
        }
    }
}
