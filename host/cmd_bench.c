/* `bitnet bench`: prompt processing (ppN) and generation (tgN) speed in the
 * manner of llama-bench: repetitions, mean +- sd, markdown or JSON. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <bitnet/gguf.h>

#include "bench_parallel.h"
#include "model_setup.h"

#include "git_commit.h" /* generated at build time: BITNET_GIT_COMMIT */

static int usage(FILE *f, int code) {
    fprintf(f, "usage: bitnet bench [-m MODEL] [options]\n\n"
               "Measures prompt processing (ppN: N tokens in batches) and generation (tgN: N tokens one at a\n"
               "time from an empty context) in tokens/s over repetitions, after one warm-up run.\n\noptions:\n"
               "  -p, --n-prompt N       prompt tokens (default 512; 0 = skip)\n"
               "  -n, --n-gen N          generated tokens (default 128; 0 = skip)\n"
               "  -r, --repetitions N    runs per test (default 3)\n"
               "  -o, --output FMT       md (default) or json\n"
               "      --no-bandwidth     skip the memory read-bandwidth probe (roofline figures)\n"
               "      --parallel LIST    instead: decode N sequences together for each N in LIST (e.g.\n"
               "                         1,4,16,64), one forward pass per step for all; prints aggregate\n"
               "                         tokens/s and the KV pool's use (-p default 128, -n default 32);\n"
               "                         the Ns take turns repetition by repetition (each with its own\n"
               "                         pool, all held at once), ratios are per-repetition medians\n"
               "      --shared-prefix N  with --parallel: the first N prompt tokens are the same in every\n"
               "                         sequence (computed once, shared through the pool)\n" BN_MODEL_OPTS_HELP BN_COMMON_OPTS_HELP
               "  -h, --help             this text\n");
    return code;
}

/* s as the inside of a JSON string (quotes, backslashes, control bytes). */
static const char *json_str(const char *s, char *buf, size_t len) {
    size_t o = 0;
    for (; *s && o + 7 < len; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            o += (size_t)snprintf(buf + o, len - o, "\\%c", c);
        else if (c < 0x20)
            o += (size_t)snprintf(buf + o, len - o, "\\u%04x", c);
        else
            buf[o++] = (char)c;
    }
    buf[o] = 0;
    return buf;
}

typedef struct result {
    const char *test;
    int n;
    double mean, sd, median, *ts;
} result;

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median_of(const double *x, int n) {
    double *c = malloc(sizeof *c * (size_t)n);
    if (!c)
        return x[0];
    memcpy(c, x, sizeof *c * (size_t)n);
    qsort(c, (size_t)n, sizeof *c, cmp_double);
    double m = n % 2 ? c[n / 2] : 0.5 * (c[n / 2 - 1] + c[n / 2]);
    free(c);
    return m;
}

static void stats(const double *x, int n, double *mean, double *sd) {
    double s = 0, q = 0;
    for (int i = 0; i < n; i++)
        s += x[i];
    *mean = s / n;
    for (int i = 0; i < n; i++)
        q += (x[i] - *mean) * (x[i] - *mean);
    *sd = n > 1 ? sqrt(q / (n - 1)) : 0;
}

/* Tokens per second of one run; < 0 on error. Logits of the last token
 * of each evaluation are computed, as a real prompt or decode step needs. */
static double run_once(bn_session *s, const int32_t *toks, int n, int gen, float *logits) {
    bn_session_reset(s);
    double t0 = bn_now();
    if (!gen) {
        if (bn_session_eval(s, toks, n, logits, 0) != BN_OK)
            return -1;
    } else {
        for (int i = 0; i < n; i++)
            if (bn_session_eval(s, &toks[i], 1, logits, 0) != BN_OK)
                return -1;
    }
    return n / (bn_now() - t0);
}

int bn_cmd_bench(int argc, char **argv) {
    bn_host_opts o;
    bn_host_opts_init(&o);
    int n_prompt = -1, n_gen = -1, reps = 3, json = 0, probe_bw = 1, shared = 0;
    const char *v, *parallel = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help"))
            return usage(stdout, 0);
        if (bn_cli_matches(a, "-p", "--n-prompt")) {
            if (!(v = bn_cli_value(argc, argv, &i, "--n-prompt")) || !bn_cli_int(v, "--n-prompt", 0, 1 << 20, &n_prompt))
                return 2;
        } else if (bn_cli_matches(a, "-n", "--n-gen")) {
            if (!(v = bn_cli_value(argc, argv, &i, "--n-gen")) || !bn_cli_int(v, "--n-gen", 0, 1 << 20, &n_gen))
                return 2;
        } else if (bn_cli_matches(a, "-r", "--repetitions")) {
            if (!(v = bn_cli_value(argc, argv, &i, "--repetitions")) || !bn_cli_int(v, "--repetitions", 1, 1000, &reps))
                return 2;
        } else if (bn_cli_matches(a, NULL, "--parallel")) {
            if (!(parallel = bn_cli_value(argc, argv, &i, "--parallel")))
                return 2;
        } else if (bn_cli_matches(a, NULL, "--shared-prefix")) {
            if (!(v = bn_cli_value(argc, argv, &i, "--shared-prefix")) ||
                !bn_cli_int(v, "--shared-prefix", 0, 1 << 20, &shared))
                return 2;
        } else if (!strcmp(a, "--no-bandwidth")) {
            probe_bw = 0;
        } else if (bn_cli_matches(a, "-o", "--output")) {
            if (!(v = bn_cli_value(argc, argv, &i, "--output")))
                return 2;
            if (strcmp(v, "md") && strcmp(v, "json")) {
                fprintf(stderr, "bitnet bench: --output wants md or json\n");
                return 2;
            }
            json = !strcmp(v, "json");
        } else {
            int r = bn_host_opt(argc, argv, &i, &o);
            if (r < 0)
                return 2;
            if (r == 0) {
                fprintf(stderr, "bitnet bench: unknown option '%s'\n", a);
                return usage(stderr, 2);
            }
        }
    }
    if (n_prompt < 0)
        n_prompt = parallel ? 128 : 512;
    if (n_gen < 0)
        n_gen = parallel ? 32 : 128;
    if (shared && !parallel) {
        fprintf(stderr, "bitnet bench: --shared-prefix goes with --parallel\n");
        return 2;
    }
    if (parallel) {
        if (o.n_ctx == 0)
            o.n_ctx = n_prompt + n_gen;
        bn_host ph;
        if (bn_host_open(&o, 0, &ph))
            return 1;
        int prc = bn_bench_parallel(&ph, &o, parallel, n_prompt, n_gen, reps, shared, json);
        bn_host_close(&ph);
        return prc;
    }
    int need = n_prompt > n_gen ? n_prompt : n_gen;
    if (need == 0) {
        fprintf(stderr, "bitnet bench: nothing to measure (-p 0 -n 0)\n");
        return 2;
    }
    if (o.n_ctx == 0)
        o.n_ctx = need;
    bn_host h;
    if (bn_host_open(&o, 0, &h))
        return 1;
    const bn_hparams *hp = bn_model_hparams(h.model);
    bn_session *s = NULL;
    int32_t *toks = malloc(sizeof *toks * (size_t)need);
    double *ts = malloc(sizeof *ts * (size_t)reps * 2);
    float *logits = malloc(sizeof *logits * (size_t)hp->n_vocab);
    int rc = 1;
    if (!toks || !ts || !logits || bn_session_create(h.model, &s) != BN_OK) {
        bn_cli_error("creating a session");
        goto done;
    }
    srand(42);
    for (int i = 0; i < need; i++)
        toks[i] = rand() % hp->n_vocab;
    result res[2];
    int n_res = 0;
    for (int gen = 0; gen < 2; gen++) {
        int n = gen ? n_gen : n_prompt;
        if (!n)
            continue;
        if (run_once(s, toks, n, gen, logits) < 0) { /* warm-up */
            bn_cli_error("benchmark run");
            goto done;
        }
        result *r = &res[n_res++];
        r->ts = ts + (size_t)reps * (size_t)gen;
        r->test = gen ? "tg" : "pp";
        r->n = n;
        for (int k = 0; k < reps; k++)
            if ((r->ts[k] = run_once(s, toks, n, gen, logits)) < 0) {
                bn_cli_error("benchmark run");
                goto done;
            }
        stats(r->ts, reps, &r->mean, &r->sd);
        r->median = median_of(r->ts, reps);
    }
    /* Decode reads every weight once per token; the embedding lookup reads
     * one row, but a tied embedding is read whole as the LM head. */
    uint64_t bytes_per_token = 0;
    const bn_gguf *g = bn_model_gguf(h.model);
    for (uint64_t i = 0; i < bn_gguf_tensor_count(g); i++) {
        const bn_gguf_tensor *t = bn_gguf_tensor_at(g, i);
        if (hp->tied_embeddings || strcmp(t->name, "token_embd.weight"))
            bytes_per_token += t->size;
    }
    /* Peak resident memory so far: load plus the runs, before the bandwidth
     * probe allocates its own buffer. Linux reports ru_maxrss in KiB. */
    struct rusage ru;
    double peak_rss = getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss * 1024.0 : 0;
    double file_bytes = (double)bn_gguf_file_size(g);
    double bw = 0;
    if (probe_bw && n_gen && bn_engine_read_bandwidth(h.engine, &bw) != BN_OK)
        bn_cli_error("bandwidth probe (figures without it)");
    double tg = 0;
    for (int i = 0; i < n_res; i++)
        if (res[i].test[0] == 't')
            tg = res[i].mean;
    double roof = bw > 0 ? bw / (double)bytes_per_token : 0;
    const bn_hw_info *hw = bn_engine_hw(h.engine);
    const bn_mem_plan *p = bn_model_mem_plan(h.model);
    const char *cpu = hw->cpu_brand[0] ? hw->cpu_brand : hw->cpu_vendor;
    int threads = bn_engine_threads(h.engine);
    if (json) {
        char jpath[8192], jcpu[512];
        printf("[\n");
        for (int i = 0; i < n_res; i++)
            printf("  {\"model\": \"%s\", \"arch\": \"%s\", \"size_bytes\": %llu, \"backend\": \"%s\", \"threads\": %d, "
                   "\"kernel\": \"%s\", \"kv_type\": \"%s\", \"cpu\": \"%s\", \"commit\": \"%s\", \"test\": \"%s%d\", \"n_tokens\": %d, \"repetitions\": %d, "
                   "\"avg_ts\": %.3f, \"stddev_ts\": %.3f, \"median_ts\": %.3f, \"weight_bytes_per_token\": %llu, "
                   "\"read_bandwidth_gbs\": %.3f, \"roofline_ts\": %.3f, \"roofline_pct\": %.1f, "
                   "\"load_s\": %.3f, \"peak_rss_bytes\": %.0f, \"file_bytes\": %.0f}%s\n",
                   json_str(h.model_path, jpath, sizeof jpath), hp->arch_name, (unsigned long long)p->weight_total,
                   bn_model_backend_name(h.model), threads, h.settings.kernel ? h.settings.kernel : "auto",
                   bn_host_kv_name(o.kv_type), json_str(cpu, jcpu, sizeof jcpu), BITNET_GIT_COMMIT, res[i].test, res[i].n, res[i].n, reps, res[i].mean, res[i].sd, res[i].median,
                   (unsigned long long)bytes_per_token, bw / 1e9, roof,
                   res[i].test[0] == 't' && roof > 0 ? 100.0 * res[i].mean / roof : 0.0, h.load_seconds, peak_rss,
                   file_bytes, i + 1 < n_res ? "," : "");
        printf("]\n");
    } else {
        printf("model: %s (%s, %.1f MiB weights)\ncpu: %s, commit %s; kernel %s, KV cache %s\n\n", h.model_path,
               hp->arch_name, p->weight_total / 1048576.0, cpu, BITNET_GIT_COMMIT,
               h.settings.kernel ? h.settings.kernel : "auto", bn_host_kv_name(o.kv_type));
        printf("| backend | threads | test | t/s (mean ± sd) | median |\n|---|---:|---:|---:|---:|\n");
        for (int i = 0; i < n_res; i++)
            printf("| %s | %d | %s%d | %.2f ± %.2f | %.2f |\n", bn_model_backend_name(h.model), threads, res[i].test,
                   res[i].n, res[i].mean, res[i].sd, res[i].median);
        if (tg > 0)
            printf("\ngeneration streams %.1f MiB of weights per token: %.2f GB/s", bytes_per_token / 1048576.0,
                   tg * (double)bytes_per_token / 1e9);
        if (tg > 0 && roof > 0)
            printf("; measured read bandwidth %.2f GB/s (%d threads) -> roofline %.2f tok/s, reached %.1f%%", bw / 1e9,
                   threads, roof, 100.0 * tg / roof);
        if (tg > 0)
            printf("\n");
        printf("load %.2f s (map, validate, weight_prepare); peak RSS %.2f GB = %.2fx the %.2f GB file\n",
               h.load_seconds, peak_rss / 1e9, file_bytes > 0 ? peak_rss / file_bytes : 0.0, file_bytes / 1e9);
    }
    rc = 0;
done:
    bn_session_free(s);
    free(toks);
    free(ts);
    free(logits);
    bn_host_close(&h);
    return rc;
}
