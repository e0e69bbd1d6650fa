/* `bitnet bench --parallel N1,N2,...`: aggregate decode speed of N
 * sequences decoded together (one forward pass per step for all of them),
 * after a prompt of -p tokens each, and what the KV pool holds. Each N gets
 * a pool of its own (all held at once); the prompts are read in passes of
 * up to -b rows, then -n decode steps of N rows are timed, -r times from
 * the same prompts (the sequences are cut back to their prompts between
 * repetitions), the Ns taking turns repetition by repetition. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <bitnet/batch.h>

#include "bench_parallel.h"

typedef struct par_result {
    int n;
    double pp_ts, tg_ts, step_ms;
    double speedup; /* median over repetitions of tg_ts / the first N's tg_ts */
    bn_kv_pool_stats st;
    int32_t pages_unshared; /* what the prompts would take without sharing */
} par_result;

static int argmax(const float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best])
            best = i;
    return best;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int parse_list(const char *s, int *out, int max) {
    int n = 0;
    while (*s && n < max) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v < 1 || v > 4096 || (*end && *end != ','))
            return -1;
        out[n++] = (int)v;
        s = *end ? end + 1 : end;
    }
    return *s ? -1 : n;
}

/* Reads every prompt (sharing the first `shared` tokens through the pool's
 * prefix cache) and returns the prompt tokens/s, or < 0. */
static double prefill(bn_kv_pool *p, const int32_t *seq, int N, int32_t *const *prompt, int n_prompt, int batch,
                      float *logits, int32_t *last, int32_t nv) {
    bn_batch_row *rows = malloc(sizeof *rows * (size_t)batch);
    if (!rows)
        return -1;
    double t0 = bn_now();
    int32_t run = 0;
    for (int i = 0; i < N; i++) {
        int32_t from;
        if (bn_seq_reuse_prefix(p, seq[i], prompt[i], n_prompt, &from) != BN_OK) {
            free(rows);
            return -1;
        }
        for (int32_t k = from; k < n_prompt; k += batch) {
            int32_t b = n_prompt - k < batch ? n_prompt - k : batch;
            for (int32_t j = 0; j < b; j++)
                rows[j] = (bn_batch_row){.seq = seq[i], .token = prompt[i][k + j], .pos = k + j,
                                         .logits = k + j == n_prompt - 1};
            if (bn_decode(p, rows, b, logits) != BN_OK) {
                free(rows);
                return -1;
            }
            run += b;
        }
        last[i] = argmax(logits, nv);
    }
    free(rows);
    return run / (bn_now() - t0);
}

/* One N of the list: its pool, sequences and timings. */
typedef struct par_run {
    int N;
    bn_kv_pool *p;
    int32_t *seq, *last, **prompt;
    float *logits;
    bn_batch_row *rows;
    double *ts; /* decode tokens/s per timed repetition */
    par_result r;
} par_run;

static void par_close(par_run *x) {
    if (x->prompt)
        for (int i = 0; i < x->N; i++)
            free(x->prompt[i]);
    free(x->prompt);
    free(x->seq);
    free(x->last);
    free(x->logits);
    free(x->rows);
    free(x->ts);
    bn_kv_pool_free(x->p);
    memset(x, 0, sizeof *x);
}

/* The pool of N sequences with their prompts read. */
static int par_open(bn_host *h, const bn_host_opts *o, int N, int n_prompt, int n_gen, int reps, int shared,
                    par_run *x) {
    bn_model *m = h->model;
    int32_t nv = bn_model_hparams(m)->n_vocab;
    bn_kv_pool_opts po;
    bn_kv_pool_opts_init(&po);
    po.max_seqs = N;
    po.max_seq_len = n_prompt + n_gen;
    po.max_batch = o->n_batch > N ? o->n_batch : N;
    if (h->kv_page)
        po.page_tokens = h->kv_page;
    po.budget_bytes = h->kv_budget;
    memset(x, 0, sizeof *x);
    x->N = N;
    x->r.n = N;
    x->seq = malloc(sizeof *x->seq * (size_t)N);
    x->last = malloc(sizeof *x->last * (size_t)N);
    x->prompt = calloc((size_t)N, sizeof *x->prompt);
    x->logits = malloc(sizeof *x->logits * (size_t)nv * (size_t)N);
    x->rows = malloc(sizeof *x->rows * (size_t)N);
    x->ts = malloc(sizeof *x->ts * (size_t)reps);
    if (!x->seq || !x->last || !x->prompt || !x->logits || !x->rows || !x->ts) {
        fprintf(stderr, "bitnet bench: out of memory\n");
        return 1;
    }
    if (bn_kv_pool_create(m, &po, &x->p) != BN_OK) {
        bn_cli_error("creating the KV pool");
        return 1;
    }
    srand(1000 + N);
    for (int i = 0; i < N; i++) {
        if (!(x->prompt[i] = malloc(sizeof **x->prompt * (size_t)(n_prompt > 0 ? n_prompt : 1))) ||
            bn_seq_new(x->p, &x->seq[i]) != BN_OK) {
            bn_cli_error("a new sequence");
            return 1;
        }
        for (int k = 0; k < n_prompt; k++)
            x->prompt[i][k] = k < shared ? (int32_t)((k * 7919 + 13) % nv) : rand() % nv;
    }
    if (n_prompt > 0 &&
        (x->r.pp_ts = prefill(x->p, x->seq, N, x->prompt, n_prompt, po.max_batch, x->logits, x->last, nv)) < 0) {
        bn_cli_error("reading the prompts");
        return 1;
    }
    return 0;
}

/* Repetition rep (0 = warm-up, untimed): n_gen decode steps of all N
 * sequences, which are then cut back to their prompts. */
static int par_rep(const bn_host *h, par_run *x, int n_prompt, int n_gen, int rep, int reps) {
    int32_t nv = bn_model_hparams(h->model)->n_vocab;
    double t0 = bn_now();
    for (int step = 0; step < n_gen; step++) {
        for (int i = 0; i < x->N; i++)
            x->rows[i] = (bn_batch_row){.seq = x->seq[i], .token = x->last[i], .pos = -1, .logits = 1};
        if (bn_decode(x->p, x->rows, x->N, x->logits) != BN_OK) {
            bn_cli_error("decoding");
            return 1;
        }
        for (int i = 0; i < x->N; i++)
            x->last[i] = argmax(x->logits + (size_t)i * (size_t)nv, nv);
    }
    double dt = bn_now() - t0;
    if (rep == reps)
        bn_kv_pool_get_stats(x->p, &x->r.st); /* at the longest */
    if (rep > 0)
        x->ts[rep - 1] = (double)x->N * n_gen / dt;
    for (int i = 0; i < x->N && rep < reps; i++)
        bn_seq_truncate(x->p, x->seq[i], n_prompt);
    return 0;
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Every N of the list, repetition by repetition in turn (N1, N2, ...,
 * N1, N2, ...), so a slow spell of a shared machine lands on all of them;
 * per N the median tokens/s, and the median of the per-repetition ratios
 * to the first N. */
static int run_all(bn_host *h, const bn_host_opts *o, const int *ns, int n_ns, int n_prompt, int n_gen, int reps,
                   int shared, par_result *res) {
    par_run *x = calloc((size_t)n_ns, sizeof *x);
    double *ratio = malloc(sizeof *ratio * (size_t)reps);
    int rc = 1;
    if (!x || !ratio) {
        fprintf(stderr, "bitnet bench: out of memory\n");
        goto done;
    }
    for (int k = 0; k < n_ns; k++)
        if (par_open(h, o, ns[k], n_prompt, n_gen, reps, shared, &x[k]))
            goto done;
    for (int rep = 0; rep <= reps; rep++)
        for (int k = 0; k < n_ns; k++)
            if (par_rep(h, &x[k], n_prompt, n_gen, rep, reps))
                goto done;
    for (int k = n_ns - 1; k >= 0; k--) {
        par_result *r = &x[k].r;
        for (int i = 0; i < reps; i++)
            ratio[i] = x[k].ts[i] / x[0].ts[i];
        r->speedup = median(ratio, reps);
        r->tg_ts = median(x[k].ts, reps);
        r->step_ms = 1000.0 * r->n / r->tg_ts;
        r->pages_unshared = r->n * ((n_prompt + n_gen + r->st.page_tokens - 1) / r->st.page_tokens);
        res[k] = *r;
    }
    rc = 0;
done:
    for (int k = 0; x && k < n_ns; k++)
        par_close(&x[k]);
    free(x);
    free(ratio);
    return rc;
}

int bn_bench_parallel(bn_host *h, const bn_host_opts *o, const char *list, int n_prompt, int n_gen, int reps,
                      int shared, int json) {
    int ns[32];
    int n_ns = parse_list(list, ns, 32);
    if (n_ns < 1) {
        fprintf(stderr, "bitnet bench: --parallel wants a comma-separated list of sequence counts (1..4096), got "
                        "'%s'\n", list);
        return 2;
    }
    if (n_gen < 1 || shared > n_prompt) {
        fprintf(stderr, "bitnet bench: --parallel needs -n >= 1 and --shared-prefix <= -p\n");
        return 2;
    }
    par_result res[32];
    const bn_hparams *hp = bn_model_hparams(h->model);
    int threads = bn_engine_threads(h->engine);
    if (!json)
        printf("model: %s (%s), backend %s, %d threads, KV %s; %d prompt tokens per sequence (%d shared), "
               "%d decode steps, median of %d (the Ns take turns, repetition by repetition; x N=%d: median of the\n"
               "per-repetition ratios)\n\n"
               "| N | prompt t/s | decode t/s (all N) | ms per step | x N=%d | pages used | cached | KV MiB used |"
               " of budget MiB |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
               h->model_path, hp->arch_name, bn_model_backend_name(h->model), threads, bn_type_name(o->kv_type ? o->kv_type : BN_TYPE_F16),
               n_prompt, shared, n_gen, reps, ns[0], ns[0]);
    else
        printf("[\n");
    if (run_all(h, o, ns, n_ns, n_prompt, n_gen, reps, shared, res))
        return 1;
    for (int k = 0; k < n_ns; k++) {
        const par_result *r = &res[k];
        double used = (double)r->st.used_pages * (double)r->st.page_bytes / 1048576.0;
        struct rusage ru;
        double rss = getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss * 1024.0 : 0;
        if (json)
            printf("  {\"test\": \"parallel\", \"n_seqs\": %d, \"backend\": \"%s\", \"threads\": %d, \"n_prompt\": %d, "
                   "\"shared_prefix\": %d, \"n_gen\": %d, \"prompt_ts\": %.3f, \"decode_ts\": %.3f, \"step_ms\": %.3f, "
                   "\"speedup\": %.3f, \"page_tokens\": %d, \"pages_used\": %d, \"pages_cached\": %d, "
                   "\"pages_unshared\": %d, \"n_pages\": %d, \"page_bytes\": %llu, \"peak_rss_bytes\": %.0f}%s\n",
                   r->n, bn_model_backend_name(h->model), threads, n_prompt, shared, n_gen, r->pp_ts, r->tg_ts,
                   r->step_ms, r->speedup, r->st.page_tokens, r->st.used_pages, r->st.cached_pages,
                   r->pages_unshared, r->st.n_pages, (unsigned long long)r->st.page_bytes, rss,
                   k + 1 < n_ns ? "," : "");
        else
            printf("| %d | %.1f | %.2f | %.1f | %.2f | %d (%d unshared) | %d | %.1f | %.1f |\n", r->n, r->pp_ts,
                   r->tg_ts, r->step_ms, r->speedup, r->st.used_pages, r->pages_unshared,
                   r->st.cached_pages, used, (double)r->st.budget_bytes / 1048576.0);
        fflush(stdout);
    }
    if (json) {
        printf("]\n");
    } else {
        struct rusage ru;
        double rss = getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss * 1024.0 : 0;
        printf("\npages of %d tokens, %.1f KiB each; peak RSS %.2f GB (weights %.2f GB)\n", res[0].st.page_tokens,
               (double)res[0].st.page_bytes / 1024.0, rss / 1e9,
               (double)bn_model_mem_plan(h->model)->weight_total / 1e9);
    }
    return 0;
}
