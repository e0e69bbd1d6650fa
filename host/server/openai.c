/* Building OpenAI-shaped JSON with cJSON. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "openai.h"

const char *srv_oai_finish(srv_finish f) { return f == SRV_FINISH_LENGTH ? "length" : "stop"; }

/* cJSON wants NUL-terminated strings; text is a counted buffer. */
static cJSON *str_n(const char *s, size_t n) {
    char *tmp = malloc(n + 1);
    if (!tmp)
        return NULL;
    memcpy(tmp, s, n);
    tmp[n] = 0;
    cJSON *o = cJSON_CreateString(tmp);
    free(tmp);
    return o;
}

static cJSON *envelope(const srv_job *j, const char *model, const char *object) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", j->id);
    cJSON_AddStringToObject(o, "object", object);
    cJSON_AddNumberToObject(o, "created", (double)j->created);
    cJSON_AddStringToObject(o, "model", model);
    cJSON_AddStringToObject(o, "system_fingerprint", "bitnet");
    return o;
}

static cJSON *usage(const srv_job *j) {
    cJSON *u = cJSON_CreateObject();
    cJSON_AddNumberToObject(u, "prompt_tokens", j->n_prompt);
    cJSON_AddNumberToObject(u, "completion_tokens", j->n_gen);
    cJSON_AddNumberToObject(u, "total_tokens", j->n_prompt + j->n_gen);
    cJSON *d = cJSON_AddObjectToObject(u, "prompt_tokens_details");
    cJSON_AddNumberToObject(d, "cached_tokens", j->n_cached);
    return u;
}

/* The envelope with one choice of index 0; *choice receives it. */
static cJSON *one_choice(const srv_job *j, const char *model, const char *object, cJSON **choice) {
    cJSON *o = envelope(j, model, object);
    cJSON *choices = cJSON_AddArrayToObject(o, "choices");
    *choice = cJSON_CreateObject();
    cJSON_AddItemToArray(choices, *choice);
    cJSON_AddNumberToObject(*choice, "index", 0);
    return o;
}

char *srv_oai_response(const srv_job *j, const char *model, const char *text, size_t len) {
    int chat = j->req.kind == SRV_CHAT;
    cJSON *c;
    cJSON *o = one_choice(j, model, chat ? "chat.completion" : "text_completion", &c);
    if (chat) {
        cJSON *m = cJSON_AddObjectToObject(c, "message");
        cJSON_AddStringToObject(m, "role", "assistant");
        cJSON_AddItemToObject(m, "content", str_n(text, len));
    } else {
        cJSON_AddItemToObject(c, "text", str_n(text, len));
    }
    cJSON_AddNullToObject(c, "logprobs");
    cJSON_AddStringToObject(c, "finish_reason", srv_oai_finish(j->finish));
    cJSON_AddItemToObject(o, "usage", usage(j));
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* "data: <json>\n\n", taking the malloc'd text. */
static int put_data(char *s, bn_text *out) {
    if (!s)
        return -1;
    int r = bn_text_append(out, "data: ", 6) != BN_OK || bn_text_append(out, s, strlen(s)) != BN_OK ||
            bn_text_append(out, "\n\n", 2) != BN_OK;
    free(s);
    return r ? -1 : 0;
}

static int put_event(cJSON *o, bn_text *out) {
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return put_data(s, out);
}

int srv_oai_chunk(const srv_job *j, const char *model, int role_first, const char *text, size_t len,
                  const char *finish, bn_text *out) {
    int chat = j->req.kind == SRV_CHAT;
    cJSON *c;
    cJSON *o = one_choice(j, model, chat ? "chat.completion.chunk" : "text_completion", &c);
    if (chat) {
        cJSON *d = cJSON_AddObjectToObject(c, "delta");
        if (role_first)
            cJSON_AddStringToObject(d, "role", "assistant");
        if (len || role_first)
            cJSON_AddItemToObject(d, "content", str_n(text ? text : "", len));
    } else {
        cJSON_AddItemToObject(c, "text", str_n(text ? text : "", len));
    }
    cJSON_AddNullToObject(c, "logprobs");
    if (finish)
        cJSON_AddStringToObject(c, "finish_reason", finish);
    else
        cJSON_AddNullToObject(c, "finish_reason");
    if (j->req.include_usage)
        cJSON_AddNullToObject(o, "usage");
    return put_event(o, out);
}

int srv_oai_usage_chunk(const srv_job *j, const char *model, bn_text *out) {
    cJSON *o = envelope(j, model, j->req.kind == SRV_CHAT ? "chat.completion.chunk" : "text_completion");
    cJSON_AddArrayToObject(o, "choices");
    cJSON_AddItemToObject(o, "usage", usage(j));
    return put_event(o, out);
}

int srv_oai_stream_error(const srv_error *e, bn_text *out) { return put_data(srv_error_json(e), out); }
