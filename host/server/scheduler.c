/* The scheduler loop: many requests, one forward pass per step. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_setup.h"
#include "scheduler.h"

/* What the scheduler keeps per request besides the job. */
typedef struct slot {
    srv_job *job;
    int32_t seq;        /* pool sequence, -1 before admission */
    bn_sampler *smp;
    bn_detok dt;
    int32_t *toks;      /* prompt, then every sampled token */
    int32_t n_toks, cap;
    int32_t n_eval;     /* tokens in the KV cache */
    int32_t n_gen;
    bn_text gen;        /* generated text so far (for stop strings) */
    size_t sent;        /* bytes of gen handed to the job */
    double t_last;      /* last token, for inter-token latency */
    int queued_seen;    /* queue time recorded */
    int rows, logit_row; /* this step: rows run, index among logit rows (-1 none) */
} slot;

struct srv_sched {
    bn_model *model;
    const bn_vocab *vocab;
    bn_kv_pool *pool;
    srv_sched_opts o;
    srv_metrics *metrics;
    int32_t n_vocab, max_seq_len, page_tokens;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    /* incoming jobs, under mu */
    srv_job **in;
    int n_in, cap_in;
    int n_load; /* queued + running, under mu */
    /* the scheduler thread's own lists */
    slot **waiting; /* admission order; preempted ones go back to the front */
    int n_waiting;
    slot **running;
    int n_running;
    bn_batch_row *rows;
    float *logits;
    int cap_rows;
};

static double now(void) { return bn_now(); }

/* ---- output to the job --------------------------------------------------- */

/* Longest suffix of s[0..n) that is a proper prefix of a stop string: text
 * that may still turn into a stop sequence is held back. */
static size_t stop_holdback(const srv_request *r, const char *s, size_t n) {
    size_t hold = 0;
    for (int i = 0; i < r->n_stop; i++) {
        size_t ls = strlen(r->stop[i]);
        for (size_t k = ls - 1 < n ? ls - 1 : n; k > hold; k--)
            if (!memcmp(s + n - k, r->stop[i], k)) {
                hold = k;
                break;
            }
    }
    return hold;
}

/* First occurrence of any stop string at or after `from`; -1 if none. */
static long find_stop(const srv_request *r, const char *s, size_t n, size_t from) {
    long best = -1;
    for (int i = 0; i < r->n_stop; i++) {
        size_t ls = strlen(r->stop[i]);
        for (size_t p = from; p + ls <= n; p++)
            if (!memcmp(s + p, r->stop[i], ls)) {
                if (best < 0 || (long)p < best)
                    best = (long)p;
                break;
            }
    }
    return best;
}

static void job_emit(srv_job *j, const char *s, size_t n, int32_t n_gen) {
    pthread_mutex_lock(&j->mu);
    if (n)
        bn_text_append(&j->text, s, n);
    j->n_gen = n_gen;
    pthread_mutex_unlock(&j->mu);
    srv_job_wake(j);
}

/* The request ends: its text up to `upto` (stop strings cut there), the
 * reason, its sequence freed and the job released. */
static void finish(srv_sched *s, slot *sl, srv_finish why, int err_status, const char *err) {
    srv_job *j = sl->job;
    size_t upto = sl->gen.len;
    if (why == SRV_FINISH_STOP || why == SRV_FINISH_LENGTH) {
        bn_detok_flush(&sl->dt, &sl->gen);
        long at = find_stop(&j->req, sl->gen.data ? sl->gen.data : "", sl->gen.len, 0);
        upto = at >= 0 ? (size_t)at : sl->gen.len;
        if (at >= 0)
            why = SRV_FINISH_STOP;
    }
    pthread_mutex_lock(&j->mu);
    if (upto > sl->sent && !err_status)
        bn_text_append(&j->text, sl->gen.data + sl->sent, upto - sl->sent);
    j->n_gen = sl->n_gen;
    j->finish = why;
    j->err_status = err_status;
    if (err)
        snprintf(j->err_msg, sizeof j->err_msg, "%s", err);
    j->done = 1;
    pthread_mutex_unlock(&j->mu);
    srv_job_wake(j);
    if (sl->seq >= 0)
        bn_seq_free(s->pool, sl->seq);
    double t = now();
    pthread_mutex_lock(&s->metrics->mu);
    s->metrics->requests_finished[why]++;
    srv_hist_observe(&s->metrics->e2e, t - j->t_arrive);
    pthread_mutex_unlock(&s->metrics->mu);
    pthread_mutex_lock(&s->mu);
    s->n_load--;
    pthread_mutex_unlock(&s->mu);
    bn_sampler_free(sl->smp);
    bn_text_free(&sl->gen);
    free(sl->toks);
    free(sl);
    srv_job_unref(j);
}

/* A token sampled for sl: text, stop strings, limits. 1 if the request ended. */
static int take_token(srv_sched *s, slot *sl, int32_t tok) {
    srv_job *j = sl->job;
    double t = now();
    pthread_mutex_lock(&s->metrics->mu);
    s->metrics->generation_tokens++;
    if (sl->n_gen == 0)
        srv_hist_observe(&s->metrics->ttft, t - j->t_arrive);
    else
        srv_hist_observe(&s->metrics->itl, t - sl->t_last);
    pthread_mutex_unlock(&s->metrics->mu);
    sl->t_last = t;
    bn_sampler_accept(sl->smp, tok);
    if (bn_vocab_is_eog(s->vocab, tok)) {
        sl->n_gen++;
        finish(s, sl, SRV_FINISH_STOP, 0, NULL);
        return 1;
    }
    sl->n_gen++;
    sl->toks[sl->n_toks++] = tok;
    size_t before = sl->gen.len;
    bn_detok_push(&sl->dt, tok, &sl->gen);
    const char *g = sl->gen.data ? sl->gen.data : "";
    /* A stop string can only end in the new bytes: look from where it could start. */
    size_t from = 0;
    for (int i = 0; i < j->req.n_stop; i++) {
        size_t ls = strlen(j->req.stop[i]);
        size_t f = before >= ls ? before - ls + 1 : 0;
        if (i == 0 || f < from)
            from = f;
    }
    if (j->req.n_stop && find_stop(&j->req, g, sl->gen.len, from) >= 0) {
        finish(s, sl, SRV_FINISH_STOP, 0, NULL);
        return 1;
    }
    if ((j->req.max_tokens >= 0 && sl->n_gen >= j->req.max_tokens) || sl->n_toks >= s->max_seq_len) {
        finish(s, sl, SRV_FINISH_LENGTH, 0, NULL);
        return 1;
    }
    size_t safe = sl->gen.len - stop_holdback(&j->req, g, sl->gen.len);
    if (safe > sl->sent) {
        job_emit(j, g + sl->sent, safe - sl->sent, sl->n_gen);
        sl->sent = safe;
    }
    return 0;
}

/* ---- lists --------------------------------------------------------------- */

static void list_remove(slot **a, int *n, int i) {
    memmove(a + i, a + i + 1, sizeof *a * (size_t)(*n - i - 1));
    (*n)--;
}

static slot *slot_new(srv_sched *s, srv_job *j) {
    slot *sl = calloc(1, sizeof *sl);
    if (!sl)
        return NULL;
    sl->job = j;
    sl->seq = -1;
    sl->cap = j->n_prompt + (j->req.max_tokens >= 0 ? j->req.max_tokens : s->max_seq_len) + 1;
    if (sl->cap > s->max_seq_len + 1)
        sl->cap = s->max_seq_len + 1;
    if (sl->cap < j->n_prompt + 1)
        sl->cap = j->n_prompt + 1;
    sl->toks = malloc(sizeof *sl->toks * (size_t)sl->cap);
    bn_sampler_params sp = j->req.sp;
    if (!sl->toks || bn_sampler_create(&sp, s->n_vocab, &sl->smp) != BN_OK) {
        free(sl->toks);
        free(sl);
        return NULL;
    }
    memcpy(sl->toks, j->prompt, sizeof *sl->toks * (size_t)j->n_prompt);
    sl->n_toks = j->n_prompt;
    bn_detok_init(&sl->dt, s->vocab, j->text_start ? BN_DETOK_STRIP_PREFIX : 0);
    return sl;
}

/* Client gone (HTTP side ended, or its socket hung up) or out of time? */
static int should_cancel(srv_sched *s, slot *sl, double t, const char **why) {
    srv_job *j = sl->job;
    pthread_mutex_lock(&j->mu);
    int gone = j->client_gone;
    if (!gone && j->fd >= 0) {
        struct pollfd p = {.fd = j->fd, .events = POLLRDHUP};
        gone = poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
    }
    pthread_mutex_unlock(&j->mu);
    *why = NULL;
    if (gone)
        return 1;
    if (s->o.timeout_s > 0 && t - j->t_arrive > s->o.timeout_s) {
        *why = "time limit"; /* ends like max_tokens: finish_reason "length" */
        return 1;
    }
    return 0;
}

static void cancel_gone(srv_sched *s) {
    double t = now();
    const char *why;
    for (int i = 0; i < s->n_running; i++)
        if (should_cancel(s, s->running[i], t, &why)) {
            slot *sl = s->running[i];
            list_remove(s->running, &s->n_running, i--);
            finish(s, sl, why ? SRV_FINISH_LENGTH : SRV_FINISH_ABORT, 0, NULL);
        }
    for (int i = 0; i < s->n_waiting; i++)
        if (should_cancel(s, s->waiting[i], t, &why)) {
            slot *sl = s->waiting[i];
            list_remove(s->waiting, &s->n_waiting, i--);
            finish(s, sl, why ? SRV_FINISH_LENGTH : SRV_FINISH_ABORT, 0, NULL);
        }
}

/* Pages free now, counting cached ones the pool would evict. */
static int32_t pages_available(srv_sched *s) {
    bn_kv_pool_stats st;
    bn_kv_pool_get_stats(s->pool, &st);
    return st.free_pages + st.cached_pages;
}

/* Move waiting requests into free slots while their prompts fit the pool
 * beside a page of growth for every running sequence. */
static void admit(srv_sched *s) {
    while (s->n_waiting > 0 && s->n_running < s->o.parallel) {
        slot *sl = s->waiting[0];
        int32_t need = (sl->n_toks + s->page_tokens - 1) / s->page_tokens;
        if (s->n_running > 0 && need + s->n_running > pages_available(s))
            break;
        if (sl->seq < 0 && bn_seq_new(s->pool, &sl->seq) != BN_OK)
            break;
        int32_t reused = 0;
        if (bn_seq_reuse_prefix(s->pool, sl->seq, sl->toks, sl->n_toks, &reused) != BN_OK)
            reused = 0;
        sl->n_eval = reused;
        if (!sl->queued_seen) {
            sl->queued_seen = 1;
            pthread_mutex_lock(&sl->job->mu);
            sl->job->n_cached = reused;
            pthread_mutex_unlock(&sl->job->mu);
            pthread_mutex_lock(&s->metrics->mu);
            srv_hist_observe(&s->metrics->queue, now() - sl->job->t_arrive);
            s->metrics->prompt_tokens += (uint64_t)sl->job->n_prompt;
            s->metrics->prefix_reused_tokens += (uint64_t)reused;
            pthread_mutex_unlock(&s->metrics->mu);
        }
        list_remove(s->waiting, &s->n_waiting, 0);
        s->running[s->n_running++] = sl;
    }
}

/* Rows of this step: one decode row per sequence that has its prompt in
 * the cache, then prompt chunks within the token budget. */
static int build_rows(srv_sched *s) {
    int n = 0, n_logits = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < s->n_running; i++) {
            slot *sl = s->running[i];
            int decoding = sl->n_eval == sl->n_toks - 1;
            if (pass == 0) {
                sl->rows = 0;
                sl->logit_row = -1;
            }
            if (decoding != (pass == 0))
                continue;
            int32_t left = sl->n_toks - sl->n_eval;
            int32_t take = left < s->o.step_tokens - n ? left : s->o.step_tokens - n;
            if (take <= 0)
                continue;
            for (int32_t k = 0; k < take; k++) {
                int32_t p = sl->n_eval + k;
                int want = p == sl->n_toks - 1;
                s->rows[n++] = (bn_batch_row){.seq = sl->seq, .token = sl->toks[p], .pos = p, .logits = want};
                if (want)
                    sl->logit_row = n_logits++;
            }
            sl->rows = take;
        }
    return n;
}

/* Under memory pressure: the newest running sequence gives its pages back
 * and waits at the front of the queue (recomputed later, cached full pages
 * of its tokens reused). */
static int preempt_newest(srv_sched *s) {
    if (s->n_running <= 1)
        return 0;
    slot *sl = s->running[--s->n_running];
    bn_seq_truncate(s->pool, sl->seq, 0);
    sl->n_eval = 0;
    memmove(s->waiting + 1, s->waiting, sizeof *s->waiting * (size_t)s->n_waiting);
    s->waiting[0] = sl;
    s->n_waiting++;
    pthread_mutex_lock(&s->metrics->mu);
    s->metrics->preemptions++;
    pthread_mutex_unlock(&s->metrics->mu);
    return 1;
}

static void fail_running(srv_sched *s, const char *msg) {
    while (s->n_running > 0) {
        slot *sl = s->running[--s->n_running];
        finish(s, sl, SRV_FINISH_ERROR, 500, msg);
    }
}

static void step(srv_sched *s) {
    cancel_gone(s);
    admit(s);
    if (s->n_running == 0)
        return;
    int n = build_rows(s);
    while (n > 0 && bn_decode_pages_needed(s->pool, s->rows, n) > pages_available(s)) {
        if (!preempt_newest(s))
            break;
        n = build_rows(s);
    }
    if (n == 0)
        return;
    if (bn_decode(s->pool, s->rows, n, s->logits) != BN_OK) {
        char msg[256];
        snprintf(msg, sizeof msg, "forward pass failed: %s", bn_last_error());
        fprintf(stderr, "bitnet serve: %s\n", msg);
        fail_running(s, msg);
        return;
    }
    pthread_mutex_lock(&s->metrics->mu);
    s->metrics->steps++;
    pthread_mutex_unlock(&s->metrics->mu);
    for (int i = 0; i < s->n_running; i++) {
        slot *sl = s->running[i];
        sl->n_eval += sl->rows;
        if (sl->logit_row < 0)
            continue;
        int32_t tok;
        if (bn_sampler_sample(sl->smp, s->logits + (size_t)sl->logit_row * (size_t)s->n_vocab, &tok) != BN_OK) {
            list_remove(s->running, &s->n_running, i--);
            finish(s, sl, SRV_FINISH_ERROR, 500, "sampling failed (non-finite logits)");
            continue;
        }
        if (take_token(s, sl, tok))
            list_remove(s->running, &s->n_running, i--);
    }
}

static void publish_gauges(srv_sched *s) {
    bn_kv_pool_stats st;
    bn_kv_pool_get_stats(s->pool, &st);
    pthread_mutex_lock(&s->mu);
    int n_in = s->n_in;
    pthread_mutex_unlock(&s->mu);
    pthread_mutex_lock(&s->metrics->mu);
    s->metrics->running = s->n_running;
    s->metrics->waiting = s->n_waiting + n_in;
    s->metrics->kv_pages_used = st.used_pages;
    s->metrics->kv_pages_cached = st.cached_pages;
    s->metrics->kv_pages_total = st.n_pages;
    pthread_mutex_unlock(&s->metrics->mu);
}

static void *sched_main(void *arg) {
    srv_sched *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        while (!s->stop && s->n_in == 0 && s->n_running == 0 && s->n_waiting == 0)
            pthread_cond_wait(&s->cv, &s->mu);
        int stop = s->stop;
        srv_job **in = s->in;
        int n_in = s->n_in;
        /* Take the incoming jobs: new ones queue behind preempted ones. */
        for (int i = 0; i < n_in; i++) {
            slot *sl = slot_new(s, in[i]);
            if (!sl) {
                pthread_mutex_lock(&in[i]->mu);
                in[i]->done = 1;
                in[i]->finish = SRV_FINISH_ERROR;
                in[i]->err_status = 500;
                snprintf(in[i]->err_msg, sizeof in[i]->err_msg, "out of memory");
                pthread_mutex_unlock(&in[i]->mu);
                srv_job_wake(in[i]);
                s->n_load--;
                srv_job_unref(in[i]);
                continue;
            }
            s->waiting[s->n_waiting++] = sl;
        }
        s->n_in = 0;
        pthread_mutex_unlock(&s->mu);
        if (stop)
            break;
        step(s);
        publish_gauges(s);
    }
    fail_running(s, "the server is shutting down");
    while (s->n_waiting > 0)
        finish(s, s->waiting[--s->n_waiting], SRV_FINISH_ERROR, 503, "the server is shutting down");
    publish_gauges(s);
    return NULL;
}

/* ---- public -------------------------------------------------------------- */

static void sched_free(srv_sched *s) {
    free(s->in);
    free(s->waiting);
    free(s->running);
    free(s->rows);
    free(s->logits);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}

int srv_sched_start(bn_model *model, const bn_vocab *vocab, bn_kv_pool *pool, const srv_sched_opts *o,
                    srv_metrics *metrics, srv_sched **out) {
    *out = NULL;
    srv_sched *s = calloc(1, sizeof *s);
    if (!s)
        return 1;
    s->model = model;
    s->vocab = vocab;
    s->pool = pool;
    s->o = *o;
    s->metrics = metrics;
    bn_kv_pool_stats st;
    bn_kv_pool_get_stats(pool, &st);
    s->n_vocab = bn_model_hparams(model)->n_vocab;
    s->max_seq_len = st.max_seq_len;
    s->page_tokens = st.page_tokens;
    if (s->o.parallel > st.max_seqs)
        s->o.parallel = st.max_seqs;
    if (s->o.step_tokens < s->o.parallel) /* every running sequence decodes every step */
        s->o.step_tokens = s->o.parallel;
    int slots = s->o.parallel + s->o.max_queue + 1;
    s->cap_in = slots;
    s->cap_rows = s->o.step_tokens + s->o.parallel;
    s->in = calloc((size_t)slots, sizeof *s->in);
    s->waiting = calloc((size_t)slots, sizeof *s->waiting);
    s->running = calloc((size_t)s->o.parallel + 1, sizeof *s->running);
    s->rows = calloc((size_t)s->cap_rows, sizeof *s->rows);
    s->logits = malloc(sizeof *s->logits * (size_t)s->n_vocab * (size_t)(s->o.parallel + 1));
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (!s->in || !s->waiting || !s->running || !s->rows || !s->logits ||
        pthread_create(&s->thread, NULL, sched_main, s)) {
        bn_fail(BN_ERR_NOMEM, "cannot start the scheduler");
        sched_free(s);
        return 1;
    }
    *out = s;
    return 0;
}

int srv_sched_submit(srv_sched *s, srv_job *j) {
    pthread_mutex_lock(&s->mu);
    if (s->stop || s->n_load >= s->o.parallel + s->o.max_queue || s->n_in >= s->cap_in) {
        pthread_mutex_unlock(&s->mu);
        return s->stop ? 503 : 429;
    }
    srv_job_ref(j);
    s->in[s->n_in++] = j;
    s->n_load++;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

int srv_sched_load(srv_sched *s) {
    pthread_mutex_lock(&s->mu);
    int n = s->n_load;
    pthread_mutex_unlock(&s->mu);
    return n;
}

void srv_sched_stop(srv_sched *s) {
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    int first = !s->stop;
    s->stop = 1;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (first)
        pthread_join(s->thread, NULL);
}

void srv_sched_free(srv_sched *s) {
    if (!s)
        return;
    srv_sched_stop(s);
    sched_free(s);
}
