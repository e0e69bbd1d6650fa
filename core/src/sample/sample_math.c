/* The linear passes over the whole vocabulary. They run on every token, so
 * they are written in fixed-width blocks of independent lanes that the
 * compiler turns into SIMD code without -ffast-math; tails run scalar. */
#include <math.h>
#include <string.h>

#include "sample_internal.h"

#define LANES 16

volatile const float bn_exp_floor = -88.0f;

int bn_max_finite(const float *x, size_t n, float *max) {
    float m[LANES], bad[LANES];
    size_t i = 0;
    for (int j = 0; j < LANES; j++) {
        m[j] = x[0];
        bad[j] = 0.0f;
    }
    for (; i + LANES <= n; i += LANES)
        for (int j = 0; j < LANES; j++) {
            float v = x[i + j];
            m[j] = v > m[j] ? v : m[j];
            bad[j] += v * 0.0f; /* NaN for NaN and +-inf, else 0 */
        }
    for (; i < n; i++) {
        m[0] = x[i] > m[0] ? x[i] : m[0];
        bad[0] += x[i] * 0.0f;
    }
    float mm = m[0], bb = 0.0f;
    for (int j = 0; j < LANES; j++) {
        mm = m[j] > mm ? m[j] : mm;
        bb += bad[j];
    }
    *max = mm;
    return bb == 0.0f ? 0 : -1;
}

size_t bn_find_first(const float *x, size_t n, float v) {
    size_t i = 0;
    for (; i + LANES <= n; i += LANES) {
        int hit = 0;
        for (int j = 0; j < LANES; j++)
            hit |= x[i + j] == v;
        if (hit)
            break;
    }
    for (; i < n; i++)
        if (x[i] == v)
            return i;
    return n - 1; /* not reached when v occurs */
}

double bn_exp_sum(const float *x, size_t n, float m, float scale) {
    const float lo = bn_exp_floor;
    float acc[LANES] = {0};
    double total = 0.0;
    size_t i = 0;
    while (i + LANES <= n) { /* flushed to double every 64 blocks */
        size_t end = i + (size_t)64 * LANES;
        if (end > n)
            end = n - (n - i) % LANES;
        for (; i < end; i += LANES)
            for (int j = 0; j < LANES; j++)
                acc[j] += bn_fast_exp_floor((x[i + j] - m) * scale, lo);
        for (int j = 0; j < LANES; j++) {
            total += acc[j];
            acc[j] = 0.0f;
        }
    }
    for (; i < n; i++)
        total += bn_fast_exp((x[i] - m) * scale);
    return total;
}

size_t bn_exp_search(const float *x, size_t n, float m, float scale, double u) {
    const float lo = bn_exp_floor;
    double acc = 0.0;
    size_t i = 0;
    for (; i + LANES <= n; i += LANES) {
        float e[LANES], block = 0.0f;
        for (int j = 0; j < LANES; j++)
            e[j] = bn_fast_exp_floor((x[i + j] - m) * scale, lo);
        for (int j = 0; j < LANES; j++)
            block += e[j];
        if (acc + block > u) {
            double a = acc;
            for (int j = 0; j < LANES; j++) {
                a += e[j];
                if (a > u)
                    return i + (size_t)j;
            }
        }
        acc += block;
    }
    for (; i < n; i++) {
        acc += bn_fast_exp((x[i] - m) * scale);
        if (acc > u)
            return i;
    }
    return bn_find_first(x, n, m); /* u beyond the sum by rounding */
}

size_t bn_gather_near_max(const float *x, size_t n, float m, float cut, bn_cand *out) {
    size_t k = 0;
    float neg = -cut;
    for (size_t i = 0; i < n; i++) {
        if ((i % LANES) == 0 && i + LANES <= n) {
            int hit = 0;
            for (int j = 0; j < LANES; j++)
                hit |= x[i + j] - m >= neg;
            if (!hit) {
                i += LANES - 1;
                continue;
            }
        }
        if (x[i] - m >= neg) {
            out[k].id = (int32_t)i;
            out[k].logit = x[i];
            out[k].p = bn_fast_exp(x[i] - m);
            k++;
        }
    }
    return k;
}
