/* Thread pool micro-benchmark: the cost of an empty parallel_for (publish,
 * wake, run nothing, barrier) for 1 and 2 threads, as the median over many
 * repetitions in microseconds. Usage: bench-pool [repetitions] [pin]. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "internal.h"

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void nothing(void *arg, int64_t b, int64_t e, int t) {
    (void)arg;
    (void)b;
    (void)e;
    (void)t;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median and 90th percentile of `reps` timed calls, each of `batch`
 * back-to-back parallel_for calls (timer resolution is ~20 ns). */
static int measure(int n_threads, int pin, int reps) {
    bn_pool *pool;
    if (bn_pool_create(n_threads, pin, &pool) != BN_OK) {
        fprintf(stderr, "bench-pool: %s\n", bn_last_error());
        return 1;
    }
    const int batch = 16;
    double *t = malloc((size_t)reps * sizeof *t);
    if (!t) {
        bn_pool_free(pool);
        return 1;
    }
    for (int i = 0; i < 1000; i++) /* warm up: threads running, caches hot */
        bn_pool_parallel_for(pool, n_threads, 1, nothing, NULL);
    for (int r = 0; r < reps; r++) {
        double t0 = now_us();
        for (int i = 0; i < batch; i++)
            bn_pool_parallel_for(pool, n_threads, 1, nothing, NULL);
        t[r] = (now_us() - t0) / batch;
    }
    qsort(t, (size_t)reps, sizeof *t, cmp_double);
    printf("threads=%d pin=%d  empty parallel_for: median %.3f us  p90 %.3f us  (%d x %d calls)\n", n_threads,
           pin, t[reps / 2], t[reps * 9 / 10], reps, batch);
    free(t);
    bn_pool_free(pool);
    return 0;
}

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 20000;
    int pin = argc > 2 ? atoi(argv[2]) : 0;
    if (reps < 10)
        reps = 10;
    int rc = 0;
    for (int n = 1; n <= 2; n++)
        rc |= measure(n, pin, reps);
    return rc;
}
