/* Sampler basics: greedy and its ties, top-k = 1, seeding, the drawn
 * distribution against the softmax, parameter validation, bad logits. */
#include <float.h>
#include <string.h>

#include "sampler_test_util.h"

static int argmax_lowest(const float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best])
            best = i;
    return best;
}

START_TEST(greedy_argmax) {
    trng r = {1};
    int sizes[] = {1, 7, 16, 17, 1000, 128256};
    for (size_t t = 0; t < sizeof sizes / sizeof *sizes; t++) {
        int n = sizes[t];
        float *x = malloc((size_t)n * sizeof *x);
        bn_sampler_params p = plain_params(0.0f);
        bn_sampler *s = make_sampler(&p, n);
        for (int trial = 0; trial < 20; trial++) {
            fill_logits(&r, x, n, 3.0, trial % 3);
            int32_t tok = -1;
            ck_assert_int_eq(bn_sampler_sample(s, x, &tok), BN_OK);
            ck_assert_int_eq(tok, argmax_lowest(x, n));
            /* Ties: the lowest id wins, wherever the copies sit. */
            if (n > 3) {
                int a = (int)(trng_next(&r) % (uint64_t)n), b = (int)(trng_next(&r) % (uint64_t)n);
                float top = x[argmax_lowest(x, n)] + 1.0f;
                x[a] = top;
                x[b] = top;
                x[n - 1] = top;
                ck_assert_int_eq(bn_sampler_sample(s, x, &tok), BN_OK);
                ck_assert_int_eq(tok, a < b ? a : b);
            }
        }
        /* Negative temperature is greedy too; all-equal logits give id 0. */
        for (int i = 0; i < n; i++)
            x[i] = -2.5f;
        int32_t tok = -1;
        ck_assert_int_eq(bn_sampler_sample(s, x, &tok), BN_OK);
        ck_assert_int_eq(tok, 0);
        bn_sampler_free(s);
        free(x);
    }
}
END_TEST

START_TEST(top_k1_is_greedy) {
    trng r = {2};
    const int n = 5000;
    float *x = malloc(n * sizeof *x);
    float temps[] = {0.01f, 0.5f, 1.0f, 3.0f, 100.0f, 1e6f};
    for (size_t t = 0; t < sizeof temps / sizeof *temps; t++) {
        bn_sampler_params p = plain_params(temps[t]);
        p.top_k = 1;
        p.seed = 77 + t;
        bn_sampler *s = make_sampler(&p, n);
        for (int trial = 0; trial < 50; trial++) {
            fill_logits(&r, x, n, 1.0, 0);
            if (trial % 2) { /* a tie at the top */
                int a = (int)(trng_next(&r) % n);
                x[a] = x[argmax_lowest(x, n)];
            }
            int32_t tok = -1;
            ck_assert_int_eq(bn_sampler_sample(s, x, &tok), BN_OK);
            ck_assert_int_eq(tok, argmax_lowest(x, n));
        }
        bn_sampler_free(s);
    }
    free(x);
}
END_TEST

/* 300 draws with fresh logits each time. */
static void draw_sequence(uint64_t seed, int32_t *out, int count) {
    enum { N = 3000 };
    static float x[N];
    trng r = {99};
    bn_sampler_params p;
    bn_sampler_params_init(&p);
    p.seed = seed;
    p.top_k = 0;
    p.min_p = 0.0f;
    bn_sampler *s = make_sampler(&p, N);
    for (int i = 0; i < count; i++) {
        fill_logits(&r, x, N, 1.0, 0);
        ck_assert_int_eq(bn_sampler_sample(s, x, &out[i]), BN_OK);
        ck_assert(out[i] >= 0 && out[i] < N);
    }
    bn_sampler_free(s);
}

START_TEST(seed_reproducible) {
    enum { C = 300 };
    int32_t a[C], b[C], c[C];
    draw_sequence(12345, a, C);
    draw_sequence(12345, b, C);
    draw_sequence(12346, c, C);
    ck_assert_mem_eq(a, b, sizeof a);
    int differ = 0;
    for (int i = 0; i < C; i++)
        differ += a[i] != c[i];
    ck_assert_int_gt(differ, C / 2);

    /* reset restarts the PRNG from the seed. */
    bn_sampler_params p = plain_params(1.0f);
    p.seed = 5;
    bn_sampler *s = make_sampler(&p, 4);
    float x[4] = {0, 0, 0, 0};
    int32_t first[64], again[64];
    for (int i = 0; i < 64; i++)
        ck_assert_int_eq(bn_sampler_sample(s, x, &first[i]), BN_OK);
    bn_sampler_reset(s);
    for (int i = 0; i < 64; i++)
        ck_assert_int_eq(bn_sampler_sample(s, x, &again[i]), BN_OK);
    ck_assert_mem_eq(first, again, sizeof first);
    bn_sampler_free(s);
}
END_TEST

/* Chi-square of `draws` draws against softmax(x / temp) over the best
 * `top_k` logits (0 = all). */
static double chi_square(const float *x, int n, float temp, int top_k, int draws, uint64_t seed) {
    bn_sampler_params p = plain_params(temp);
    p.top_k = top_k;
    p.seed = seed;
    bn_sampler *s = make_sampler(&p, n);
    long count[64] = {0}, bad = 0;
    /* No ck_assert per draw: in fork mode each one costs a syscall. */
    for (int i = 0; i < draws; i++) {
        int32_t tok = -1;
        if (bn_sampler_sample(s, x, &tok) != BN_OK || tok < 0 || tok >= n) {
            bad++;
            continue;
        }
        count[tok]++;
    }
    ck_assert_int_eq(bad, 0);
    bn_sampler_free(s);
    int *ord = oracle_order(x, n);
    int kept = top_k > 0 && top_k < n ? top_k : n;
    double prob[64] = {0}, z = 0.0, chi = 0.0;
    for (int i = 0; i < kept; i++)
        z += exp((double)x[ord[i]] / temp);
    for (int i = 0; i < kept; i++)
        prob[ord[i]] = exp((double)x[ord[i]] / temp) / z;
    for (int i = 0; i < n; i++) {
        if (prob[i] == 0.0) {
            ck_assert_int_eq(count[i], 0); /* cut by top-k: never drawn */
            continue;
        }
        double e = prob[i] * draws;
        chi += (count[i] - e) * (count[i] - e) / e;
    }
    free(ord);
    return chi;
}

START_TEST(distribution_matches_softmax) {
    /* 8 tokens, 200k draws: chi-square has <= 7 degrees of freedom, whose
     * 1e-9 tail starts near 55; a wrong temperature or an off-by-one in the
     * draw gives thousands. */
    const float x[8] = {1.0f, 2.0f, 0.5f, -1.0f, 2.0f, 0.0f, 1.5f, -3.0f};
    float temps[] = {0.5f, 1.0f, 2.0f};
    for (size_t t = 0; t < 3; t++) {
        double chi = chi_square(x, 8, temps[t], 0, 200000, 1000 + t);
        ck_assert_msg(chi < 55.0, "T=%g chi2=%g", (double)temps[t], chi);
        chi = chi_square(x, 8, temps[t], 3, 200000, 2000 + t);
        ck_assert_msg(chi < 55.0, "T=%g top-3 chi2=%g", (double)temps[t], chi);
    }
    /* 40 tokens: the whole-vocabulary draw walks SIMD blocks of 16 and a
     * tail; 39 degrees of freedom, 1e-9 tail near 118. */
    float y[40];
    for (int i = 0; i < 40; i++)
        y[i] = (float)((i * 7) % 13) * 0.15f - 1.0f;
    y[17] = 1.5f;
    y[38] = 1.2f;
    double chi40 = chi_square(y, 40, 0.9f, 0, 200000, 3000);
    ck_assert_msg(chi40 < 118.0, "40 tokens: chi2=%g", chi40);
    /* The same check is sharp enough to see a wrong temperature. */
    bn_sampler_params p = plain_params(1.0f);
    double wrong = 0.0;
    {
        /* draws at T=1 judged against T=0.5 */
        bn_sampler *s = make_sampler(&p, 8);
        long count[8] = {0};
        for (int i = 0; i < 200000; i++) {
            int32_t tok = 0;
            bn_sampler_sample(s, x, &tok);
            count[tok & 7]++;
        }
        bn_sampler_free(s);
        double z = 0.0;
        for (int i = 0; i < 8; i++)
            z += exp(x[i] / 0.5);
        for (int i = 0; i < 8; i++) {
            double e = exp(x[i] / 0.5) / z * 200000;
            wrong += (count[i] - e) * (count[i] - e) / e;
        }
    }
    ck_assert_msg(wrong > 1000.0, "chi2 of the wrong temperature only %g", wrong);

    /* Reported probabilities are the softmax too. */
    p = plain_params(0.7f);
    bn_sampler *s = make_sampler(&p, 8);
    const bn_sampler_candidate *c;
    size_t n;
    ck_assert_int_eq(bn_sampler_candidates(s, x, &c, &n), BN_OK);
    ck_assert_uint_eq(n, 8);
    double z = 0.0;
    for (int i = 0; i < 8; i++)
        z += exp(x[i] / 0.7);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(fabs(c[i].p - exp(x[c[i].id] / 0.7) / z) < 1e-6, "id %d p %g", c[i].id,
                      (double)c[i].p);
    bn_sampler_free(s);
}
END_TEST

static void expect_bad(const bn_sampler_params *p, const char *word) {
    bn_sampler *s = (bn_sampler *)&s; /* must be reset to NULL */
    ck_assert_int_eq(bn_sampler_create(p, 100, &s), BN_ERR_INVALID);
    ck_assert_ptr_null(s);
    ck_assert_msg(strstr(bn_last_error(), word), "'%s' does not name %s", bn_last_error(), word);
    ck_assert_int_eq(bn_sampler_params_check(p), BN_ERR_INVALID);
}

START_TEST(bad_params) {
    bn_sampler_params p;
#define BAD(field, value)                                                                          \
    do {                                                                                           \
        bn_sampler_params_init(&p);                                                                \
        p.field = value;                                                                           \
        expect_bad(&p, #field);                                                                    \
    } while (0)
    BAD(temperature, NAN);
    BAD(temperature, INFINITY);
    BAD(top_k, -1);
    BAD(top_p, 0.0f);
    BAD(top_p, -0.5f);
    BAD(top_p, 1.01f);
    BAD(top_p, NAN);
    BAD(min_p, -0.01f);
    BAD(min_p, 1.5f);
    BAD(min_p, NAN);
    BAD(repeat_penalty, 0.0f);
    BAD(repeat_penalty, -1.0f);
    BAD(repeat_penalty, INFINITY);
    BAD(repeat_penalty, NAN);
    BAD(repeat_last_n, -1);
    BAD(repeat_last_n, BN_SAMPLER_MAX_LAST_N + 1);
    BAD(frequency_penalty, NAN);
    BAD(presence_penalty, -INFINITY);
#undef BAD
    bn_sampler_params_init(&p);
    ck_assert_int_eq(bn_sampler_params_check(&p), BN_OK);
    ck_assert_int_eq(bn_sampler_params_check(NULL), BN_ERR_INVALID);
    bn_sampler *s = NULL;
    ck_assert_int_eq(bn_sampler_create(&p, 0, &s), BN_ERR_INVALID);
    ck_assert_msg(strstr(bn_last_error(), "n_vocab"), "'%s' does not name n_vocab", bn_last_error());
    ck_assert_int_eq(bn_sampler_create(&p, -5, &s), BN_ERR_INVALID);
    ck_assert_int_eq(bn_sampler_create(NULL, 10, &s), BN_ERR_INVALID);
    ck_assert_int_eq(bn_sampler_create(&p, 10, NULL), BN_ERR_INVALID);
    /* Edge values that are fine. */
    p.top_p = 1.0f;
    p.min_p = 1.0f;
    p.top_k = 1000000;
    p.temperature = -1.0f;
    p.frequency_penalty = -2.0f;
    s = make_sampler(&p, 10);
    ck_assert_int_eq(bn_sampler_accept(s, 10), BN_ERR_INVALID);
    ck_assert_int_eq(bn_sampler_accept(s, -1), BN_ERR_INVALID);
    ck_assert_int_eq(bn_sampler_accept(s, 9), BN_OK);
    float x[10] = {0};
    int32_t tok;
    ck_assert_int_eq(bn_sampler_sample(s, NULL, &tok), BN_ERR_INVALID);
    ck_assert_int_eq(bn_sampler_sample(s, x, NULL), BN_ERR_INVALID);
    ck_assert_int_eq(bn_sampler_sample(NULL, x, &tok), BN_ERR_INVALID);
    bn_sampler_free(s);
    bn_sampler_free(NULL);
    bn_sampler_reset(NULL);
}
END_TEST

START_TEST(nan_logits_refused) {
    const int n = 1000;
    float *x = malloc(n * sizeof *x);
    float bad_values[] = {NAN, INFINITY, -INFINITY};
    int positions[] = {0, 5, 500, 998, 999};
    for (int chain = 0; chain < 4; chain++) {
        bn_sampler_params p;
        bn_sampler_params_init(&p); /* chain 0: the default chain */
        if (chain == 1)
            p.temperature = 0.0f;
        if (chain == 2) {
            p.top_k = 0;
            p.min_p = 0.0f;
        }
        if (chain == 3) { /* penalised ids include the bad one */
            p.repeat_penalty = 1.3f;
            p.presence_penalty = 0.5f;
        }
        bn_sampler *s = make_sampler(&p, n);
        for (size_t pi = 0; pi < sizeof positions / sizeof *positions; pi++)
            ck_assert_int_eq(bn_sampler_accept(s, positions[pi]), BN_OK);
        for (size_t v = 0; v < 3; v++)
            for (size_t pi = 0; pi < sizeof positions / sizeof *positions; pi++) {
                trng r = {pi};
                fill_logits(&r, x, n, 2.0, 1);
                x[positions[pi]] = bad_values[v];
                int32_t tok = -7;
                ck_assert_int_eq(bn_sampler_sample(s, x, &tok), BN_ERR_INVALID);
                ck_assert_int_eq(tok, -7);
                ck_assert_ptr_nonnull(strstr(bn_last_error(), "NaN"));
                const bn_sampler_candidate *c;
                size_t nc;
                ck_assert_int_eq(bn_sampler_candidates(s, x, &c, &nc), BN_ERR_INVALID);
            }
        /* Huge finite logits are fine and stay in range. */
        for (int i = 0; i < n; i++)
            x[i] = (i % 2) ? FLT_MAX : -FLT_MAX;
        int32_t tok = -1;
        ck_assert_int_eq(bn_sampler_sample(s, x, &tok), BN_OK);
        ck_assert(tok >= 0 && tok < n && (tok % 2) == 1);
        bn_sampler_free(s);
    }
    free(x);
}
END_TEST

static Suite *sampler_suite(void) {
    Suite *s = suite_create("sampler");
    struct {
        const char *name;
        const TTest *fn;
    } cases[] = {
        {"sampler_greedy", greedy_argmax},
        {"sampler_top_k1", top_k1_is_greedy},
        {"sampler_seed", seed_reproducible},
        {"sampler_distribution", distribution_matches_softmax},
        {"sampler_bad_params", bad_params},
        {"sampler_nan_logits", nan_logits_refused},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        TCase *tc = tcase_create(cases[i].name);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, cases[i].fn);
        suite_add_tcase(s, tc);
    }
    add_oracle_tests(s);
    return s;
}

/* argv[1]: run only this test case (one ctest entry per case). */
int main(int argc, char **argv) {
    SRunner *sr = srunner_create(sampler_suite());
    srunner_run(sr, NULL, argc > 1 ? argv[1] : NULL, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    int run = srunner_ntests_run(sr);
    srunner_free(sr);
    return failed == 0 && run > 0 ? 0 : 1;
}
