/*
 * bench-kernels: median time per call of the hot ops on every usable
 * plugin (or those named with -b a,b,...), and the speed-up over the
 * reference plugin.
 *
 *   bench-kernels [-t THREADS] [-b PLUGINS] [--only GROUP,...] [--min-ms MS]
 *                 [--kernels auto,mad,tl1,tl2] [--tokens N,...] [--no-reference] [--cold MB]
 *
 * --kernels runs every ternary matmul case once per listed kernel (rows
 * side by side, for A/B comparisons); --tokens replaces the token counts
 * (1 and 8) of the ternary matmul cases; --no-reference skips the (slow)
 * reference plugin and its ratios; --cold MB makes each matmul case cycle
 * over copies of its weight totalling >= MB of source bytes, so weights
 * stream from DRAM as in a real decode instead of sitting in cache.
 * Each case is set up once per plugin (weights prepared, tensors in the
 * plugin's buffers), warmed up with one call, then timed in samples of k
 * calls (k chosen so a sample lasts >= 2 ms) until --min-ms have passed
 * and at least 3 samples exist (at most 50); the median sample / k is
 * reported. ratio = reference median / plugin median.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_kernels.h"

#define MAX_PLUGINS 8
#define MAX_SAMPLES 50

uint64_t bk_rand(uint64_t *s) {
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1Dull;
}

float bk_randf(uint64_t *s) { return (float)((double)(bk_rand(s) >> 40) / 8388608.0 - 1.0); }

int bk_tensor_new(bk_plugin *p, bk_tensor *t, int32_t type, int64_t ne0, int64_t ne1, int64_t ne2) {
    size_t es = type == BN_TYPE_F32 || type == BN_TYPE_I32 ? 4 : type == BN_TYPE_I8 ? 1 : 2;
    memset(t, 0, sizeof *t);
    t->t.type = type;
    t->t.ne[0] = ne0;
    t->t.ne[1] = ne1;
    t->t.ne[2] = ne2;
    t->t.ne[3] = 1;
    t->t.nb[0] = (int64_t)es;
    t->t.nb[1] = ne0 * (int64_t)es;
    t->t.nb[2] = t->t.nb[1] * ne1;
    t->t.nb[3] = t->t.nb[2] * ne2;
    if (p->be->buffer_alloc(p->ctx, (size_t)t->t.nb[3], &t->buf) != BN_OK)
        return 0;
    t->t.data = p->be->buffer_base(p->ctx, t->buf);
    return 1;
}

int bk_tensor_fill(bk_plugin *p, bk_tensor *t, uint64_t seed, float amp) {
    size_t n = (size_t)(t->t.ne[0] * t->t.ne[1] * t->t.ne[2]), es = (size_t)t->t.nb[0];
    unsigned char *h = malloc(n * es);
    if (!h)
        return 0;
    seed = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < n; i++) {
        float v = bk_randf(&seed) * amp;
        if (t->t.type == BN_TYPE_F32) {
            memcpy(h + 4 * i, &v, 4);
        } else if (t->t.type == BN_TYPE_F16) { /* |v| < 2: exponent 15 +- a few */
            uint32_t x;
            memcpy(&x, &v, 4);
            uint32_t e = (x >> 23) & 0xff;
            uint16_t f = e < 113 ? 0 : (uint16_t)(((x >> 16) & 0x8000u) | ((e - 112) << 10) | ((x >> 13) & 0x3ff));
            memcpy(h + 2 * i, &f, 2);
        } else {
            memset(h + es * i, 0, es);
        }
    }
    int ok = p->be->upload(p->ctx, t->buf, 0, h, n * es) == BN_OK;
    free(h);
    return ok;
}

void bk_tensor_free(bk_plugin *p, bk_tensor *t) {
    if (t->buf)
        p->be->buffer_free(p->ctx, t->buf);
    t->buf = NULL;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median seconds per call, or a negative value on failure. */
static double time_case(bk_case *c, bk_plugin *p, double min_s) {
    if (!c->run(c, p)) /* warm-up */
        return -1.0;
    double t0 = now_s();
    if (!c->run(c, p))
        return -1.0;
    double one = now_s() - t0;
    int k = one >= 2e-3 ? 1 : (int)(2e-3 / (one > 1e-7 ? one : 1e-7)) + 1;
    double samples[MAX_SAMPLES], start = now_s();
    int n = 0;
    while (n < MAX_SAMPLES && (n < 3 || now_s() - start < min_s)) {
        double s0 = now_s();
        for (int i = 0; i < k; i++)
            if (!c->run(c, p))
                return -1.0;
        samples[n++] = (now_s() - s0) / k;
    }
    qsort(samples, (size_t)n, sizeof samples[0], cmp_double);
    return samples[n / 2];
}

static int wanted(const char *list, const char *name) {
    if (!list || !*list)
        return 1;
    size_t n = strlen(name);
    for (const char *p = strstr(list, name); p; p = strstr(p + 1, name))
        if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == 0))
            return 1;
    return 0;
}

static void usage(void) {
    fprintf(stderr, "usage: bench-kernels [-t THREADS] [-b PLUGIN,...] [--only GROUP,...] [--min-ms MS]\n"
                    "                     [--kernels auto,mad,tl1,tl2] [--tokens N,...] [--no-reference]\n"
                    "                     [--cold MB]\n"
                    "groups: matmul (ternary) lm_head (F16, Q8_0 128256x2560) rms_norm rope attention ffn_act add\n"
                    "        quantize_act\n");
}

static int parse_kernels(const char *list, unsigned *mask) {
    static const char *names[] = {"auto", "mad", "tl1", "tl2"};
    *mask = 0;
    for (int k = 0; k < 4; k++)
        if (wanted(list, names[k]))
            *mask |= 1u << k;
    return *mask != 0;
}

static int parse_tokens(const char *list, bk_opts *o) {
    o->n_tokens = 0;
    for (const char *p = list; *p && o->n_tokens < 8;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 1 || v > 4096 || (*end && *end != ','))
            return 0;
        o->tokens[o->n_tokens++] = v;
        p = *end ? end + 1 : end;
    }
    return o->n_tokens > 0;
}

int main(int argc, char **argv) {
    const char *plugins = NULL, *only = NULL;
    double min_s = 0.3;
    bk_opts opts = {0};
    int no_ref = 0;
    bn_cli_overrides cli;
    bn_cli_overrides_init(&cli);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-t") && i + 1 < argc)
            cli.threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-b") && i + 1 < argc)
            plugins = argv[++i];
        else if (!strcmp(argv[i], "--only") && i + 1 < argc)
            only = argv[++i];
        else if (!strcmp(argv[i], "--min-ms") && i + 1 < argc)
            min_s = atof(argv[++i]) / 1000.0;
        else if (!strcmp(argv[i], "--cold") && i + 1 < argc)
            opts.cold_mb = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--no-reference"))
            no_ref = 1;
        else if (!strcmp(argv[i], "--kernels") && i + 1 < argc && parse_kernels(argv[i + 1], &opts.kernels))
            i++;
        else if (!strcmp(argv[i], "--tokens") && i + 1 < argc && parse_tokens(argv[i + 1], &opts))
            i++;
        else {
            usage();
            return 2;
        }
    }
    bn_settings settings;
    bn_engine *e = NULL;
    if (bn_settings_resolve(&cli, &settings) != BN_OK || bn_engine_create(&settings, &e) != BN_OK) {
        fprintf(stderr, "bench-kernels: %s\n", bn_last_error());
        return 1;
    }
    bk_plugin ps[MAX_PLUGINS];
    int np = 0, ref = -1;
    /* the reference first: every ratio needs it */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < bn_engine_plugin_count(e) && np < MAX_PLUGINS; i++) {
            const bn_plugin_report *r = bn_engine_plugin(e, i);
            int is_ref = strcmp(r->name, "reference") == 0;
            if (!r->usable || is_ref != (pass == 0) || (is_ref && no_ref) || (!is_ref && !wanted(plugins, r->name)))
                continue;
            bk_plugin *p = &ps[np];
            p->name = r->name;
            if (bn_engine_open_backend(e, r->name, &p->be, &p->ctx) != BN_OK) {
                fprintf(stderr, "bench-kernels: cannot open %s: %s\n", r->name, bn_last_error());
                continue;
            }
            if (is_ref)
                ref = np;
            np++;
        }
    printf("bench-kernels: %d thread(s); median time per call; ratio = reference / plugin\n",
           bn_engine_threads(e));
    printf("%-40s", "case");
    for (int i = 0; i < np; i++)
        printf(" %14s", ps[i].name);
    for (int i = 0; i < np; i++)
        if (i != ref)
            printf(" %10s", "ratio");
    printf("\n");
    bk_case *cs;
    int nc = bk_cases(&opts, &cs);
    for (int ci = 0; ci < nc; ci++) {
        bk_case *c = &cs[ci];
        if (!wanted(only, c->group))
            continue;
        double med[MAX_PLUGINS];
        printf("%-40s", c->label);
        fflush(stdout);
        for (int i = 0; i < np; i++) {
            med[i] = -1.0;
            if (c->setup(c, &ps[i]))
                med[i] = time_case(c, &ps[i], min_s);
            c->teardown(c, &ps[i]);
            if (med[i] < 0)
                printf(" %14s", "n/a");
            else
                printf(" %11.3f ms", med[i] * 1e3);
            fflush(stdout);
        }
        for (int i = 0; i < np; i++)
            if (i != ref) {
                if (ref >= 0 && med[i] > 0 && med[ref] > 0)
                    printf(" %9.2fx", med[ref] / med[i]);
                else
                    printf(" %10s", "-");
            }
        printf("\n");
        if (c->finish)
            c->finish(c);
    }
    bn_engine_free(e);
    bn_settings_free(&settings);
    return 0;
}
