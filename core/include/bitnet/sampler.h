/*
 * Token sampler: picks the next token id from a vector of n_vocab logits.
 *
 * The chain, always in this order:
 *
 *   1. penalties    over the distinct ids among the last repeat_last_n
 *                   accepted tokens (bn_sampler_accept), with c = how often
 *                   the id occurs there:
 *                     repetition: logit > 0 ? logit / repeat_penalty
 *                                           : logit * repeat_penalty
 *                     then        logit -= c * frequency_penalty
 *                                          + (c > 0) * presence_penalty
 *   2. top-k        keep the k highest logits (0 = off)
 *   3. top-p        keep the smallest set of highest logits whose softmax
 *                   mass (temperature 1, over what top-k kept) is >= top_p
 *                   (1 = off)
 *   4. min-p        keep the tokens whose probability (temperature 1) is
 *                   >= min_p * the top token's probability (0 = off)
 *   5. temperature  softmax of logit / temperature over what is left
 *   6. draw         one token from that distribution with the sampler's own
 *                   PRNG (xoshiro256**, seeded through splitmix64)
 *
 * temperature <= 0 is greedy: the argmax after penalties (steps 2-6 cannot
 * change it). Whenever logits are equal the lower id ranks first: greedy
 * and top-k = 1 return the lowest id among equal maxima.
 *
 * The same parameters, seed, accepted tokens and logits give the same
 * tokens on every run and machine with IEEE floats. The caller's logits are
 * never written; all scratch memory is allocated by bn_sampler_create. Cost
 * per call is a few linear passes over the logits (no sort of the
 * vocabulary). Logits containing NaN or infinities are refused with
 * BN_ERR_INVALID.
 *
 * A sampler is not thread-safe; use one per sequence.
 */
#ifndef BITNET_SAMPLER_H
#define BITNET_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

#include "bitnet/bitnet.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bn_sampler bn_sampler;

/* Largest repeat_last_n accepted (the history ring is allocated up front). */
#define BN_SAMPLER_MAX_LAST_N (1 << 20)

typedef struct bn_sampler_params {
    float temperature;       /* <= 0: greedy; must not be NaN or infinite */
    int32_t top_k;           /* >= 0; 0 = off; values >= n_vocab are off */
    float top_p;             /* in (0, 1]; 1 = off */
    float min_p;             /* in [0, 1]; 0 = off */
    float repeat_penalty;    /* > 0, finite; 1 = off */
    int32_t repeat_last_n;   /* 0..BN_SAMPLER_MAX_LAST_N; 0 = no penalties */
    float frequency_penalty; /* finite, may be negative; 0 = off */
    float presence_penalty;  /* finite, may be negative; 0 = off */
    uint64_t seed;           /* PRNG seed; same seed, same draws */
} bn_sampler_params;

/* One token of the final distribution (after step 5). */
typedef struct bn_sampler_candidate {
    int32_t id;
    float logit; /* after penalties, before temperature */
    float p;     /* probability; the candidates' p sum to 1 */
} bn_sampler_candidate;

/* Defaults: temperature 0.8, top_k 40, top_p 0.95, min_p 0.05,
 * repeat_penalty 1 (off), repeat_last_n 64, frequency/presence 0, seed 0. */
BN_API void bn_sampler_params_init(bn_sampler_params *p);
/* BN_OK or BN_ERR_INVALID with a message naming the bad field. */
BN_API bn_status bn_sampler_params_check(const bn_sampler_params *p);

BN_API bn_status bn_sampler_create(const bn_sampler_params *p, int32_t n_vocab, bn_sampler **out);
BN_API void bn_sampler_free(bn_sampler *s);
/* Forget the accepted tokens and restart the PRNG from the seed. */
BN_API void bn_sampler_reset(bn_sampler *s);
/* Record a token the sequence now contains (for the penalties). Sampling
 * does not do this by itself: accept the token actually used, and prompt
 * tokens too if they should be penalised. */
BN_API bn_status bn_sampler_accept(bn_sampler *s, int32_t token);

/* Run the chain on logits[n_vocab] and draw one token id into *token. */
BN_API bn_status bn_sampler_sample(bn_sampler *s, const float *logits, int32_t *token);
/* Run steps 1-5 only (no draw, the PRNG is not advanced): *cand points to
 * *n candidates in no particular order, owned by the sampler and valid
 * until its next call. Greedy gives the argmax alone with p = 1. */
BN_API bn_status bn_sampler_candidates(bn_sampler *s, const float *logits,
                                       const bn_sampler_candidate **cand, size_t *n);

#ifdef __cplusplus
}
#endif
#endif /* BITNET_SAMPLER_H */
