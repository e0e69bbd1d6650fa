/* Loading and releasing a served model. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model.h"

/* "models/foo.gguf" -> "foo": what llama-server and vLLM list as the id. */
static void model_id(const char *path, char *out, size_t cap) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (n > 5 && !strcmp(base + n - 5, ".gguf"))
        n -= 5;
    snprintf(out, cap, "%.*s", (int)n, base);
}

int srv_model_open(const bn_host_opts *o, const srv_sched_opts *so, srv_metrics *metrics, srv_model **out,
                   char *err, size_t err_len) {
    *out = NULL;
    srv_model *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, err_len, "out of memory");
        return 1;
    }
    pthread_mutex_init(&m->mu, NULL);
    m->refs = 1;
    if (bn_host_open(o, 1, &m->host)) {
        snprintf(err, err_len, "cannot load model '%s': %s", o->model ? o->model : "(default)", bn_last_error());
        pthread_mutex_destroy(&m->mu);
        free(m);
        return 1;
    }
    const bn_hparams *hp = bn_model_hparams(m->host.model);
    m->n_vocab = hp->n_vocab;
    m->n_ctx = bn_model_mem_plan(m->host.model)->n_ctx;
    m->chat = bn_chat_detect(bn_vocab_chat_template(m->host.vocab));
    m->created = (long long)time(NULL);
    model_id(m->host.model_path, m->name, sizeof m->name);

    bn_kv_pool_opts po;
    bn_kv_pool_opts_init(&po);
    po.page_tokens = m->host.kv_page;
    po.budget_bytes = m->host.kv_budget;
    po.max_seqs = so->parallel;
    if (bn_kv_pool_create(m->host.model, &po, &m->pool) != BN_OK) {
        snprintf(err, err_len, "KV pool: %s", bn_last_error());
        goto fail;
    }
    if (srv_sched_start(m->host.model, m->host.vocab, m->pool, so, metrics, &m->sched)) {
        snprintf(err, err_len, "scheduler: %s", bn_last_error());
        goto fail;
    }
    *out = m;
    return 0;
fail:
    bn_kv_pool_free(m->pool);
    bn_host_close(&m->host);
    pthread_mutex_destroy(&m->mu);
    free(m);
    return 1;
}

void srv_model_ref(srv_model *m) {
    pthread_mutex_lock(&m->mu);
    m->refs++;
    pthread_mutex_unlock(&m->mu);
}

/* Frees under way, so shutdown can wait for them. */
static pthread_mutex_t frees_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t frees_cv = PTHREAD_COND_INITIALIZER;
static int frees_pending;

static void *model_free_thread(void *arg) {
    srv_model *m = arg;
    srv_sched_free(m->sched);
    bn_kv_pool_free(m->pool);
    bn_host_close(&m->host);
    pthread_mutex_destroy(&m->mu);
    free(m);
    pthread_mutex_lock(&frees_mu);
    frees_pending--;
    pthread_cond_broadcast(&frees_cv);
    pthread_mutex_unlock(&frees_mu);
    return NULL;
}

void srv_model_wait_freed(void) {
    pthread_mutex_lock(&frees_mu);
    while (frees_pending > 0)
        pthread_cond_wait(&frees_cv, &frees_mu);
    pthread_mutex_unlock(&frees_mu);
}

void srv_model_unref(srv_model *m) {
    if (!m)
        return;
    pthread_mutex_lock(&m->mu);
    int left = --m->refs;
    pthread_mutex_unlock(&m->mu);
    if (left)
        return;
    pthread_mutex_lock(&frees_mu);
    frees_pending++;
    pthread_mutex_unlock(&frees_mu);
    pthread_t t;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &a, model_free_thread, m))
        model_free_thread(m); /* no thread: free here (never from the scheduler: it holds no reference) */
    pthread_attr_destroy(&a);
}
