/* Prometheus exposition of the server's counters, gauges and histograms. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "metrics.h"

/* Buckets as vLLM uses for the same quantities: latencies from a few
 * milliseconds (one token on a small model) to minutes (a long request). */
static const double ttft_bounds[] = {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75,
                                     1.0,   2.5,   5.0,  7.5,  10.0, 20.0, 40.0, 80.0};
static const double itl_bounds[] = {0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.075, 0.1,
                                    0.15,  0.2,  0.3,   0.4,  0.5,   0.75, 1.0,  2.5,  5.0};
static const double e2e_bounds[] = {0.1, 0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0};

#define NB(a) ((int)(sizeof a / sizeof a[0]))

const char *srv_finish_name(srv_finish f) {
    static const char *names[SRV_FINISH_N] = {"stop", "length", "abort", "error"};
    return f < SRV_FINISH_N ? names[f] : "error";
}

void srv_metrics_init(srv_metrics *m) {
    memset(m, 0, sizeof *m);
    pthread_mutex_init(&m->mu, NULL);
    m->ttft = (srv_hist){.bounds = ttft_bounds, .n_bounds = NB(ttft_bounds)};
    m->itl = (srv_hist){.bounds = itl_bounds, .n_bounds = NB(itl_bounds)};
    m->queue = (srv_hist){.bounds = e2e_bounds, .n_bounds = NB(e2e_bounds)};
    m->e2e = (srv_hist){.bounds = e2e_bounds, .n_bounds = NB(e2e_bounds)};
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    m->start_time = (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void srv_metrics_destroy(srv_metrics *m) { pthread_mutex_destroy(&m->mu); }

void srv_hist_observe(srv_hist *h, double v) {
    int i = 0;
    while (i < h->n_bounds && v > h->bounds[i])
        i++;
    h->counts[i]++;
    h->sum += v;
    h->count++;
}

void srv_metrics_observe(srv_metrics *m, srv_hist *h, double v) {
    pthread_mutex_lock(&m->mu);
    srv_hist_observe(h, v);
    pthread_mutex_unlock(&m->mu);
}

void srv_metrics_http(srv_metrics *m, int status) {
    int c = status / 100;
    pthread_mutex_lock(&m->mu);
    if (c >= 1 && c <= 5)
        m->http_by_class[c]++;
    pthread_mutex_unlock(&m->mu);
}

static int put(bn_text *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int put(bn_text *out, const char *fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof buf)
        return -1;
    return bn_text_append(out, buf, (size_t)n) == BN_OK ? 0 : -1;
}

/* Label values are the model name: escape \, " and newlines as the format asks. */
static void escape_label(const char *in, char *out, size_t cap) {
    size_t j = 0;
    for (; *in && j + 3 < cap; in++) {
        if (*in == '\\' || *in == '"') {
            out[j++] = '\\';
            out[j++] = *in;
        } else if (*in == '\n') {
            out[j++] = '\\';
            out[j++] = 'n';
        } else
            out[j++] = *in;
    }
    out[j] = 0;
}

static int hist(bn_text *out, const char *name, const char *help, const srv_hist *h, const char *lbl) {
    int r = put(out, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    uint64_t cum = 0;
    for (int i = 0; i < h->n_bounds && !r; i++) {
        cum += h->counts[i];
        r = put(out, "%s_bucket{%s,le=\"%g\"} %llu\n", name, lbl, h->bounds[i], (unsigned long long)cum);
    }
    cum += h->counts[h->n_bounds];
    if (!r)
        r = put(out, "%s_bucket{%s,le=\"+Inf\"} %llu\n%s_sum{%s} %.6f\n%s_count{%s} %llu\n", name, lbl,
                (unsigned long long)cum, name, lbl, h->sum, name, lbl, (unsigned long long)h->count);
    return r;
}

#define SIMPLE(type, name, help, fmt, val)                                                                       \
    (r = r ? r : put(out, "# HELP " name " " help "\n# TYPE " name " " type "\n" name "{%s} " fmt "\n", lbl, val))

int srv_metrics_render(srv_metrics *m, const char *model, bn_text *out) {
    char esc[256], lbl[300];
    escape_label(model ? model : "", esc, sizeof esc);
    snprintf(lbl, sizeof lbl, "model_name=\"%s\"", esc);
    pthread_mutex_lock(&m->mu);
    srv_metrics s = *m; /* a consistent snapshot; render outside the lock */
    pthread_mutex_unlock(&m->mu);
    int r = 0;
    SIMPLE("gauge", "bitnet:num_requests_running", "Requests decoding in the current step.", "%lld",
           (long long)s.running);
    SIMPLE("gauge", "bitnet:num_requests_waiting", "Requests queued or preempted, waiting for a slot.", "%lld",
           (long long)s.waiting);
    double use = s.kv_pages_total > 0 ? (double)s.kv_pages_used / (double)s.kv_pages_total : 0.0;
    SIMPLE("gauge", "bitnet:kv_cache_usage_perc", "Fraction of KV pool pages mapped by sequences (1 = full).", "%.6f",
           use);
    SIMPLE("gauge", "bitnet:kv_pages_used", "KV pool pages mapped by at least one sequence.", "%lld",
           (long long)s.kv_pages_used);
    SIMPLE("gauge", "bitnet:kv_pages_cached", "KV pool pages unmapped but holding a reusable prompt prefix.",
           "%lld", (long long)s.kv_pages_cached);
    SIMPLE("gauge", "bitnet:kv_pages_total", "KV pool pages in the budget.", "%lld", (long long)s.kv_pages_total);
    SIMPLE("counter", "bitnet:prompt_tokens_total", "Prompt tokens processed (reused prefix tokens included).",
           "%llu", (unsigned long long)s.prompt_tokens);
    SIMPLE("counter", "bitnet:generation_tokens_total", "Tokens generated.", "%llu",
           (unsigned long long)s.generation_tokens);
    SIMPLE("counter", "bitnet:prefix_cache_hit_tokens_total", "Prompt tokens taken from cached KV pages.", "%llu",
           (unsigned long long)s.prefix_reused_tokens);
    SIMPLE("counter", "bitnet:num_preemptions_total", "Sequences preempted under KV memory pressure.", "%llu",
           (unsigned long long)s.preemptions);
    SIMPLE("counter", "bitnet:scheduler_steps_total", "Forward passes run by the scheduler.", "%llu",
           (unsigned long long)s.steps);
    if (!r)
        r = put(out, "# HELP bitnet:request_success_total Requests finished, by finish reason.\n"
                     "# TYPE bitnet:request_success_total counter\n");
    for (int f = 0; f < SRV_FINISH_N && !r; f++)
        r = put(out, "bitnet:request_success_total{%s,finished_reason=\"%s\"} %llu\n", lbl,
                srv_finish_name((srv_finish)f), (unsigned long long)s.requests_finished[f]);
    if (!r)
        r = put(out, "# HELP bitnet:http_responses_total HTTP responses, by status class.\n"
                     "# TYPE bitnet:http_responses_total counter\n");
    for (int c = 2; c <= 5 && !r; c++)
        r = put(out, "bitnet:http_responses_total{%s,status=\"%dxx\"} %llu\n", lbl, c,
                (unsigned long long)s.http_by_class[c]);
    SIMPLE("counter", "bitnet:request_rejected_queue_full_total", "Requests refused with 429 (queue full).", "%llu",
           (unsigned long long)s.rejected_queue_full);
    if (!r)
        r = hist(out, "bitnet:time_to_first_token_seconds", "Time from arrival to the first generated token.",
                 &s.ttft, lbl);
    if (!r)
        r = hist(out, "bitnet:inter_token_latency_seconds", "Time between two tokens of one stream.", &s.itl, lbl);
    if (!r)
        r = hist(out, "bitnet:request_queue_time_seconds", "Time a request waited before its first forward pass.",
                 &s.queue, lbl);
    if (!r)
        r = hist(out, "bitnet:e2e_request_latency_seconds", "Time from arrival to the last token.", &s.e2e, lbl);
    SIMPLE("gauge", "process_start_time_seconds", "Start time of the process since the epoch.", "%.3f",
           s.start_time);
    return r;
}
