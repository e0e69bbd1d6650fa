/* The sampler's own PRNG: xoshiro256** (Blackman & Vigna), its state filled
 * from the 64-bit seed by splitmix64 so every seed, 0 included, gives a
 * well-mixed nonzero state. Never rand(): that would be shared and
 * platform-dependent. */
#include "sample_internal.h"

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void bn_rng_seed(bn_rng *r, uint64_t seed) {
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

uint64_t bn_rng_next(bn_rng *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double bn_rng_uniform(bn_rng *r) { return (double)(bn_rng_next(r) >> 11) * 0x1.0p-53; }
