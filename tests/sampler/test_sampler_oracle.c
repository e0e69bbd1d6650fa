/* The filters against brute-force oracles that sort the whole vocabulary:
 * top-k, top-p (alone and after top-k), min-p, and the penalties. Float
 * rounding may legitimately decide a token that sits right on a boundary
 * either way, so each oracle gives the range of set sizes allowed by a
 * relative slack of 1e-5, and most trials must have no slack at all. */
#include <string.h>

#include "sampler_test_util.h"

#define SLACK 1e-5

/* Checks that the candidates are exactly the first n of `ord`, with p the
 * softmax at temperature temp over them. */
static void expect_prefix(const bn_sampler_candidate *c, size_t n, const int *ord, const float *x,
                          int n_vocab, float temp) {
    char *seen = calloc((size_t)n_vocab, 1);
    for (size_t i = 0; i < n; i++) {
        ck_assert(c[i].id >= 0 && c[i].id < n_vocab);
        ck_assert_int_eq(seen[c[i].id], 0);
        seen[c[i].id] = 1;
    }
    double z = 0.0;
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(seen[ord[i]], "rank %zu (id %d) missing from %zu candidates", i, ord[i], n);
        z += exp(((double)x[ord[i]] - x[ord[0]]) / temp);
    }
    for (size_t i = 0; i < n; i++) {
        double want = exp(((double)c[i].logit - x[ord[0]]) / temp) / z;
        ck_assert_float_eq(c[i].logit, x[c[i].id]);
        ck_assert_msg(fabs(c[i].p - want) <= 1e-5 * want + 1e-12, "p %g want %g", (double)c[i].p,
                      want);
    }
    free(seen);
}

START_TEST(top_k_oracle) {
    trng r = {11};
    int ks[] = {1, 2, 5, 40, 1023, 1025, 3000};
    const int n = 20000;
    float *x = malloc(n * sizeof *x);
    for (int trial = 0; trial < 14; trial++) {
        int k = ks[trial % 7];
        fill_logits(&r, x, n, 3.0, trial % 4);
        if (trial >= 7) /* coarse values: many ties, decided by id */
            for (int i = 0; i < n; i++)
                x[i] = floorf(x[i]);
        if (trial == 13) /* ascending: the heap's worst case */
            for (int i = 0; i < n; i++)
                x[i] = (float)(i / 3);
        bn_sampler_params p = plain_params(1.0f);
        p.top_k = k;
        bn_sampler *s = make_sampler(&p, n);
        const bn_sampler_candidate *c;
        size_t nc;
        ck_assert_int_eq(bn_sampler_candidates(s, x, &c, &nc), BN_OK);
        ck_assert_uint_eq(nc, (size_t)k);
        int *ord = oracle_order(x, n);
        expect_prefix(c, nc, ord, x, n, 1.0f);
        free(ord);
        bn_sampler_free(s);
    }
    free(x);
}
END_TEST

/* Smallest prefix of ord[0..m) whose softmax mass over ord[0..m) >= q. */
static size_t oracle_top_p(const float *x, const int *ord, size_t m, double q) {
    double z = 0.0, acc = 0.0;
    for (size_t i = 0; i < m; i++)
        z += exp((double)x[ord[i]] - x[ord[0]]);
    for (size_t i = 0; i < m; i++) {
        acc += exp((double)x[ord[i]] - x[ord[0]]);
        if (acc >= q * z)
            return i + 1;
    }
    return m;
}

/* Random vocabularies from tiny to large, flat (thousands kept: the
 * sampler's fallback path) to peaked (a few kept: its fast path). */
START_TEST(top_p_oracle) {
    trng r = {12};
    int exact = 0, trials = 0;
    for (int trial = 0; trial < 120; trial++) {
        int sizes[] = {3, 50, 1000, 40000};
        int n = sizes[trial % 4];
        float *x = malloc((size_t)n * sizeof *x);
        double sigmas[] = {0.3, 1.0, 3.0};
        fill_logits(&r, x, n, sigmas[(trial / 4) % 3], (trial / 12) % 3);
        float top_p = (float)(0.05 + 0.94 * trng_unit(&r));
        int top_k = (trial % 5 == 4) ? 1 + (int)(trng_next(&r) % 300) : 0;
        float temp = (float)(0.3 + 2.0 * trng_unit(&r));
        bn_sampler_params p = plain_params(temp);
        p.top_p = top_p;
        p.top_k = top_k;
        bn_sampler *s = make_sampler(&p, n);
        const bn_sampler_candidate *c;
        size_t nc;
        ck_assert_int_eq(bn_sampler_candidates(s, x, &c, &nc), BN_OK);
        int *ord = oracle_order(x, n);
        size_t m = top_k > 0 && top_k < n ? (size_t)top_k : (size_t)n;
        size_t lo = oracle_top_p(x, ord, m, top_p * (1.0 - SLACK));
        size_t hi = oracle_top_p(x, ord, m, top_p * (1.0 + SLACK));
        ck_assert_msg(nc >= lo && nc <= hi, "n=%d top_p=%g top_k=%d: kept %zu, oracle %zu..%zu", n,
                      (double)top_p, top_k, nc, lo, hi);
        expect_prefix(c, nc, ord, x, n, temp);
        exact += lo == hi;
        trials++;
        free(ord);
        free(x);
        bn_sampler_free(s);
    }
    ck_assert_int_ge(exact, trials * 9 / 10);
}
END_TEST

START_TEST(min_p_oracle) {
    trng r = {13};
    int exact = 0, trials = 0;
    for (int trial = 0; trial < 60; trial++) {
        int n = trial % 2 ? 5000 : 64;
        float *x = malloc((size_t)n * sizeof *x);
        fill_logits(&r, x, n, 0.5 + 2.0 * trng_unit(&r), trial % 3);
        float min_p = (float)(trng_unit(&r) * 0.5);
        int top_k = trial % 3 == 2 ? 30 : 0;
        float top_p = trial % 4 == 3 ? 0.9f : 1.0f;
        bn_sampler_params p = plain_params(1.0f);
        p.min_p = min_p;
        p.top_k = top_k;
        p.top_p = top_p;
        bn_sampler *s = make_sampler(&p, n);
        const bn_sampler_candidate *c;
        size_t nc;
        ck_assert_int_eq(bn_sampler_candidates(s, x, &c, &nc), BN_OK);
        int *ord = oracle_order(x, n);
        size_t m_lo = top_k > 0 ? (size_t)top_k : (size_t)n, m_hi = m_lo;
        if (top_p < 1.0f) {
            m_lo = oracle_top_p(x, ord, m_lo, top_p * (1.0 - SLACK));
            m_hi = oracle_top_p(x, ord, m_hi, top_p * (1.0 + SLACK));
        }
        size_t lo = 0, hi = 0;
        for (size_t i = 0; i < m_hi; i++) {
            double ratio = exp((double)x[ord[i]] - x[ord[0]]);
            lo += i < m_lo && ratio >= min_p * (1.0 + SLACK);
            hi += ratio >= min_p * (1.0 - SLACK);
        }
        ck_assert_msg(nc >= lo && nc <= hi, "min_p %g: kept %zu, oracle %zu..%zu", (double)min_p,
                      nc, lo, hi);
        expect_prefix(c, nc, ord, x, n, 1.0f);
        exact += lo == hi;
        trials++;
        free(ord);
        free(x);
        bn_sampler_free(s);
    }
    ck_assert_int_ge(exact, trials * 9 / 10);
}
END_TEST

START_TEST(penalties_oracle) {
    enum { N = 300, WINDOW = 16, HISTORY = 40 };
    trng r = {14};
    float x[N], before[N];
    for (int trial = 0; trial < 8; trial++) {
        bn_sampler_params p = plain_params(1.0f);
        p.repeat_last_n = WINDOW;
        p.repeat_penalty = trial % 4 == 3 ? 1.0f : 1.1f + 0.2f * (float)trial;
        p.frequency_penalty = trial % 2 ? 0.3f : 0.0f;
        p.presence_penalty = trial % 4 >= 2 ? -0.4f : 0.25f;
        bn_sampler *s = make_sampler(&p, N);
        int32_t hist[HISTORY];
        for (int i = 0; i < HISTORY; i++) {
            /* Few distinct ids so they repeat inside the window. */
            hist[i] = (int32_t)(trng_next(&r) % 12) * 7;
            ck_assert_int_eq(bn_sampler_accept(s, hist[i]), BN_OK);
        }
        int count[N] = {0};
        for (int i = HISTORY - WINDOW; i < HISTORY; i++)
            count[hist[i]]++;
        fill_logits(&r, x, N, 2.0, 0);
        memcpy(before, x, sizeof x);
        const bn_sampler_candidate *c;
        size_t nc;
        ck_assert_int_eq(bn_sampler_candidates(s, x, &c, &nc), BN_OK);
        ck_assert_mem_eq(before, x, sizeof x); /* caller's logits untouched */
        ck_assert_uint_eq(nc, N);
        int changed = 0;
        for (size_t i = 0; i < nc; i++) {
            int id = c[i].id;
            double want = x[id];
            if (count[id] > 0) {
                want = want > 0 ? want / p.repeat_penalty : want * p.repeat_penalty;
                want -= count[id] * (double)p.frequency_penalty + p.presence_penalty;
                changed++;
                ck_assert_msg(fabs(c[i].logit - want) <= 1e-5 * (1.0 + fabs(want)),
                              "id %d count %d: %g want %g", id, count[id], (double)c[i].logit,
                              want);
            } else {
                ck_assert_float_eq(c[i].logit, x[id]); /* exactly unchanged */
            }
        }
        ck_assert_int_gt(changed, 3);
        /* The same logits again: penalties are not applied twice. */
        int32_t tok;
        ck_assert_int_eq(bn_sampler_sample(s, x, &tok), BN_OK);
        ck_assert_int_eq(bn_sampler_candidates(s, x, &c, &nc), BN_OK);
        for (size_t i = 0; i < nc; i++)
            if (count[c[i].id] == 0)
                ck_assert_float_eq(c[i].logit, x[c[i].id]);
        /* After a reset nothing is penalised. */
        bn_sampler_reset(s);
        ck_assert_int_eq(bn_sampler_candidates(s, x, &c, &nc), BN_OK);
        for (size_t i = 0; i < nc; i++)
            ck_assert_float_eq(c[i].logit, x[c[i].id]);
        bn_sampler_free(s);
    }
}
END_TEST

/* The full default chain at a Llama 3 sized vocabulary, with history. */
START_TEST(default_chain_large) {
    enum { N = 128256 };
    float *x = malloc(N * sizeof *x), *copy = malloc(N * sizeof *x);
    trng r = {15};
    bn_sampler_params p;
    bn_sampler_params_init(&p);
    p.repeat_penalty = 1.1f;
    p.frequency_penalty = 0.1f;
    bn_sampler *s = make_sampler(&p, N);
    for (int i = 0; i < 100; i++) {
        fill_logits(&r, x, N, 3.0, 20);
        memcpy(copy, x, N * sizeof *x);
        int32_t tok = -1;
        ck_assert_int_eq(bn_sampler_sample(s, x, &tok), BN_OK);
        ck_assert(tok >= 0 && tok < N);
        ck_assert_mem_eq(copy, x, N * sizeof *x);
        ck_assert_int_eq(bn_sampler_accept(s, tok), BN_OK);
        const bn_sampler_candidate *c;
        size_t nc;
        ck_assert_int_eq(bn_sampler_candidates(s, x, &c, &nc), BN_OK);
        ck_assert(nc >= 1 && nc <= 40);
        double sum = 0.0;
        for (size_t j = 0; j < nc; j++)
            sum += c[j].p;
        ck_assert(fabs(sum - 1.0) < 1e-5);
    }
    bn_sampler_free(s);
    free(x);
    free(copy);
}
END_TEST

void add_oracle_tests(Suite *s) {
    struct {
        const char *name;
        const TTest *fn;
    } cases[] = {
        {"sampler_top_k", top_k_oracle},
        {"sampler_top_p", top_p_oracle},
        {"sampler_min_p", min_p_oracle},
        {"sampler_penalties", penalties_oracle},
        {"sampler_default_chain", default_chain_large},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        TCase *tc = tcase_create(cases[i].name);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, cases[i].fn);
        suite_add_tcase(s, tc);
    }
}
