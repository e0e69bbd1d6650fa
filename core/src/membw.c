/* A STREAM-style read-bandwidth probe: every pool thread sums its share of
 * a buffer far larger than the caches; the best of several passes is the
 * machine's sustainable read rate - the roofline of token generation,
 * which must read every weight once per token. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

#define PROBE_BYTES (512u << 20)
#define PROBE_PASSES 5

typedef struct probe {
    const uint64_t *buf;
    uint64_t sums[1024];
} probe;

static void read_range(void *arg, int64_t begin, int64_t end, int t) {
    probe *p = arg;
    /* four independent accumulators let the compiler keep loads in flight */
    uint64_t a = 0, b = 0, c = 0, d = 0;
    int64_t i = begin;
    for (; i + 4 <= end; i += 4) {
        a += p->buf[i];
        b += p->buf[i + 1];
        c += p->buf[i + 2];
        d += p->buf[i + 3];
    }
    for (; i < end; i++)
        a += p->buf[i];
    p->sums[t & 1023] += a + b + c + d;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

bn_status bn_engine_read_bandwidth(bn_engine *e, double *bytes_per_s) {
    const bn_services *svc = bn_engine_services(e);
    uint64_t *buf = svc->aligned_alloc(svc->core, 4096, PROBE_BYTES);
    if (!buf)
        return bn_fail(BN_ERR_NOMEM, "cannot allocate %u MiB for the bandwidth probe", PROBE_BYTES >> 20);
    int64_t n = PROBE_BYTES / sizeof *buf;
    memset(buf, 1, PROBE_BYTES); /* touch every page before timing */
    probe p = {.buf = buf};
    double best = 0;
    for (int pass = 0; pass < PROBE_PASSES; pass++) {
        double t0 = now();
        svc->parallel_for(svc->core, n, 4096, read_range, &p);
        double dt = now() - t0;
        if (dt > 0 && PROBE_BYTES / dt > best)
            best = PROBE_BYTES / dt;
    }
    svc->aligned_free(svc->core, buf);
    /* keep the sums observable so the reads cannot be optimised away */
    uint64_t total = 0;
    for (int i = 0; i < 1024; i++)
        total += p.sums[i];
    if (total == 0)
        return bn_fail(BN_ERR_INTERNAL, "bandwidth probe read nothing");
    *bytes_per_s = best;
    return BN_OK;
}
