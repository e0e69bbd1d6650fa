/* Helpers shared by the sampler tests: a test-side random source for
 * logits (independent of the sampler's PRNG) and the rank-order oracle. */
#ifndef SAMPLER_TEST_UTIL_H
#define SAMPLER_TEST_UTIL_H

#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "bitnet/sampler.h"

typedef struct {
    uint64_t x;
} trng;

static inline uint64_t trng_next(trng *r) {
    uint64_t z = (r->x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline double trng_unit(trng *r) { return (double)(trng_next(r) >> 11) * 0x1.0p-53; }

static inline double trng_gauss(trng *r) {
    double u = trng_unit(r), v = trng_unit(r);
    return sqrt(-2.0 * log(u + 1e-300)) * cos(6.283185307179586 * v);
}

/* Logits: gaussian * sigma, plus n_peaks outliers raised by 8..20. */
static inline void fill_logits(trng *r, float *x, int n, double sigma, int n_peaks) {
    for (int i = 0; i < n; i++)
        x[i] = (float)(trng_gauss(r) * sigma);
    for (int j = 0; j < n_peaks; j++)
        x[trng_next(r) % (uint64_t)n] += (float)(8.0 + 12.0 * trng_unit(r));
}

/* Ids sorted best first: higher logit, then lower id. */
static const float *oracle_logits_;
static inline int oracle_cmp_(const void *a, const void *b) {
    int i = *(const int *)a, j = *(const int *)b;
    float x = oracle_logits_[i], y = oracle_logits_[j];
    if (x != y)
        return x > y ? -1 : 1;
    return (i > j) - (i < j);
}
static inline int *oracle_order(const float *x, int n) {
    int *ord = malloc((size_t)n * sizeof *ord);
    ck_assert_ptr_nonnull(ord);
    for (int i = 0; i < n; i++)
        ord[i] = i;
    oracle_logits_ = x;
    qsort(ord, (size_t)n, sizeof *ord, oracle_cmp_);
    return ord;
}

static inline bn_sampler_params plain_params(float temp) {
    bn_sampler_params p;
    bn_sampler_params_init(&p);
    p.temperature = temp;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    return p;
}

static inline bn_sampler *make_sampler(const bn_sampler_params *p, int n_vocab) {
    bn_sampler *s = NULL;
    bn_status st = bn_sampler_create(p, n_vocab, &s);
    ck_assert_msg(st == BN_OK, "create: %s", bn_last_error());
    return s;
}

/* Defined in test_sampler_oracle.c. */
void add_oracle_tests(Suite *s);

#endif
