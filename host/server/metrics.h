/* Server metrics in the Prometheus text format, named after vLLM's
 * (vllm:num_requests_running -> bitnet:num_requests_running, ...) so the
 * dashboards and the Kubernetes inference gateway that read those find the
 * same series here. Thread-safe: the HTTP threads and the scheduler both
 * record. */
#ifndef BITNET_SERVER_METRICS_H
#define BITNET_SERVER_METRICS_H

#include <pthread.h>
#include <stdint.h>

#include <bitnet/tokenizer.h>

enum { SRV_HIST_MAX_BUCKETS = 24 };

typedef struct srv_hist {
    const double *bounds; /* upper bounds, ascending; +Inf is implied */
    int n_bounds;
    uint64_t counts[SRV_HIST_MAX_BUCKETS + 1]; /* per bucket (not cumulative) */
    double sum;
    uint64_t count;
} srv_hist;

typedef enum srv_finish { SRV_FINISH_STOP = 0, SRV_FINISH_LENGTH, SRV_FINISH_ABORT, SRV_FINISH_ERROR, SRV_FINISH_N } srv_finish;
const char *srv_finish_name(srv_finish f); /* "stop", "length", "abort", "error" */

typedef struct srv_metrics {
    pthread_mutex_t mu;
    /* gauges, set by the scheduler each step */
    int64_t running, waiting;
    int64_t kv_pages_used, kv_pages_cached, kv_pages_total;
    /* counters */
    uint64_t prompt_tokens, generation_tokens, prefix_reused_tokens;
    uint64_t requests_finished[SRV_FINISH_N];
    uint64_t preemptions;
    uint64_t steps;
    uint64_t http_by_class[6]; /* responses by status class: [2] = 2xx ... [5] = 5xx */
    uint64_t rejected_queue_full;
    /* histograms, seconds */
    srv_hist ttft, itl, queue, e2e;
    double start_time; /* wall clock, for process_start_time_seconds */
} srv_metrics;

void srv_metrics_init(srv_metrics *m);
void srv_metrics_destroy(srv_metrics *m);
void srv_hist_observe(srv_hist *h, double v); /* caller holds m->mu */
/* Locked helpers. */
void srv_metrics_http(srv_metrics *m, int status);
void srv_metrics_observe(srv_metrics *m, srv_hist *h, double v);
/* Append the exposition text (version 0.0.4) to out; model names the
 * model_name label. 0 on success. */
int srv_metrics_render(srv_metrics *m, const char *model, bn_text *out);

#endif
