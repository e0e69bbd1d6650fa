/* The sampler object and its chain (order and rules: bitnet/sampler.h).
 * Candidates are only listed when some step needs them; the common chains
 * (greedy, top-k first) never list the whole vocabulary. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sample_internal.h"

/* Top-k up to this uses the heap scan, larger k quickselect. */
#define HEAP_MAX_K 1024

struct bn_sampler {
    bn_sampler_params par;
    size_t n_vocab;
    bn_rng rng;
    bn_penalty pen;
    float *work;   /* penalised copy of the logits (NULL: no penalties) */
    bn_cand *cand; /* n_vocab; the chain's current candidates */
    size_t n_cand;
    double total;  /* sum of cand[].p (unnormalised weights) */
    /* Set when nothing filtered: the candidates are all of x, unlisted. */
    const float *whole;
    float max, inv_temp;
};

void bn_sampler_params_init(bn_sampler_params *p) {
    memset(p, 0, sizeof *p);
    p->temperature = 0.8f;
    p->top_k = 40;
    p->top_p = 0.95f;
    p->min_p = 0.05f;
    p->repeat_penalty = 1.0f;
    p->repeat_last_n = 64;
    p->frequency_penalty = 0.0f;
    p->presence_penalty = 0.0f;
    p->seed = 0;
}

bn_status bn_sampler_params_check(const bn_sampler_params *p) {
    if (!p)
        return bn_fail(BN_ERR_INVALID, "sampler: params is NULL");
    if (!isfinite(p->temperature))
        return bn_fail(BN_ERR_INVALID, "sampler: temperature must be a finite number, got %g",
                       (double)p->temperature);
    if (p->top_k < 0)
        return bn_fail(BN_ERR_INVALID, "sampler: top_k must be >= 0 (0 = off), got %d",
                       (int)p->top_k);
    if (!(p->top_p > 0.0f && p->top_p <= 1.0f))
        return bn_fail(BN_ERR_INVALID, "sampler: top_p must be in (0, 1] (1 = off), got %g",
                       (double)p->top_p);
    if (!(p->min_p >= 0.0f && p->min_p <= 1.0f))
        return bn_fail(BN_ERR_INVALID, "sampler: min_p must be in [0, 1] (0 = off), got %g",
                       (double)p->min_p);
    if (!(p->repeat_penalty > 0.0f) || !isfinite(p->repeat_penalty))
        return bn_fail(BN_ERR_INVALID,
                       "sampler: repeat_penalty must be finite and > 0 (1 = off), got %g",
                       (double)p->repeat_penalty);
    if (p->repeat_last_n < 0 || p->repeat_last_n > BN_SAMPLER_MAX_LAST_N)
        return bn_fail(BN_ERR_INVALID, "sampler: repeat_last_n must be in [0, %d], got %d",
                       BN_SAMPLER_MAX_LAST_N, (int)p->repeat_last_n);
    if (!isfinite(p->frequency_penalty))
        return bn_fail(BN_ERR_INVALID, "sampler: frequency_penalty must be finite, got %g",
                       (double)p->frequency_penalty);
    if (!isfinite(p->presence_penalty))
        return bn_fail(BN_ERR_INVALID, "sampler: presence_penalty must be finite, got %g",
                       (double)p->presence_penalty);
    return BN_OK;
}

bn_status bn_sampler_create(const bn_sampler_params *p, int32_t n_vocab, bn_sampler **out) {
    if (!out)
        return bn_fail(BN_ERR_INVALID, "sampler: out is NULL");
    *out = NULL;
    bn_status st = bn_sampler_params_check(p);
    if (st != BN_OK)
        return st;
    if (n_vocab <= 0)
        return bn_fail(BN_ERR_INVALID, "sampler: n_vocab must be > 0, got %d", (int)n_vocab);
    bn_sampler *s = calloc(1, sizeof *s);
    if (!s)
        return bn_fail(BN_ERR_NOMEM, "sampler: out of memory");
    s->par = *p;
    s->n_vocab = (size_t)n_vocab;
    s->cand = malloc(s->n_vocab * sizeof *s->cand);
    int penalised = p->repeat_last_n > 0 && (p->repeat_penalty != 1.0f ||
                                             p->frequency_penalty != 0.0f ||
                                             p->presence_penalty != 0.0f);
    s->pen.repeat = p->repeat_penalty;
    s->pen.freq = p->frequency_penalty;
    s->pen.presence = p->presence_penalty;
    if (penalised) {
        s->pen.cap = (size_t)p->repeat_last_n;
        s->pen.ring = malloc(s->pen.cap * sizeof *s->pen.ring);
        s->pen.count = calloc(s->n_vocab, sizeof *s->pen.count);
        s->work = malloc(s->n_vocab * sizeof *s->work);
    }
    if (!s->cand || (penalised && (!s->pen.ring || !s->pen.count || !s->work))) {
        bn_sampler_free(s);
        return bn_fail(BN_ERR_NOMEM, "sampler: out of memory for a vocabulary of %d",
                       (int)n_vocab);
    }
    bn_sampler_reset(s);
    *out = s;
    return BN_OK;
}

void bn_sampler_free(bn_sampler *s) {
    if (!s)
        return;
    free(s->pen.ring);
    free(s->pen.count);
    free(s->work);
    free(s->cand);
    free(s);
}

void bn_sampler_reset(bn_sampler *s) {
    if (!s)
        return;
    s->pen.len = 0;
    s->pen.head = 0;
    bn_rng_seed(&s->rng, s->par.seed);
}

bn_status bn_sampler_accept(bn_sampler *s, int32_t token) {
    if (!s)
        return bn_fail(BN_ERR_INVALID, "sampler: sampler is NULL");
    if (token < 0 || (size_t)token >= s->n_vocab)
        return bn_fail(BN_ERR_INVALID, "sampler: accepted token %d is outside [0, %zu)",
                       (int)token, s->n_vocab);
    bn_penalty_push(&s->pen, token);
    return BN_OK;
}

/* Every token as a candidate; with_weight also sets p = exp(logit - max). */
static void list_all(const float *x, size_t n, float max, int with_weight, bn_cand *c) {
    for (size_t i = 0; i < n; i++) {
        c[i].id = (int32_t)i;
        c[i].logit = x[i];
        c[i].p = with_weight ? bn_fast_exp(x[i] - max) : 0.0f;
    }
}

static double set_weights(bn_cand *c, size_t n, float max, float inv_temp) {
    double total = 0.0;
    for (size_t i = 0; i < n; i++) {
        c[i].p = bn_fast_exp((c[i].logit - max) * inv_temp);
        total += c[i].p;
    }
    return total;
}

/* Top-p over the whole vocabulary: the normaliser is one linear pass; the
 * kept set is then searched among the tokens within a small logit distance
 * of the max (gathered in a pass that is mostly a SIMD compare), widening
 * the distance when they hold too little mass, else among all. The 1e-6
 * slack keeps a gathered set that only reaches the target by rounding from
 * being taken. */
static size_t top_p_full(const float *x, size_t n, float max, float top_p, bn_cand *c) {
    static const float distances[] = {4.0f, 10.0f, 16.0f};
    double target = (double)top_p * bn_exp_sum(x, n, max, 1.0f);
    for (size_t d = 0; d < sizeof distances / sizeof *distances; d++) {
        size_t m = bn_gather_near_max(x, n, max, distances[d], c);
        if (m > n / 2)
            break;
        double mass = 0.0;
        for (size_t i = 0; i < m; i++)
            mass += c[i].p;
        if (mass >= target * (1.0 + 1e-6))
            return bn_top_mass_select(c, m, target);
    }
    list_all(x, n, max, 1, c);
    return bn_top_mass_select(c, n, target);
}

/* Steps 1-5: leaves the candidates in s->cand[0..n_cand) with weights. */
static bn_status run_chain(bn_sampler *s, const float *logits) {
    if (!logits)
        return bn_fail(BN_ERR_INVALID, "sampler: logits is NULL");
    const bn_sampler_params *par = &s->par;
    size_t n_vocab = s->n_vocab;
    const float *x = logits;
    if (bn_penalty_active(&s->pen)) {
        memcpy(s->work, logits, n_vocab * sizeof *x);
        bn_penalty_apply(&s->pen, s->work);
        x = s->work;
    }
    float max;
    if (bn_max_finite(x, n_vocab, &max) != 0)
        return bn_fail(BN_ERR_INVALID, "sampler: logits contain NaN or infinity");

    bn_cand *c = s->cand;
    float inv_temp = 1.0f / par->temperature;
    if (par->temperature <= 0.0f || !(inv_temp <= 1e30f)) { /* tiny T too */
        size_t id = bn_find_first(x, n_vocab, max);
        c[0].id = (int32_t)id;
        c[0].logit = max;
        c[0].p = 1.0f;
        s->n_cand = 1;
        s->total = 1.0;
        s->whole = NULL;
        return BN_OK;
    }

    size_t n = n_vocab;
    int listed = 0; /* c[0..n) holds the candidates */
    if (par->top_k > 0 && (size_t)par->top_k < n_vocab) {
        n = (size_t)par->top_k;
        if (n <= HEAP_MAX_K) {
            bn_top_k_heap(x, n_vocab, n, c);
        } else {
            list_all(x, n_vocab, max, 0, c);
            bn_top_k_select(c, n_vocab, n);
        }
        listed = 1;
    }
    if (par->top_p < 1.0f) {
        if (listed) {
            double z = set_weights(c, n, max, 1.0f);
            n = bn_top_mass_select(c, n, (double)par->top_p * z);
        } else {
            n = top_p_full(x, n_vocab, max, par->top_p, c);
            listed = 1;
        }
    }
    if (par->min_p > 0.0f) {
        /* p_i >= min_p * p_max  <=>  logit_i - max >= log(min_p) */
        float floor_gap = logf(par->min_p);
        size_t kept = 0;
        if (listed) {
            for (size_t i = 0; i < n; i++)
                if (c[i].logit - max >= floor_gap)
                    c[kept++] = c[i];
        } else {
            for (size_t i = 0; i < n_vocab; i++)
                if (x[i] - max >= floor_gap) {
                    c[kept].id = (int32_t)i;
                    c[kept++].logit = x[i];
                }
            listed = 1;
        }
        n = kept;
    }
    s->whole = NULL;
    if (!listed) { /* temperature alone: drawn from x without listing */
        s->whole = x;
        s->max = max;
        s->inv_temp = inv_temp;
        s->n_cand = n_vocab;
        return BN_OK;
    }
    /* The top token survives every filter, so its weight 1 is in the total. */
    s->total = set_weights(c, n, max, inv_temp);
    s->n_cand = n;
    return BN_OK;
}

bn_status bn_sampler_sample(bn_sampler *s, const float *logits, int32_t *token) {
    if (!s || !token)
        return bn_fail(BN_ERR_INVALID, "sampler: sampler or token is NULL");
    bn_status st = run_chain(s, logits);
    if (st != BN_OK)
        return st;
    if (s->whole) {
        double total = bn_exp_sum(s->whole, s->n_vocab, s->max, s->inv_temp);
        double u = bn_rng_uniform(&s->rng) * total;
        *token = (int32_t)bn_exp_search(s->whole, s->n_vocab, s->max, s->inv_temp, u);
        return BN_OK;
    }
    const bn_cand *c = s->cand;
    if (s->n_cand == 1) {
        *token = c[0].id;
        return BN_OK;
    }
    double u = bn_rng_uniform(&s->rng) * s->total, acc = 0.0;
    size_t last = 0;
    for (size_t i = 0; i < s->n_cand; i++) {
        if (c[i].p <= 0.0f)
            continue;
        acc += c[i].p;
        last = i;
        if (u < acc)
            break;
    }
    *token = c[last].id;
    return BN_OK;
}

bn_status bn_sampler_candidates(bn_sampler *s, const float *logits,
                                const bn_sampler_candidate **cand, size_t *n) {
    if (!s || !cand || !n)
        return bn_fail(BN_ERR_INVALID, "sampler: sampler, cand or n is NULL");
    bn_status st = run_chain(s, logits);
    if (st != BN_OK)
        return st;
    if (s->whole) {
        list_all(s->whole, s->n_vocab, s->max, 0, s->cand);
        s->total = set_weights(s->cand, s->n_vocab, s->max, s->inv_temp);
        s->whole = NULL;
    }
    double inv = 1.0 / s->total;
    for (size_t i = 0; i < s->n_cand; i++)
        s->cand[i].p = (float)(s->cand[i].p * inv);
    *cand = s->cand;
    *n = s->n_cand;
    return BN_OK;
}
