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
/* The penalties of step 1 over the last repeat_last_n of hist[0..n_hist),
 * written from the chain's description in sampler.h, applied to y in place. */
static void oracle_penalties(float *y, const int32_t *hist, int n_hist, const bn_sampler_params *p) {
    int from = n_hist > p->repeat_last_n ? n_hist - p->repeat_last_n : 0;
    for (int i = from; i < n_hist; i++) {
        int first = 1, c = 0;
        for (int j = from; j < n_hist; j++) {
            first &= !(j < i && hist[j] == hist[i]);
            c += hist[j] == hist[i];
        }
        if (!first)
            continue; /* each distinct id once */
        float *l = &y[hist[i]];
        *l = *l > 0 ? *l / p->repeat_penalty : *l * p->repeat_penalty;
        *l -= (float)c * p->frequency_penalty + (c > 0 ? p->presence_penalty : 0.0f);
    }
}

/* The whole default chain (penalties, top-k 40, top-p 0.95, min-p 0.05,
 * temperature 0.8) on a Llama-3-sized vocabulary against the oracles above:
 * the same candidate set (within the rounding slack) with the same
 * probabilities, draw after draw as the history grows. */
START_TEST(default_chain_large) {
    enum { N = 128256, STEPS = 60 };
    float *x = malloc(N * sizeof *x), *copy = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
    int32_t hist[STEPS];
    trng r = {15};
    bn_sampler_params p;
    bn_sampler_params_init(&p);
    p.repeat_penalty = 1.1f;
    p.frequency_penalty = 0.1f;
    p.presence_penalty = 0.05f;
    p.repeat_last_n = 16;
    bn_sampler *s = make_sampler(&p, N);
    int exact = 0;
    for (int i = 0; i < STEPS; i++) {
        fill_logits(&r, x, N, 3.0, 20);
        if (i > 0) { /* make the penalties matter: the last token drawn goes to the top */
            float top = x[0];
            for (int j = 1; j < N; j++)
                top = x[j] > top ? x[j] : top;
            x[hist[i - 1]] = top + 1.0f;
        }
        memcpy(copy, x, N * sizeof *x);
        const bn_sampler_candidate *c;
        size_t nc;
        ck_assert_int_eq(bn_sampler_candidates(s, x, &c, &nc), BN_OK);
        ck_assert_mem_eq(copy, x, N * sizeof *x);
        memcpy(y, x, N * sizeof *y);
        oracle_penalties(y, hist, i, &p);
        int *ord = oracle_order(y, N);
        size_t k = (size_t)p.top_k;
        size_t m_lo = oracle_top_p(y, ord, k, p.top_p * (1.0 - SLACK));
        size_t m_hi = oracle_top_p(y, ord, k, p.top_p * (1.0 + SLACK));
        size_t lo = 0, hi = 0;
        for (size_t j = 0; j < m_hi; j++) {
            double ratio = exp((double)y[ord[j]] - y[ord[0]]);
            lo += j < m_lo && ratio >= p.min_p * (1.0 + SLACK);
            hi += ratio >= p.min_p * (1.0 - SLACK);
        }
        ck_assert_msg(nc >= lo && nc <= hi, "step %d: kept %zu, oracle %zu..%zu", i, nc, lo, hi);
        exact += lo == hi;
        expect_prefix(c, nc, ord, y, N, p.temperature);
        int32_t ids[40];
        for (size_t j = 0; j < nc && j < 40; j++)
            ids[j] = c[j].id;
        free(ord);
        int32_t tok = -1;
        ck_assert_int_eq(bn_sampler_sample(s, x, &tok), BN_OK);
        int drawn = 0; /* the draw comes from the candidate set */
        for (size_t j = 0; j < nc && j < 40; j++)
            drawn |= ids[j] == tok;
        ck_assert_msg(drawn, "step %d: drew %d outside the %zu candidates", i, tok, nc);
        ck_assert_int_eq(bn_sampler_accept(s, tok), BN_OK);
        hist[i] = tok;
    }
    ck_assert_int_ge(exact, STEPS * 9 / 10);
    bn_sampler_free(s);
    free(x);
    free(copy);
    free(y);
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
