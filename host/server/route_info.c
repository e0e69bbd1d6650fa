/* Routes that answer at once: health, readiness, models, metrics,
 * tokenize / detokenize. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "http_internal.h"
#include "page.h"

/* The chat page: constant, compiled in, no key needed to load it (the page
 * asks for one). The policy allows its inline code and calls to this
 * server only. */
enum MHD_Result srv_route_page(srv_server *s, struct MHD_Connection *c, req_ctx *ctx) {
    (void)ctx;
    struct MHD_Response *r =
        MHD_create_response_from_buffer((size_t)srv_page_html_len, (void *)srv_page_html, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/html; charset=utf-8");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                            "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; "
                            "frame-ancestors 'none'");
    enum MHD_Result ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    srv_metrics_http(&s->metrics, 200);
    return ret;
}

enum MHD_Result srv_route_health(srv_server *s, struct MHD_Connection *c, req_ctx *ctx) {
    (void)ctx;
    return srv_send_json(s, c, 200, strdup("{\"status\":\"ok\"}"));
}

enum MHD_Result srv_route_ready(srv_server *s, struct MHD_Connection *c, req_ctx *ctx) {
    (void)ctx;
    pthread_mutex_lock(&s->mu);
    int ready = s->current != NULL && !s->loading, loading = s->loading;
    pthread_mutex_unlock(&s->mu);
    if (ready)
        return srv_send_json(s, c, 200, strdup("{\"status\":\"ready\"}"));
    return srv_fail(s, c, 503, "server_error", NULL, loading ? "model_loading" : "model_not_loaded",
                    loading ? "a model is loading" : "no model is loaded");
}

enum MHD_Result srv_route_models(srv_server *s, struct MHD_Connection *c, req_ctx *ctx) {
    (void)ctx;
    if (!srv_authorized(s, c, 0))
        return srv_unauthorized(s, c);
    srv_model *m = srv_current(s);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "object", "list");
    cJSON *data = cJSON_AddArrayToObject(o, "data");
    if (m) {
        cJSON *d = cJSON_CreateObject();
        cJSON_AddItemToArray(data, d);
        cJSON_AddStringToObject(d, "id", m->name);
        cJSON_AddStringToObject(d, "object", "model");
        cJSON_AddNumberToObject(d, "created", (double)m->created);
        cJSON_AddStringToObject(d, "owned_by", "bitnet");
        cJSON *meta = cJSON_AddObjectToObject(d, "meta");
        cJSON_AddNumberToObject(meta, "n_ctx", m->n_ctx);
        cJSON_AddNumberToObject(meta, "n_vocab", m->n_vocab);
        cJSON_AddStringToObject(meta, "backend", bn_model_backend_name(m->host.model));
        cJSON_AddStringToObject(meta, "chat_template", bn_chat_style_name(m->chat));
        cJSON_AddNumberToObject(meta, "parallel", s->cfg.sched.parallel);
        srv_model_unref(m);
    }
    char *j = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return srv_send_json(s, c, 200, j);
}

enum MHD_Result srv_route_metrics(srv_server *s, struct MHD_Connection *c, req_ctx *ctx) {
    (void)ctx;
    srv_model *m = srv_current(s);
    bn_text t = {0};
    int r = srv_metrics_render(&s->metrics, m ? m->name : "", &t);
    srv_model_unref(m);
    if (r) {
        bn_text_free(&t);
        return srv_fail(s, c, 500, "server_error", NULL, NULL, "out of memory");
    }
    return srv_send(s, c, 200, "text/plain; version=0.0.4; charset=utf-8", t.data, t.len);
}

/* An authorized request's body as a JSON object, or the 401 / 400 answer
 * (returns NULL, *ret set). */
static cJSON *json_body(srv_server *s, struct MHD_Connection *c, req_ctx *ctx, enum MHD_Result *ret) {
    if (!srv_authorized(s, c, 0)) {
        *ret = srv_unauthorized(s, c);
        return NULL;
    }
    cJSON *o = NULL;
    if (srv_utf8_valid(ctx->body.data ? ctx->body.data : "", ctx->body.len))
        o = cJSON_ParseWithLength(ctx->body.data ? ctx->body.data : "", ctx->body.len);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        *ret = srv_fail(s, c, 400, "invalid_request_error", NULL, "invalid_json",
                        "the body must be a JSON object in UTF-8");
        return NULL;
    }
    return o;
}

/* A JSON boolean field, absent/null = dflt; -1 if of another type. */
static int opt_bool(const cJSON *o, const char *k, int dflt) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!v || cJSON_IsNull(v))
        return dflt;
    return cJSON_IsBool(v) ? cJSON_IsTrue(v) : -1;
}

/* {"content": "...", "add_special": false, "with_pieces": false} -> {"tokens": [...]} (llama-server's shape). */
enum MHD_Result srv_route_tokenize(srv_server *s, struct MHD_Connection *c, req_ctx *ctx) {
    enum MHD_Result ret;
    cJSON *o = json_body(s, c, ctx, &ret);
    if (!o)
        return ret;
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(o, "content");
    int add = opt_bool(o, "add_special", 0), pieces = opt_bool(o, "with_pieces", 0);
    const char *bad = !cJSON_IsString(content) ? "content" : add < 0 ? "add_special" : pieces < 0 ? "with_pieces" : NULL;
    if (bad) {
        cJSON_Delete(o);
        return srv_fail(s, c, 400, "invalid_request_error", bad, "invalid_type",
                        !strcmp(bad, "content") ? "content must be a string" : "this field must be a boolean");
    }
    srv_model *m = srv_current(s);
    if (!m) {
        cJSON_Delete(o);
        return srv_fail(s, c, 503, "server_error", NULL, "model_not_loaded", "no model is loaded");
    }
    bn_tokens t = {0};
    const char *text = content->valuestring;
    unsigned flags = BN_TOK_PARSE_SPECIAL | (add ? BN_TOK_ADD_SPECIAL : 0);
    if (bn_tokenize(m->host.vocab, text, strlen(text), flags, &t) != BN_OK) {
        srv_model_unref(m);
        cJSON_Delete(o);
        return srv_fail(s, c, 400, "invalid_request_error", "content", NULL, bn_last_error());
    }
    cJSON *out = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(out, "tokens");
    for (size_t i = 0; i < t.n; i++) {
        if (!pieces) {
            cJSON_AddItemToArray(arr, cJSON_CreateNumber(t.ids[i]));
            continue;
        }
        size_t len;
        const char *p = bn_token_piece(m->host.vocab, t.ids[i], BN_DETOK_SPECIAL, &len);
        char *tmp = malloc(len + 1);
        if (tmp) {
            memcpy(tmp, p ? p : "", len);
            tmp[len] = 0;
        }
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "id", t.ids[i]);
        /* A piece may be part of a UTF-8 sequence: give it as text only when whole. */
        if (tmp && srv_utf8_valid(tmp, len))
            cJSON_AddStringToObject(e, "piece", tmp);
        else {
            cJSON *bytes = cJSON_AddArrayToObject(e, "piece");
            for (size_t k = 0; k < len; k++)
                cJSON_AddItemToArray(bytes, cJSON_CreateNumber((unsigned char)p[k]));
        }
        free(tmp);
        cJSON_AddItemToArray(arr, e);
    }
    bn_tokens_free(&t);
    srv_model_unref(m);
    cJSON_Delete(o);
    char *j = cJSON_PrintUnformatted(out);
    cJSON_Delete(out);
    return srv_send_json(s, c, 200, j);
}

/* {"tokens": [ids]} -> {"content": "..."} */
enum MHD_Result srv_route_detokenize(srv_server *s, struct MHD_Connection *c, req_ctx *ctx) {
    enum MHD_Result ret;
    cJSON *o = json_body(s, c, ctx, &ret);
    if (!o)
        return ret;
    srv_model *m = srv_current(s);
    if (!m) {
        cJSON_Delete(o);
        return srv_fail(s, c, 503, "server_error", NULL, "model_not_loaded", "no model is loaded");
    }
    const cJSON *toks = cJSON_GetObjectItemCaseSensitive(o, "tokens");
    int n = cJSON_IsArray(toks) ? cJSON_GetArraySize(toks) : -1;
    int32_t *ids = n > 0 ? malloc(sizeof *ids * (size_t)n) : NULL;
    const char *bad = n < 0 ? "tokens must be an array of token ids" : NULL;
    int i = 0;
    for (const cJSON *v = toks ? toks->child : NULL; !bad && v; v = v->next, i++) {
        if (!cJSON_IsNumber(v) || v->valuedouble != (double)(int32_t)v->valuedouble || v->valuedouble < 0 ||
            v->valuedouble >= m->n_vocab)
            bad = "every token id must be an integer in [0, n_vocab)";
        else if (ids)
            ids[i] = (int32_t)v->valuedouble;
    }
    enum MHD_Result r;
    if (bad || (n > 0 && !ids)) {
        r = srv_fail(s, c, 400, "invalid_request_error", "tokens", "invalid_value", bad ? bad : "out of memory");
    } else {
        bn_text t = {0};
        bn_detokenize(m->host.vocab, ids, (size_t)(n > 0 ? n : 0), 0, &t);
        cJSON *out = cJSON_CreateObject();
        cJSON_AddStringToObject(out, "content", t.data ? t.data : "");
        bn_text_free(&t);
        char *j = cJSON_PrintUnformatted(out);
        cJSON_Delete(out);
        r = srv_send_json(s, c, 200, j);
    }
    free(ids);
    srv_model_unref(m);
    cJSON_Delete(o);
    return r;
}
