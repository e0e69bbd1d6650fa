/* Pieces of the sampler shared between its files (libbitnet-internal). */
#ifndef BITNET_SAMPLE_INTERNAL_H
#define BITNET_SAMPLE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "bitnet/sampler.h"

/* Candidates reuse the public struct; while the chain runs, `p` holds an
 * unnormalised weight. */
typedef bn_sampler_candidate bn_cand;

/* ---- PRNG (sample_rng.c) ------------------------------------------------ */

typedef struct bn_rng {
    uint64_t s[4];
} bn_rng;

void bn_rng_seed(bn_rng *r, uint64_t seed);
uint64_t bn_rng_next(bn_rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double bn_rng_uniform(bn_rng *r);

/* ---- linear passes over the logits (sample_math.c) ----------------------- */

/* exp(x) for x <= 0 with ~2.5e-7 relative error, exactly 0 below -88
 * (where the true value is < 7e-39 and could only ever add rounding noise).
 * `floor` must be -88; loops pass bn_exp_floor read once into a local: seen
 * as a constant, GCC turns the clamp into a branch and stops vectorising. */
static inline float bn_fast_exp_floor(float x, float floor) {
    /* exp(x) = 2^n * exp(r), n = round(x / ln2), |r| <= ln2/2, exp(r) by its
     * degree-6 Taylor polynomial. At x = floor, n = -127 makes the scale 0. */
    float xc = x > floor ? x : floor; /* NaN becomes the floor too */
    float t = xc * 1.44269504088896341f;
    float fn = (t + 12582912.0f) - 12582912.0f; /* round to nearest */
    float r = xc - fn * 0.693145751953125f;     /* ln2, split in two */
    r = r - fn * 1.42860682030941723e-06f;
    float p = 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    union {
        int32_t i;
        float f;
    } scale;
    scale.i = ((int32_t)fn + 127) << 23; /* n in [-127, 0]: 0 or normal */
    return p * scale.f;
}

extern volatile const float bn_exp_floor; /* -88, sample_math.c */

static inline float bn_fast_exp(float x) { return bn_fast_exp_floor(x, -88.0f); }

/* Max of x[0..n) (n >= 1); returns 0 if all are finite, -1 otherwise. */
int bn_max_finite(const float *x, size_t n, float *max);
/* Lowest index i with x[i] == v (v must occur). */
size_t bn_find_first(const float *x, size_t n, float v);
/* Sum over i of exp((x[i] - m) * scale), m >= all x, scale > 0. */
double bn_exp_sum(const float *x, size_t n, float m, float scale);
/* The first i where the running sum of those terms exceeds u (a draw from
 * [0, sum) without listing the vocabulary); the max's index if rounding
 * leaves u beyond the sum. */
size_t bn_exp_search(const float *x, size_t n, float m, float scale, double u);

/* The tokens with x[i] - m >= -cut into out, with p = exp(x[i] - m), in id
 * order; returns how many. */
size_t bn_gather_near_max(const float *x, size_t n, float m, float cut, bn_cand *out);

/* ---- selection (sample_select.c) --------------------------------------- */

/* Rank order: higher logit first, lower id first among equal logits. */
static inline int bn_cand_better(const bn_cand *a, const bn_cand *b) {
    return a->logit > b->logit || (a->logit == b->logit && a->id < b->id);
}

/* The k best of x[0..n) (1 <= k <= n) into out[0..k), unordered, p unset.
 * A min-heap scan: best for small k. */
void bn_top_k_heap(const float *x, size_t n, size_t k, bn_cand *out);
/* Partition c[0..n) so that its k best come first (expected O(n)). */
void bn_top_k_select(bn_cand *c, size_t n, size_t k);
/* Partition c[0..n) (p = weights) so that the smallest best-first prefix
 * whose weight sum reaches `target` comes first; returns its length. If the
 * whole set falls short (rounding), returns n. */
size_t bn_top_mass_select(bn_cand *c, size_t n, double target);

/* ---- penalties (sample_penalty.c) --------------------------------------- */

typedef struct bn_penalty {
    float repeat, freq, presence;
    int32_t *ring;   /* last accepted tokens, capacity cap */
    size_t cap, len, head;
    int32_t *count;  /* n_vocab zeros between calls (scratch) */
} bn_penalty;

int bn_penalty_active(const bn_penalty *pen);
void bn_penalty_push(bn_penalty *pen, int32_t token);
/* Apply the penalties to x (a private copy of the logits), touching only
 * the ids in the window: O(window). */
void bn_penalty_apply(bn_penalty *pen, float *x);

#endif
