/* A model as the server holds it: engine, weights, vocabulary, KV pool and
 * the scheduler thread that runs it. Reference-counted so a hot swap can
 * let requests in flight finish on the old model: the server holds one
 * reference for the current model, every job one for the model it runs on.
 * The last reference frees it (on a thread of its own: the scheduler
 * cannot join itself). */
#ifndef BITNET_SERVER_MODEL_H
#define BITNET_SERVER_MODEL_H

#include "model_setup.h"
#include "scheduler.h"

typedef struct srv_model {
    pthread_mutex_t mu;
    int refs;
    bn_host host;
    bn_kv_pool *pool;
    srv_sched *sched;
    bn_chat_style chat;
    char name[256];  /* the id clients send and /v1/models lists */
    long long created;
    int32_t n_ctx, n_vocab;
} srv_model;

/* Load o->model (or the default model) with these options. On failure
 * returns non-zero with the reason in err. */
int srv_model_open(const bn_host_opts *o, const srv_sched_opts *so, srv_metrics *metrics, srv_model **out,
                   char *err, size_t err_len);
void srv_model_ref(srv_model *m);
void srv_model_unref(srv_model *m);
/* Wait until every model whose last reference went is freed (shutdown). */
void srv_model_wait_freed(void);

#endif
