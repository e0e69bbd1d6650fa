/* One request between the HTTP side and the scheduler.
 *
 * The HTTP thread fills the input half and submits the job; the scheduler
 * writes the output half under mu and wakes the connection (resumes it when
 * the HTTP side suspended it waiting for output). Reference-counted: the
 * HTTP request, the scheduler and a streaming response each hold one. */
#ifndef BITNET_SERVER_JOB_H
#define BITNET_SERVER_JOB_H

#include <pthread.h>
#include <stdint.h>

#include "metrics.h"
#include "request.h"

struct MHD_Connection;
struct srv_model;

typedef struct srv_job {
    pthread_mutex_t mu;
    int refs;
    /* input: set before submit, read-only afterwards */
    srv_request req;
    struct srv_model *model; /* holds a reference to the model it runs on */
    int32_t *prompt;         /* token ids */
    int32_t n_prompt;
    int text_start;          /* the reply begins a text (chat): drop an SPM prefix space */
    char id[48];             /* "cmpl-..." / "chatcmpl-..." */
    long long created;       /* unix seconds */
    double t_arrive;         /* bn_now() */
    /* output, under mu */
    bn_text text;            /* generated text not yet taken by the HTTP side */
    int done;
    srv_finish finish;
    int err_status;          /* non-zero: failed with this HTTP status and err_msg */
    char err_msg[256];
    int32_t n_gen;
    int32_t n_cached;        /* prompt tokens taken from the prefix cache */
    /* connection, under mu */
    struct MHD_Connection *conn;
    int fd;                  /* the client's socket while the request lives, else -1 */
    int suspended;           /* the HTTP side suspended conn until output arrives */
    int client_gone;         /* the request ended on the HTTP side (disconnect) */
    /* streaming state of the HTTP side (its thread only) */
    bn_text wire;
    size_t wire_off;
    int sent_head, sent_tail;
} srv_job;

srv_job *srv_job_new(void);
void srv_job_ref(srv_job *j);
void srv_job_unref(srv_job *j);
/* Wake the HTTP side after output changed: resumes a suspended connection.
 * Call without holding j->mu. */
void srv_job_wake(srv_job *j);

#endif
