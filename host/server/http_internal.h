/* What the route files of the server share: the server object, the
 * per-request context and the response helpers (http.c). */
#ifndef BITNET_SERVER_HTTP_INTERNAL_H
#define BITNET_SERVER_HTTP_INTERNAL_H

#include <microhttpd.h>

#include "server.h"

struct admin_op;

struct srv_server {
    srv_config cfg;
    srv_metrics metrics;
    struct MHD_Daemon *daemon;
    pthread_mutex_t mu;   /* current, loading, load_err, next_id */
    pthread_cond_t cv;    /* a load ended */
    srv_model *current;   /* NULL: nothing loaded (503) */
    int loading;          /* a load or swap is under way */
    int stopping;         /* shutting down: no new loads */
    char load_err[700];   /* why the last load failed ("" if it did not) */
    unsigned long long next_id;
    pthread_t loader;
    int loader_started;
};

/* One HTTP request: its body, and what it waits for while suspended. */
typedef struct req_ctx {
    bn_text body;
    int too_big;
    srv_job *job;            /* a completion in flight */
    struct admin_op *admin;  /* a model load in flight */
} req_ctx;

/* Responses: take ownership of body (malloc'd); count the status. */
enum MHD_Result srv_send(srv_server *s, struct MHD_Connection *c, int status, const char *ctype, char *body,
                         size_t len);
enum MHD_Result srv_send_json(srv_server *s, struct MHD_Connection *c, int status, char *json);
enum MHD_Result srv_send_error(srv_server *s, struct MHD_Connection *c, const srv_error *e);
enum MHD_Result srv_fail(srv_server *s, struct MHD_Connection *c, int status, const char *type, const char *param,
                         const char *code, const char *msg);
/* 401 with WWW-Authenticate: the key is missing or wrong. */
enum MHD_Result srv_unauthorized(srv_server *s, struct MHD_Connection *c);
/* The current model with a reference (NULL if none). */
srv_model *srv_current(srv_server *s);
/* Authorization: Bearer <key>; admin: only the admin key. 1 if allowed. */
int srv_authorized(const srv_server *s, struct MHD_Connection *c, int admin);

/* Routes. */
enum MHD_Result srv_route_completion(srv_server *s, struct MHD_Connection *c, req_ctx *ctx, srv_kind kind);
enum MHD_Result srv_route_completion_resumed(srv_server *s, struct MHD_Connection *c, req_ctx *ctx);
enum MHD_Result srv_route_page(srv_server *s, struct MHD_Connection *c, req_ctx *ctx);
enum MHD_Result srv_route_models(srv_server *s, struct MHD_Connection *c, req_ctx *ctx);
enum MHD_Result srv_route_health(srv_server *s, struct MHD_Connection *c, req_ctx *ctx);
enum MHD_Result srv_route_ready(srv_server *s, struct MHD_Connection *c, req_ctx *ctx);
enum MHD_Result srv_route_metrics(srv_server *s, struct MHD_Connection *c, req_ctx *ctx);
enum MHD_Result srv_route_tokenize(srv_server *s, struct MHD_Connection *c, req_ctx *ctx);
enum MHD_Result srv_route_detokenize(srv_server *s, struct MHD_Connection *c, req_ctx *ctx);
enum MHD_Result srv_route_admin(srv_server *s, struct MHD_Connection *c, req_ctx *ctx);
enum MHD_Result srv_route_admin_resumed(srv_server *s, struct MHD_Connection *c, req_ctx *ctx);
/* The request of ctx->admin ended (completion callback). */
void srv_admin_release(req_ctx *ctx);
/* Start loading cfg's model (or path) in the background; 0, or an HTTP
 * status (409: a load is already under way). op may be NULL. */
int srv_load_start(srv_server *s, const char *path, int replace, struct admin_op *op);

#endif
