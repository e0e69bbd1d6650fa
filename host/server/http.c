/* The HTTP daemon: connections, bodies, routing, authentication, errors. */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_internal.h"

/* ---- responses ----------------------------------------------------------- */

enum MHD_Result srv_send(srv_server *s, struct MHD_Connection *c, int status, const char *ctype, char *body,
                         size_t len) {
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body ? body : (char *)"",
                                                             body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (status == 401)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    if (status == 429 || status == 503)
        MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    srv_metrics_http(&s->metrics, status);
    return ret;
}

enum MHD_Result srv_send_json(srv_server *s, struct MHD_Connection *c, int status, char *json) {
    if (!json)
        return srv_fail(s, c, 500, "server_error", NULL, NULL, "out of memory");
    return srv_send(s, c, status, "application/json", json, strlen(json));
}

enum MHD_Result srv_send_error(srv_server *s, struct MHD_Connection *c, const srv_error *e) {
    char *j = srv_error_json(e);
    if (!j)
        return MHD_NO;
    return srv_send(s, c, e->status, "application/json", j, strlen(j));
}

enum MHD_Result srv_fail(srv_server *s, struct MHD_Connection *c, int status, const char *type, const char *param,
                         const char *code, const char *msg) {
    srv_error e;
    srv_error_set(&e, status, type, param, code, "%s", msg);
    return srv_send_error(s, c, &e);
}

enum MHD_Result srv_unauthorized(srv_server *s, struct MHD_Connection *c) {
    return srv_fail(s, c, 401, "authentication_error", NULL, "invalid_api_key",
                    "Incorrect API key provided: send 'Authorization: Bearer <key>' with a key the server knows");
}

srv_model *srv_current(srv_server *s) {
    pthread_mutex_lock(&s->mu);
    srv_model *m = s->current;
    if (m)
        srv_model_ref(m);
    pthread_mutex_unlock(&s->mu);
    return m;
}

/* ---- authentication ------------------------------------------------------ */

/* Equal strings, in time that depends only on the length of the given key. */
static int ct_equal(const char *given, const char *key) {
    size_t lg = strlen(given), lk = strlen(key);
    unsigned char acc = (unsigned char)(lg != lk);
    for (size_t i = 0; i < lg; i++)
        acc |= (unsigned char)(given[i] ^ (lk ? key[i % lk] : 0));
    return acc == 0;
}

int srv_authorized(const srv_server *s, struct MHD_Connection *c, int admin) {
    if (!admin && s->cfg.n_keys == 0)
        return 1;
    if (admin && !s->cfg.admin_key)
        return 0;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncasecmp(h, "Bearer ", 7))
        return 0;
    const char *k = h + 7;
    while (*k == ' ')
        k++;
    int ok = 0;
    if (s->cfg.admin_key)
        ok |= ct_equal(k, s->cfg.admin_key);
    if (!admin)
        for (size_t i = 0; i < s->cfg.n_keys; i++)
            ok |= ct_equal(k, s->cfg.keys[i]);
    return ok;
}

/* ---- routing ------------------------------------------------------------- */

typedef enum MHD_Result (*route_fn)(srv_server *, struct MHD_Connection *, req_ctx *);

static enum MHD_Result r_completions(srv_server *s, struct MHD_Connection *c, req_ctx *x) {
    return srv_route_completion(s, c, x, SRV_COMPLETION);
}
static enum MHD_Result r_chat(srv_server *s, struct MHD_Connection *c, req_ctx *x) {
    return srv_route_completion(s, c, x, SRV_CHAT);
}

static const struct route {
    const char *path;
    const char *method;
    route_fn fn;
} routes[] = {
    {"/v1/completions", "POST", r_completions},
    {"/v1/chat/completions", "POST", r_chat},
    {"/completions", "POST", r_completions},
    {"/chat/completions", "POST", r_chat},
    {"/", "GET", srv_route_page},
    {"/v1/models", "GET", srv_route_models},
    {"/health", "GET", srv_route_health},
    {"/health/ready", "GET", srv_route_ready},
    {"/metrics", "GET", srv_route_metrics},
    {"/tokenize", "POST", srv_route_tokenize},
    {"/detokenize", "POST", srv_route_detokenize},
    {"/admin/model", "POST", srv_route_admin},
};

static enum MHD_Result dispatch(srv_server *s, struct MHD_Connection *c, const char *url, const char *method,
                                req_ctx *ctx) {
    int path_known = 0;
    const char *allow = NULL;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (strcmp(url, routes[i].path))
            continue;
        path_known = 1;
        allow = routes[i].method;
        if (!strcmp(method, routes[i].method) || (!strcmp(method, "HEAD") && !strcmp(routes[i].method, "GET")))
            return routes[i].fn(s, c, ctx);
    }
    char msg[300];
    if (path_known) {
        snprintf(msg, sizeof msg, "%s is not allowed on %.200s; use %s", method, url, allow);
        srv_error e;
        srv_error_set(&e, 405, "invalid_request_error", NULL, "method_not_allowed", "%s", msg);
        char *j = srv_error_json(&e);
        if (!j)
            return MHD_NO;
        struct MHD_Response *r = MHD_create_response_from_buffer(strlen(j), j, MHD_RESPMEM_MUST_FREE);
        if (!r) {
            free(j);
            return MHD_NO;
        }
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
        enum MHD_Result ret = MHD_queue_response(c, 405, r);
        MHD_destroy_response(r);
        srv_metrics_http(&s->metrics, 405);
        return ret;
    }
    snprintf(msg, sizeof msg, "no route %.200s", url);
    return srv_fail(s, c, 404, "invalid_request_error", NULL, "not_found", msg);
}

static enum MHD_Result too_large(srv_server *s, struct MHD_Connection *c) {
    char msg[128];
    snprintf(msg, sizeof msg, "the request body is larger than the server's limit of %zu bytes", s->cfg.max_body);
    return srv_fail(s, c, 413, "invalid_request_error", NULL, "request_too_large", msg);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls) {
    (void)version;
    srv_server *s = cls;
    req_ctx *ctx = *con_cls;
    if (!ctx) {
        ctx = calloc(1, sizeof *ctx);
        if (!ctx)
            return MHD_NO;
        *con_cls = ctx;
        /* Refuse an announced oversize body before reading it. */
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (!cl || strtoull(cl, NULL, 10) <= s->cfg.max_body)
            return MHD_YES;
        ctx->too_big = 1;
        return too_large(s, c);
    }
    if (*upload_size) {
        /* A chunked body past the limit is read and dropped (microhttpd
         * cannot answer in the middle of an upload), then refused. */
        if (ctx->too_big || ctx->body.len + *upload_size > s->cfg.max_body) {
            ctx->too_big = 1;
            bn_text_free(&ctx->body);
        } else if (bn_text_append(&ctx->body, upload, *upload_size) != BN_OK) {
            return MHD_NO;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (ctx->too_big)
        return too_large(s, c);
    if (ctx->job)
        return srv_route_completion_resumed(s, c, ctx);
    if (ctx->admin)
        return srv_route_admin_resumed(s, c, ctx);
    return dispatch(s, c, url, method, ctx);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe) {
    (void)cls;
    (void)c;
    req_ctx *ctx = *con_cls;
    if (!ctx)
        return;
    if (ctx->job) {
        srv_job *j = ctx->job;
        pthread_mutex_lock(&j->mu);
        if (!j->done || toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
            j->client_gone = 1;
        j->conn = NULL;
        j->fd = -1;
        pthread_mutex_unlock(&j->mu);
        srv_job_unref(j);
    }
    if (ctx->admin)
        srv_admin_release(ctx);
    bn_text_free(&ctx->body);
    free(ctx);
    *con_cls = NULL;
}

static void on_log(void *cls, const char *fmt, va_list ap) {
    (void)cls;
    fputs("bitnet serve: http: ", stderr);
    vfprintf(stderr, fmt, ap);
}

/* ---- start / stop -------------------------------------------------------- */

int srv_server_start(const srv_config *cfg, srv_server **out) {
    *out = NULL;
    srv_server *s = calloc(1, sizeof *s);
    if (!s)
        return 1;
    s->cfg = *cfg;
    srv_metrics_init(&s->metrics);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);

    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST}, *ai;
    char port[16];
    snprintf(port, sizeof port, "%d", cfg->port);
    int gai = getaddrinfo(cfg->host, port, &hints, &ai);
    if (gai) {
        fprintf(stderr, "bitnet serve: --host wants a numeric IPv4 or IPv6 address, got '%s' (%s)\n", cfg->host,
                gai_strerror(gai));
        srv_server_stop(s);
        return 1;
    }
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    s->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, on_log, s, MHD_OPTION_SOCK_ADDR,
        ai->ai_addr, MHD_OPTION_CONNECTION_LIMIT, cfg->conn_limit, MHD_OPTION_CONNECTION_TIMEOUT, cfg->conn_timeout,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)64 * 1024, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->http_threads,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!s->daemon) {
        fprintf(stderr, "bitnet serve: cannot listen on %s port %d (in use, or not allowed)\n", cfg->host, cfg->port);
        srv_server_stop(s);
        return 1;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    int bound = di ? di->port : cfg->port;
    int v6 = strchr(cfg->host, ':') != NULL;
    fprintf(stderr, "bitnet serve: listening on http://%s%s%s:%d\n", v6 ? "[" : "", cfg->host, v6 ? "]" : "", bound);
    fflush(stderr);
    if (srv_load_start(s, NULL, 0, NULL)) {
        srv_server_stop(s);
        return 1;
    }
    *out = s;
    return 0;
}

int srv_server_wait_ready(srv_server *s, char *err, size_t err_len) {
    pthread_mutex_lock(&s->mu);
    while (s->loading)
        pthread_cond_wait(&s->cv, &s->mu);
    int ok = s->current != NULL;
    snprintf(err, err_len, "%s", s->load_err);
    pthread_mutex_unlock(&s->mu);
    return ok ? 0 : 1;
}

void srv_server_stop(srv_server *s) {
    if (!s)
        return;
    /* Stop the model first: its scheduler ends every job and wakes the
     * connections, so MHD can close them. */
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    while (s->loading)
        pthread_cond_wait(&s->cv, &s->mu);
    srv_model *m = s->current;
    s->current = NULL;
    pthread_mutex_unlock(&s->mu);
    if (s->loader_started)
        pthread_join(s->loader, NULL);
    if (m)
        srv_sched_stop(m->sched); /* freed with the model, after the last request */
    if (s->daemon)
        MHD_stop_daemon(s->daemon);
    srv_model_unref(m);
    srv_model_wait_freed();
    srv_metrics_destroy(&s->metrics);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}
