/* The scheduler: one thread per model drives bn_decode for all requests.
 *
 * Each step first decodes one token for every running sequence, then fills
 * the step's token budget with prompt chunks of admitted sequences, so a
 * long prompt delays the others by at most one chunk. Requests wait in a
 * bounded queue (beyond it: 429); admission takes cached prompt prefixes
 * from the pool; under KV memory pressure the newest sequence is preempted
 * (its pages returned, recomputed later, mostly from the prefix cache). A
 * request whose client disconnected is cancelled and its pages freed at the
 * start of the next step. */
#ifndef BITNET_SERVER_SCHED_H
#define BITNET_SERVER_SCHED_H

#include <bitnet/batch.h>

#include "job.h"

typedef struct srv_sched_opts {
    int32_t parallel;    /* sequences decoded together */
    int32_t max_queue;   /* requests waiting beyond the running ones; more get 429 */
    int32_t step_tokens; /* rows per forward pass: decode rows + prompt chunks */
    double timeout_s;    /* per request, from arrival; 0 = none */
} srv_sched_opts;

typedef struct srv_sched srv_sched;

/* Start the scheduler thread over a pool of the model. vocab: for
 * detokenizing and end-of-generation ids. */
int srv_sched_start(bn_model *model, const bn_vocab *vocab, bn_kv_pool *pool, const srv_sched_opts *o,
                    srv_metrics *metrics, srv_sched **out);
/* Stop: every job still queued or running ends with an error (503) and
 * the thread is joined; later submits get 503. The scheduler stays
 * allocated (a request may still hold its model) until srv_sched_free. */
void srv_sched_stop(srv_sched *s);
void srv_sched_free(srv_sched *s);
/* Queue a job (takes a reference). 0, or 429 when the queue is full. */
int srv_sched_submit(srv_sched *s, srv_job *j);
/* Requests queued or running (for drain on swap / shutdown). */
int srv_sched_load(srv_sched *s);

#endif
