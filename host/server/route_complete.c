/* POST /v1/completions and /v1/chat/completions: JSON or an SSE stream. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http_internal.h"
#include "openai.h"

/* Prompt token ids of a checked request (chat: through the model's
 * template). 0, or an HTTP status with e set. */
static int prompt_tokens(const srv_model *m, const srv_request *r, bn_tokens *out, srv_error *e) {
    if (r->kind == SRV_COMPLETION && r->prompt_ids) {
        out->ids = malloc(sizeof *out->ids * r->n_prompt_ids);
        if (!out->ids)
            return srv_error_set(e, 500, "server_error", NULL, NULL, "out of memory");
        memcpy(out->ids, r->prompt_ids, sizeof *out->ids * r->n_prompt_ids);
        out->n = out->cap = r->n_prompt_ids;
        return 0;
    }
    bn_text text = {0};
    bn_status st = BN_OK;
    if (r->kind == SRV_CHAT)
        st = bn_chat_render(m->chat, r->msgs, r->n_msgs, 1, &text);
    else
        st = bn_text_append(&text, r->prompt, strlen(r->prompt));
    if (st == BN_OK)
        st = bn_tokenize(m->host.vocab, text.data ? text.data : "", text.len,
                         BN_TOK_ADD_SPECIAL | BN_TOK_PARSE_SPECIAL, out);
    bn_text_free(&text);
    if (st != BN_OK)
        return srv_error_set(e, 400, "invalid_request_error", r->kind == SRV_CHAT ? "messages" : "prompt", NULL,
                             "cannot tokenize the prompt: %s", bn_last_error());
    if (out->n == 0)
        return srv_error_set(e, 400, "invalid_request_error", "prompt", NULL, "the prompt has no tokens");
    if ((int64_t)out->n >= m->n_ctx)
        return srv_error_set(e, 400, "invalid_request_error", r->kind == SRV_CHAT ? "messages" : "prompt",
                             "context_length_exceeded",
                             "the prompt has %zu tokens; this model's context holds %d, including the reply",
                             out->n, m->n_ctx);
    return 0;
}

static uint64_t random_seed(srv_server *s) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    pthread_mutex_lock(&s->mu);
    uint64_t n = ++s->next_id;
    pthread_mutex_unlock(&s->mu);
    return (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ (n * 0x9E3779B97F4A7C15ull);
}

/* ---- streaming ------------------------------------------------------------ */

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
    (void)pos;
    srv_job *j = cls;
    if (j->wire_off >= j->wire.len) {
        j->wire.len = j->wire_off = 0;
        if (j->sent_tail)
            return MHD_CONTENT_READER_END_OF_STREAM;
        pthread_mutex_lock(&j->mu);
        if (!j->done && j->text.len == 0 && j->sent_head) {
            if (j->conn) {
                /* Nothing yet: park the connection until the scheduler
                 * wakes it (srv_job_wake), as microhttpd prescribes. */
                j->suspended = 1;
                MHD_suspend_connection(j->conn);
            }
            pthread_mutex_unlock(&j->mu);
            return 0;
        }
        bn_text delta = j->text;
        j->text = (bn_text){0};
        int done = j->done, err = j->err_status;
        srv_finish fin = j->finish;
        char msg[256];
        snprintf(msg, sizeof msg, "%s", j->err_msg);
        pthread_mutex_unlock(&j->mu);
        if (done && fin == SRV_FINISH_ABORT) {
            bn_text_free(&delta);
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        const char *model = j->model->name;
        int r = 0;
        if (!j->sent_head || delta.len)
            r = srv_oai_chunk(j, model, !j->sent_head && j->req.kind == SRV_CHAT, delta.data, delta.len, NULL,
                              &j->wire);
        j->sent_head = 1;
        bn_text_free(&delta);
        if (done && !r) {
            if (err) {
                srv_error e;
                srv_error_set(&e, err, "server_error", NULL, NULL, "%s", msg);
                r = srv_oai_stream_error(&e, &j->wire);
            } else {
                r = srv_oai_chunk(j, model, 0, NULL, 0, srv_oai_finish(fin), &j->wire);
                if (!r && j->req.include_usage)
                    r = srv_oai_usage_chunk(j, model, &j->wire);
                if (!r)
                    r = bn_text_append(&j->wire, "data: [DONE]\n\n", 14) != BN_OK;
            }
            j->sent_tail = 1;
        }
        if (r)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        if (j->wire.len == 0)
            return j->sent_tail ? MHD_CONTENT_READER_END_OF_STREAM : 0;
    }
    size_t n = j->wire.len - j->wire_off < max ? j->wire.len - j->wire_off : max;
    memcpy(buf, j->wire.data + j->wire_off, n);
    j->wire_off += n;
    return (ssize_t)n;
}

static void stream_free(void *cls) { srv_job_unref(cls); }

static enum MHD_Result start_stream(srv_server *s, struct MHD_Connection *c, srv_job *j) {
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, stream_read, j,
                                                               stream_free);
    if (!r)
        return MHD_NO;
    srv_job_ref(j);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(r, "X-Accel-Buffering", "no");
    enum MHD_Result ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    srv_metrics_http(&s->metrics, 200);
    return ret;
}

/* ---- one JSON answer ------------------------------------------------------ */

/* The job is done: answer with the whole completion or its error. */
static enum MHD_Result answer(srv_server *s, struct MHD_Connection *c, srv_job *j) {
    if (j->finish == SRV_FINISH_ABORT)
        return MHD_NO; /* the client is gone: close */
    if (j->err_status)
        return srv_fail(s, c, j->err_status, "server_error", NULL, NULL, j->err_msg);
    return srv_send_json(s, c, 200, srv_oai_response(j, j->model->name, j->text.data ? j->text.data : "", j->text.len));
}

enum MHD_Result srv_route_completion_resumed(srv_server *s, struct MHD_Connection *c, req_ctx *ctx) {
    srv_job *j = ctx->job;
    pthread_mutex_lock(&j->mu);
    if (!j->done) { /* woken early: wait on */
        j->suspended = 1;
        MHD_suspend_connection(c);
        pthread_mutex_unlock(&j->mu);
        return MHD_YES;
    }
    pthread_mutex_unlock(&j->mu);
    return answer(s, c, j);
}

enum MHD_Result srv_route_completion(srv_server *s, struct MHD_Connection *c, req_ctx *ctx, srv_kind kind) {
    if (!srv_authorized(s, c, 0))
        return srv_unauthorized(s, c);
    srv_model *m = srv_current(s);
    if (!m)
        return srv_fail(s, c, 503, "server_error", NULL, "model_not_loaded", "no model is loaded yet; try again");
    srv_limits lim = {
        .max_tokens = m->n_ctx,
        .n_vocab = m->n_vocab,
        .max_messages = 4096,
        .max_prompt_ids = (size_t)m->n_ctx,
        .defaults = s->cfg.model.sp,
        .default_max_tokens = s->cfg.max_tokens,
    };
    srv_error e;
    srv_job *j = srv_job_new();
    if (!j) {
        srv_model_unref(m);
        return MHD_NO;
    }
    j->model = m; /* the job owns this reference */
    if (srv_request_parse(kind, ctx->body.data ? ctx->body.data : "", ctx->body.len, &lim, &j->req, &e)) {
        srv_job_unref(j);
        return srv_send_error(s, c, &e);
    }
    bn_tokens toks = {0};
    if (prompt_tokens(m, &j->req, &toks, &e)) {
        bn_tokens_free(&toks);
        srv_job_unref(j);
        return srv_send_error(s, c, &e);
    }
    j->prompt = toks.ids;
    j->n_prompt = (int32_t)toks.n;
    j->text_start = kind == SRV_CHAT;
    if (!j->req.seed_given)
        j->req.sp.seed = random_seed(s);
    pthread_mutex_lock(&s->mu);
    unsigned long long n = ++s->next_id;
    pthread_mutex_unlock(&s->mu);
    snprintf(j->id, sizeof j->id, "%s-%llx%08llx", kind == SRV_CHAT ? "chatcmpl" : "cmpl", n,
             (unsigned long long)(random_seed(s) & 0xffffffffu));
    j->created = (long long)time(NULL);
    j->t_arrive = bn_now();
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    j->fd = ci ? ci->connect_fd : -1;
    j->conn = c;
    int rc = srv_sched_submit(m->sched, j);
    if (rc) {
        j->fd = -1;
        j->conn = NULL;
        srv_job_unref(j);
        if (rc == 429) {
            pthread_mutex_lock(&s->metrics.mu);
            s->metrics.rejected_queue_full++;
            pthread_mutex_unlock(&s->metrics.mu);
            return srv_fail(s, c, 429, "rate_limit_error", NULL, "queue_full",
                            "the server's request queue is full; retry after a second");
        }
        return srv_fail(s, c, 503, "server_error", NULL, "model_not_loaded", "the model is being unloaded");
    }
    ctx->job = j; /* released when the request ends (on_completed) */
    if (j->req.stream)
        return start_stream(s, c, j);
    return srv_route_completion_resumed(s, c, ctx);
}
