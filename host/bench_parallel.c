/* `bitnet bench --parallel N1,N2,...`: aggregate decode speed of N
 * sequences decoded together (one forward pass per step for all of them),
 * after a prompt of -p tokens each, and what the KV pool holds. Each N gets
 * a pool of its own; the prompts are read in passes of up to -b rows, then
 * -n decode steps of N rows are timed, -r times from the same prompts (the
 * sequences are cut back to their prompts between repetitions). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <bitnet/batch.h>

#include "bench_parallel.h"

typedef struct par_result {
    int n;
    double pp_ts, tg_ts, step_ms;
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

static int run_n(bn_host *h, const bn_host_opts *o, int N, int n_prompt, int n_gen, int reps, int shared,
                 par_result *r) {
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
    bn_kv_pool *p = NULL;
    int32_t *seq = malloc(sizeof *seq * (size_t)N), *last = malloc(sizeof *last * (size_t)N);
    int32_t **prompt = calloc((size_t)N, sizeof *prompt);
    float *logits = malloc(sizeof *logits * (size_t)nv * (size_t)N);
    bn_batch_row *rows = malloc(sizeof *rows * (size_t)N);
    double *ts = malloc(sizeof *ts * (size_t)reps);
    int rc = 1;
    memset(r, 0, sizeof *r);
    r->n = N;
    if (!seq || !last || !prompt || !logits || !rows || !ts) {
        fprintf(stderr, "bitnet bench: out of memory\n");
        goto done;
    }
    if (bn_kv_pool_create(m, &po, &p) != BN_OK) {
        bn_cli_error("creating the KV pool");
        goto done;
    }
    srand(1000 + N);
    for (int i = 0; i < N; i++) {
        if (!(prompt[i] = malloc(sizeof **prompt * (size_t)(n_prompt > 0 ? n_prompt : 1))) ||
            bn_seq_new(p, &seq[i]) != BN_OK) {
            bn_cli_error("a new sequence");
            goto done;
        }
        for (int k = 0; k < n_prompt; k++)
            prompt[i][k] = k < shared ? (int32_t)((k * 7919 + 13) % nv) : rand() % nv;
    }
    if (n_prompt > 0 && (r->pp_ts = prefill(p, seq, N, prompt, n_prompt, po.max_batch, logits, last, nv)) < 0) {
        bn_cli_error("reading the prompts");
        goto done;
    }
    for (int rep = 0; rep <= reps; rep++) { /* the first is a warm-up */
        double t0 = bn_now();
        for (int step = 0; step < n_gen; step++) {
            for (int i = 0; i < N; i++)
                rows[i] = (bn_batch_row){.seq = seq[i], .token = last[i], .pos = -1, .logits = 1};
            if (bn_decode(p, rows, N, logits) != BN_OK) {
                bn_cli_error("decoding");
                goto done;
            }
            for (int i = 0; i < N; i++)
                last[i] = argmax(logits + (size_t)i * (size_t)nv, nv);
        }
        double dt = bn_now() - t0;
        if (rep == reps)
            bn_kv_pool_get_stats(p, &r->st); /* at the longest */
        if (rep > 0)
            ts[rep - 1] = (double)N * n_gen / dt;
        for (int i = 0; i < N && rep < reps; i++)
            bn_seq_truncate(p, seq[i], n_prompt);
    }
    qsort(ts, (size_t)reps, sizeof *ts, cmp_double);
    r->tg_ts = reps % 2 ? ts[reps / 2] : 0.5 * (ts[reps / 2 - 1] + ts[reps / 2]);
    r->step_ms = 1000.0 * N / r->tg_ts;
    r->pages_unshared = N * ((n_prompt + n_gen + r->st.page_tokens - 1) / r->st.page_tokens);
    rc = 0;
done:
    if (prompt)
        for (int i = 0; i < N; i++)
            free(prompt[i]);
    free(prompt);
    free(seq);
    free(last);
    free(logits);
    free(rows);
    free(ts);
    bn_kv_pool_free(p);
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
               "%d decode steps, median of %d\n\n"
               "| N | prompt t/s | decode t/s (all N) | ms per step | x N=%d | pages used | cached | KV MiB used |"
               " of budget MiB |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
               h->model_path, hp->arch_name, bn_model_backend_name(h->model), threads, bn_type_name(o->kv_type ? o->kv_type : BN_TYPE_F16),
               n_prompt, shared, n_gen, reps, ns[0]);
    else
        printf("[\n");
    for (int k = 0; k < n_ns; k++) {
        if (run_n(h, o, ns[k], n_prompt, n_gen, reps, shared, &res[k]))
            return 1;
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
                   r->step_ms, r->tg_ts / res[0].tg_ts, r->st.page_tokens, r->st.used_pages, r->st.cached_pages,
                   r->pages_unshared, r->st.n_pages, (unsigned long long)r->st.page_bytes, rss,
                   k + 1 < n_ns ? "," : "");
        else
            printf("| %d | %.1f | %.2f | %.1f | %.2f | %d (%d unshared) | %d | %.1f | %.1f |\n", r->n, r->pp_ts,
                   r->tg_ts, r->step_ms, r->tg_ts / res[0].tg_ts, r->st.used_pages, r->pages_unshared,
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
