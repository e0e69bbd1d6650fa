/* POST /admin/model: load, swap or unload the model without a restart, and
 * the background loader the start-up load uses too.
 *
 * A swap loads the new model beside the old one; the moment it is ready new
 * requests go to it, while requests in flight finish on the old one (they
 * hold references to it), which is freed after the last. A failed load
 * leaves the old model serving. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "http_internal.h"

struct admin_op {
    pthread_mutex_t mu;
    int refs;
    int done, status;
    char msg[700];
    char model[256];
    double seconds;
    struct MHD_Connection *conn;
    int suspended;
};

typedef struct load_args {
    srv_server *s;
    char *path;
    struct admin_op *op;
} load_args;

static void op_unref(struct admin_op *op) {
    if (!op)
        return;
    pthread_mutex_lock(&op->mu);
    int left = --op->refs;
    pthread_mutex_unlock(&op->mu);
    if (!left) {
        pthread_mutex_destroy(&op->mu);
        free(op);
    }
}

static void *loader_main(void *arg) {
    load_args *a = arg;
    srv_server *s = a->s;
    bn_host_opts o = s->cfg.model;
    if (a->path)
        o.model = a->path;
    char err[600] = "";
    srv_model *m = NULL;
    double t0 = bn_now();
    int rc = srv_model_open(&o, &s->cfg.sched, &s->metrics, &m, err, sizeof err);
    double dt = bn_now() - t0;
    srv_model *old = NULL;
    pthread_mutex_lock(&s->mu);
    if (!rc) {
        old = s->current;
        s->current = m;
        s->load_err[0] = 0;
    } else {
        snprintf(s->load_err, sizeof s->load_err, "%s", err);
    }
    s->loading = 0;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (!rc)
        fprintf(stderr, "bitnet serve: model '%s' ready (%s, context %d, loaded in %.2f s)%s\n", m->name,
                bn_model_backend_name(m->host.model), m->n_ctx, dt, old ? "; the old one finishes its requests" : "");
    else
        fprintf(stderr, "bitnet serve: %s%s\n", err, old || s->current ? "; the current model keeps serving" : "");
    if (old)
        srv_model_unref(old);
    struct admin_op *op = a->op;
    if (op) {
        pthread_mutex_lock(&op->mu);
        op->done = 1;
        op->status = rc ? 400 : 200;
        op->seconds = dt;
        snprintf(op->msg, sizeof op->msg, "%s", rc ? err : "");
        if (!rc)
            snprintf(op->model, sizeof op->model, "%s", m->name);
        struct MHD_Connection *c = op->suspended ? op->conn : NULL;
        op->suspended = 0;
        pthread_mutex_unlock(&op->mu);
        if (c)
            MHD_resume_connection(c);
        op_unref(op);
    }
    free(a->path);
    free(a);
    return NULL;
}

int srv_load_start(srv_server *s, const char *path, int replace, struct admin_op *op) {
    pthread_mutex_lock(&s->mu);
    if (s->stopping || s->loading || (!replace && op && s->current)) {
        pthread_mutex_unlock(&s->mu);
        return s->stopping ? 503 : 409;
    }
    s->loading = 1;
    pthread_mutex_unlock(&s->mu);
    if (s->loader_started) { /* the previous loader has ended: reap it */
        pthread_join(s->loader, NULL);
        s->loader_started = 0;
    }
    load_args *a = calloc(1, sizeof *a);
    if (a && path && !(a->path = strdup(path))) {
        free(a);
        a = NULL;
    }
    if (a) {
        a->s = s;
        a->op = op;
        if (op) {
            pthread_mutex_lock(&op->mu);
            op->refs++;
            pthread_mutex_unlock(&op->mu);
        }
    }
    if (!a || pthread_create(&s->loader, NULL, loader_main, a)) {
        if (a) {
            op_unref(a->op);
            free(a->path);
            free(a);
        }
        pthread_mutex_lock(&s->mu);
        s->loading = 0;
        snprintf(s->load_err, sizeof s->load_err, "cannot start the loader thread");
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        return 500;
    }
    s->loader_started = 1;
    return 0;
}

static enum MHD_Result op_answer(srv_server *s, struct MHD_Connection *c, struct admin_op *op) {
    if (op->status != 200)
        return srv_fail(s, c, op->status, "invalid_request_error", "model", "model_load_failed", op->msg);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", "ready");
    cJSON_AddStringToObject(o, "model", op->model);
    cJSON_AddNumberToObject(o, "load_seconds", op->seconds);
    char *j = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return srv_send_json(s, c, 200, j);
}

enum MHD_Result srv_route_admin_resumed(srv_server *s, struct MHD_Connection *c, req_ctx *ctx) {
    struct admin_op *op = ctx->admin;
    pthread_mutex_lock(&op->mu);
    if (!op->done) {
        op->suspended = 1;
        MHD_suspend_connection(c);
        pthread_mutex_unlock(&op->mu);
        return MHD_YES;
    }
    pthread_mutex_unlock(&op->mu);
    return op_answer(s, c, op);
}

void srv_admin_release(req_ctx *ctx) {
    struct admin_op *op = ctx->admin;
    pthread_mutex_lock(&op->mu);
    op->conn = NULL;
    pthread_mutex_unlock(&op->mu);
    op_unref(op);
    ctx->admin = NULL;
}

/* {"action": "load" | "swap" | "unload", "model": "/path/to/model.gguf"} */
enum MHD_Result srv_route_admin(srv_server *s, struct MHD_Connection *c, req_ctx *ctx) {
    if (!s->cfg.admin_key)
        return srv_fail(s, c, 403, "permission_error", NULL, "admin_disabled",
                        "admin routes are off; start the server with --admin-key-file to use them");
    if (!srv_authorized(s, c, 1))
        return srv_fail(s, c, 401, "authentication_error", NULL, "invalid_api_key", "this route needs the admin key");
    cJSON *o = NULL;
    if (srv_utf8_valid(ctx->body.data ? ctx->body.data : "", ctx->body.len))
        o = cJSON_ParseWithLength(ctx->body.data ? ctx->body.data : "", ctx->body.len);
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(o, "action");
    const cJSON *path = cJSON_GetObjectItemCaseSensitive(o, "model");
    const char *a = cJSON_IsString(act) ? act->valuestring : "";
    enum MHD_Result r;
    if (!cJSON_IsObject(o)) {
        r = srv_fail(s, c, 400, "invalid_request_error", NULL, "invalid_json", "the body must be a JSON object");
    } else if (strcmp(a, "load") && strcmp(a, "swap") && strcmp(a, "unload")) {
        r = srv_fail(s, c, 400, "invalid_request_error", "action", "invalid_value",
                     "action must be \"load\", \"swap\" or \"unload\"");
    } else if (path && !cJSON_IsNull(path) && (!cJSON_IsString(path) || !path->valuestring[0])) {
        r = srv_fail(s, c, 400, "invalid_request_error", "model", "invalid_type", "model must be a file path");
    } else if (!strcmp(a, "unload")) {
        pthread_mutex_lock(&s->mu);
        srv_model *old = s->loading ? NULL : s->current;
        int busy = s->loading;
        if (!busy)
            s->current = NULL;
        pthread_mutex_unlock(&s->mu);
        if (busy) {
            r = srv_fail(s, c, 409, "invalid_request_error", NULL, "load_in_progress", "a model load is under way");
        } else {
            srv_model_unref(old); /* requests in flight finish on it */
            r = srv_send_json(s, c, 200, strdup(old ? "{\"status\":\"unloaded\"}" : "{\"status\":\"no model\"}"));
        }
    } else {
        struct admin_op *op = calloc(1, sizeof *op);
        if (!op) {
            cJSON_Delete(o);
            return MHD_NO;
        }
        pthread_mutex_init(&op->mu, NULL);
        op->refs = 1;
        op->conn = c;
        int st = srv_load_start(s, cJSON_IsString(path) ? path->valuestring : NULL, !strcmp(a, "swap"), op);
        if (st) {
            op_unref(op);
            r = srv_fail(s, c, st, "invalid_request_error", NULL, st == 409 ? "conflict" : NULL,
                         st == 409 ? "a load is already under way, or a model is loaded (use \"swap\")"
                                   : "cannot start loading");
        } else {
            ctx->admin = op; /* the request's reference */
            r = srv_route_admin_resumed(s, c, ctx);
        }
    }
    cJSON_Delete(o);
    return r;
}
