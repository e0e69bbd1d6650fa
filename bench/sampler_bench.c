/* Sampler micro-benchmark: median microseconds per bn_sampler_sample at a
 * Llama 3 vocabulary (128256) for the chains a host typically runs, on
 * logits with a realistic spread (gaussian * 3 plus a few large outliers,
 * new logits every call). Also the flat worst case for top-p (no outliers,
 * thousands of tokens kept). Usage: bench-sampler [samples] [n_vocab]. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bitnet/sampler.h"

#define N_LOGIT_SETS 16

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static uint64_t state = 42;
static double unit(void) {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (double)((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
}

static void fill(float *x, int n, int outliers) {
    for (int i = 0; i < n; i++)
        x[i] = (float)(3.0 * sqrt(-2.0 * log(unit() + 1e-300)) * cos(6.283185307179586 * unit()));
    for (int j = 0; j < outliers; j++)
        x[(int)(unit() * n)] += (float)(10.0 + 10.0 * unit());
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int run(const char *name, const bn_sampler_params *p, int history, float **sets, int n,
               int samples) {
    bn_sampler *s;
    if (bn_sampler_create(p, n, &s) != BN_OK) {
        fprintf(stderr, "%s: %s\n", name, bn_last_error());
        return 1;
    }
    for (int i = 0; i < history; i++)
        bn_sampler_accept(s, (int32_t)(unit() * n));
    double *t = malloc((size_t)samples * sizeof *t);
    long checksum = 0;
    for (int i = 0; i < samples + 10; i++) {
        int32_t tok;
        double t0 = now_us();
        if (bn_sampler_sample(s, sets[i % N_LOGIT_SETS], &tok) != BN_OK) {
            fprintf(stderr, "%s: %s\n", name, bn_last_error());
            return 1;
        }
        double t1 = now_us();
        if (i >= 10) /* the first calls warm caches */
            t[i - 10] = t1 - t0;
        if (history)
            bn_sampler_accept(s, tok);
        checksum += tok;
    }
    qsort(t, (size_t)samples, sizeof *t, cmp_double);
    printf("%-40s median %8.1f us   p90 %8.1f us   (checksum %ld)\n", name, t[samples / 2],
           t[samples * 9 / 10], checksum);
    free(t);
    bn_sampler_free(s);
    return 0;
}

int main(int argc, char **argv) {
    int samples = argc > 1 ? atoi(argv[1]) : 500;
    int n = argc > 2 ? atoi(argv[2]) : 128256;
    if (samples < 1 || n < 1) {
        fprintf(stderr, "usage: bench-sampler [samples] [n_vocab]\n");
        return 2;
    }
    float *sets[N_LOGIT_SETS], *flat[N_LOGIT_SETS];
    for (int i = 0; i < N_LOGIT_SETS; i++) {
        sets[i] = malloc((size_t)n * sizeof(float));
        flat[i] = malloc((size_t)n * sizeof(float));
        fill(sets[i], n, 16);
        fill(flat[i], n, 0);
    }
    printf("n_vocab %d, %d samples each\n", n, samples);
    bn_sampler_params p;
    int rc = 0;

    bn_sampler_params_init(&p);
    p.temperature = 0.0f;
    rc |= run("greedy", &p, 0, sets, n, samples);

    bn_sampler_params_init(&p);
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    rc |= run("temp 0.8 + top-k 40", &p, 0, sets, n, samples);

    bn_sampler_params_init(&p);
    p.top_k = 0;
    p.min_p = 0.0f;
    rc |= run("temp 0.8 + top-p 0.95", &p, 0, sets, n, samples);

    bn_sampler_params_init(&p);
    p.repeat_penalty = 1.1f;
    p.frequency_penalty = 0.1f;
    p.presence_penalty = 0.1f;
    rc |= run("default chain + penalties (64 history)", &p, 64, sets, n, samples);

    bn_sampler_params_init(&p);
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    rc |= run("temp 0.8 only (whole vocabulary)", &p, 0, sets, n, samples);

    bn_sampler_params_init(&p);
    p.top_k = 0;
    p.min_p = 0.0f;
    rc |= run("top-p 0.95, flat logits (worst case)", &p, 0, flat, n, samples);

    for (int i = 0; i < N_LOGIT_SETS; i++) {
        free(sets[i]);
        free(flat[i]);
    }
    return rc;
}
