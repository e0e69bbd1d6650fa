/* OpenAI request bodies -> a checked srv_request (see request.h).
 *
 * Decisions beyond the OpenAI documents:
 *   - The body must be strict UTF-8, one JSON value (an object) and nothing
 *     after it but JSON whitespace; a raw NUL byte or a "\u0000" escape is
 *     refused (C strings would silently end there).
 *   - A key given twice: the last one counts (as Python's json does).
 *   - null means absent for every field.
 *   - seed: any integral value in the int64 range; a negative seed is used
 *     as its two's complement (-1 -> 0xffffffffffffffff). Seeds beyond 2^53
 *     arrive rounded to a double (cJSON), so neighbours may coincide.
 *   - repeat_last_n (llama.cpp's name) is accepted next to the other
 *     llama.cpp extensions top_k, min_p and repeat_penalty.
 *   - The final bn_sampler_params_check can only fail on bad server
 *     defaults (every field a request sets is checked more tightly first),
 *     so that failure is a 500.
 *   - n, logprobs, top_logprobs, echo, best_of, suffix, tools, functions,
 *     logit_bias and response_format are checked on both endpoints.
 *   - "stop": [] is no stop sequence; a prompt [[ids]] is a batch of one. */
#include "request.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bitnet/bitnet.h>

#define INVALID "invalid_request_error"

/* ---- UTF-8 --------------------------------------------------------------- */

/* Length of the longest well-formed prefix of s[0..n) (Unicode Table 3-7). */
static size_t utf8_prefix(const char *str, size_t n) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        unsigned lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
        if (c >= 0xc2 && c <= 0xdf)
            len = 2;
        else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            if (c == 0xe0)
                lo = 0xa0; /* overlong */
            else if (c == 0xed)
                hi = 0x9f; /* surrogates D800-DFFF */
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            if (c == 0xf0)
                lo = 0x90; /* overlong */
            else if (c == 0xf4)
                hi = 0x8f; /* > U+10FFFF */
        } else
            return i; /* 80-BF continuation, C0/C1 overlong, F5-FF */
        if (n - i < len)
            return i; /* truncated */
        if (s[i + 1] < lo || s[i + 1] > hi)
            return i;
        for (size_t k = 2; k < len; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xbf)
                return i;
        i += len;
    }
    return n;
}

int srv_utf8_valid(const char *s, size_t n) {
    if (!s)
        return n == 0;
    return utf8_prefix(s, n) == n;
}

/* ---- errors -------------------------------------------------------------- */

/* Cut a NUL-terminated buffer to its well-formed UTF-8 prefix (a message cut
 * by its buffer size may end inside a character). */
static void utf8_trim(char *s, size_t cap) {
    size_t n = strnlen(s, cap - 1);
    s[utf8_prefix(s, n)] = '\0';
}

int srv_error_set(srv_error *e, int status, const char *type, const char *param, const char *code, const char *fmt,
                  ...) {
    if (!e)
        return status;
    e->status = status;
    e->type = type;
    e->code = code;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    if (n < 0)
        e->message[0] = '\0';
    utf8_trim(e->message, sizeof e->message);
    snprintf(e->param, sizeof e->param, "%s", param ? param : "");
    utf8_trim(e->param, sizeof e->param);
    return status;
}

char *srv_error_json(const srv_error *e) {
    char msg[sizeof e->message], param[sizeof e->param];
    memcpy(msg, e->message, sizeof msg);
    msg[sizeof msg - 1] = '\0';
    utf8_trim(msg, sizeof msg);
    memcpy(param, e->param, sizeof param);
    param[sizeof param - 1] = '\0';
    utf8_trim(param, sizeof param);
    const char *type = e->type ? e->type : e->status >= 500 ? "server_error" : INVALID;

    cJSON *root = cJSON_CreateObject();
    cJSON *err = cJSON_CreateObject();
    if (!root || !err || !cJSON_AddItemToObject(root, "error", err)) {
        cJSON_Delete(root);
        cJSON_Delete(err);
        return NULL;
    }
    int ok = cJSON_AddStringToObject(err, "message", msg) && cJSON_AddStringToObject(err, "type", type) &&
             (param[0] ? cJSON_AddStringToObject(err, "param", param) != NULL
                       : cJSON_AddNullToObject(err, "param") != NULL) &&
             (e->code ? cJSON_AddStringToObject(err, "code", e->code) != NULL
                      : cJSON_AddNullToObject(err, "code") != NULL);
    char *out = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    return out;
}

/* ---- helpers ------------------------------------------------------------- */

typedef struct ctx {
    const srv_limits *lim;
    srv_request *r;
    srv_error *e;
    const cJSON *root; /* the body's object */
} ctx;

static int oom(ctx *c) { return srv_error_set(c->e, 500, "server_error", NULL, NULL, "out of memory"); }

static int bad(ctx *c, const char *param, const char *code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int bad(ctx *c, const char *param, const char *code, const char *fmt, ...) {
    char msg[sizeof c->e->message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return srv_error_set(c->e, 400, INVALID, param, code, "%s", msg);
}

static int wrong_type(ctx *c, const char *param, const char *expected) {
    return bad(c, param, "invalid_type", "'%s' must be %s", param, expected);
}

static int unsupported(ctx *c, const char *param) {
    return bad(c, param, "unsupported_parameter", "%s is not supported", param);
}

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* The member named `name` (the last one when repeated); NULL when absent or
 * JSON null. */
static const cJSON *field(const cJSON *obj, const char *name) {
    const cJSON *found = NULL;
    for (const cJSON *it = obj ? obj->child : NULL; it; it = it->next)
        if (it->string && strcmp(it->string, name) == 0)
            found = it;
    return found && !cJSON_IsNull(found) ? found : NULL;
}

/* An integral JSON number in [lo, hi] (doubles: cJSON's valueint saturates). */
static int get_int(ctx *c, const cJSON *it, const char *name, double lo, double hi, double *out) {
    if (!cJSON_IsNumber(it))
        return wrong_type(c, name, "an integer");
    double d = it->valuedouble;
    if (!isfinite(d) || d != floor(d))
        return bad(c, name, "invalid_type", "'%s' must be an integer, got %.15g", name, d);
    if (!(d >= lo && d <= hi)) {
        if (isinf(hi))
            return bad(c, name, "invalid_value", "'%s' must be an integer >= %.15g, got %.15g", name, lo, d);
        return bad(c, name, "invalid_value", "'%s' must be an integer between %.15g and %.15g, got %.15g", name, lo,
                   hi, d);
    }
    *out = d;
    return 0;
}


static size_t count(const cJSON *arr) {
    size_t n = 0;
    for (const cJSON *it = arr->child; it; it = it->next)
        n++;
    return n;
}

/* An optional string field, copied into *out. */
static int opt_string(ctx *c, const cJSON *obj, const char *name, char **out) {
    const cJSON *it = field(obj, name);
    if (!it)
        return 0;
    if (!cJSON_IsString(it))
        return wrong_type(c, name, "a string");
    if (!(*out = dup_str(it->valuestring)))
        return oom(c);
    return 0;
}

/* An optional number field in [lo, hi] (lo_open: lo excluded), stored as a
 * float; absent leaves *out as it is. An open bound is checked again after
 * the rounding to float (1e-50 is > 0 as a double, not as a float). */
static int opt_float(ctx *c, const char *name, double lo, int lo_open, double hi, float *out) {
    const cJSON *it = field(c->root, name);
    if (!it)
        return 0;
    if (!cJSON_IsNumber(it))
        return wrong_type(c, name, "a number");
    double d = it->valuedouble;
    int ok = isfinite(d) && (lo_open ? d > lo : d >= lo) && d <= hi;
    float f = ok ? (float)d : 0.0f; /* converting an out-of-range double is undefined */
    if (ok && lo_open && !(f > (float)lo))
        ok = 0;
    if (!ok)
        return bad(c, name, "invalid_value", "'%s' must be a number in %c%g, %g], got %.15g", name, lo_open ? '(' : '[',
                   lo, hi, d);
    *out = f;
    return 0;
}

/* An optional integer field in [lo, hi] into *out; absent leaves it. */
static int opt_int32(ctx *c, const char *name, int32_t lo, int32_t hi, int32_t *out) {
    const cJSON *it = field(c->root, name);
    double d;
    if (!it)
        return 0;
    int st = get_int(c, it, name, lo, hi, &d);
    if (!st)
        *out = (int32_t)d;
    return st;
}

/* ---- the fields ---------------------------------------------------------- */

/* ids: a non-empty array of token ids, each in [0, n_vocab). */
static int parse_token_ids(ctx *c, const cJSON *arr) {
    size_t n = count(arr);
    if (n == 0)
        return bad(c, "prompt", "invalid_value", "'prompt' must not be empty");
    if (n > c->lim->max_prompt_ids)
        return bad(c, "prompt", "invalid_value", "'prompt' has %zu token ids, more than the limit of %zu", n,
                   c->lim->max_prompt_ids);
    if (!(c->r->prompt_ids = malloc(n * sizeof *c->r->prompt_ids)))
        return oom(c);
    size_t i = 0;
    for (const cJSON *it = arr->child; it; it = it->next, i++) {
        double d = cJSON_IsNumber(it) ? it->valuedouble : NAN;
        if (!isfinite(d) || d != floor(d))
            return bad(c, "prompt", "invalid_type", "'prompt' element %zu is not a token id (an integer)", i);
        if (!(d >= 0 && d < (double)c->lim->n_vocab))
            return bad(c, "prompt", "invalid_value", "'prompt' element %zu: token id %.15g is outside [0, %d)", i, d,
                       (int)c->lim->n_vocab);
        c->r->prompt_ids[i] = (int32_t)d;
    }
    c->r->n_prompt_ids = n;
    return 0;
}

/* prompt: a string, an array of token ids, or a batch of one of either. */
static int parse_prompt(ctx *c) {
    static const char *const expected = "a string or an array of token ids";
    const cJSON *p = field(c->root, "prompt");
    if (!p)
        return bad(c, "prompt", "missing_required_parameter", "Missing required parameter: 'prompt'");
    if (cJSON_IsArray(p) && p->child && (cJSON_IsString(p->child) || cJSON_IsArray(p->child))) {
        /* A batch: ["text", ...] or [[ids], ...]. Only a batch of one. */
        int is_str = cJSON_IsString(p->child);
        for (const cJSON *it = p->child; it; it = it->next)
            if (is_str ? !cJSON_IsString(it) : !cJSON_IsArray(it))
                return wrong_type(c, "prompt", expected);
        if (p->child->next)
            return bad(c, "prompt", "unsupported_value",
                       "batched prompts are not supported; send one request per prompt");
        p = p->child;
        if (!is_str)
            return parse_token_ids(c, p);
    } else if (cJSON_IsArray(p))
        return parse_token_ids(c, p);
    if (!cJSON_IsString(p))
        return wrong_type(c, "prompt", expected);
    if (!p->valuestring[0])
        return bad(c, "prompt", "invalid_value", "'prompt' must not be empty");
    if (!(c->r->prompt = dup_str(p->valuestring)))
        return oom(c);
    return 0;
}

/* content: a string or an array of {"type": "text", "text": ...} parts,
 * joined with "\n". */
static int parse_content(ctx *c, const cJSON *co, const char *pname, char **out) {
    if (cJSON_IsString(co)) {
        if (!(*out = dup_str(co->valuestring)))
            return oom(c);
        return 0;
    }
    if (!cJSON_IsArray(co))
        return wrong_type(c, pname, "a string or an array of text parts");
    size_t total = 0, j = 0;
    for (const cJSON *part = co->child; part; part = part->next, j++) {
        const cJSON *type = field(part, "type"), *text = field(part, "text");
        if (!cJSON_IsObject(part) || !cJSON_IsString(type))
            return bad(c, pname, "invalid_type", "'%s' part %zu must be an object with a string 'type'", pname, j);
        if (strcmp(type->valuestring, "text") != 0)
            return bad(c, pname, "unsupported_value",
                       "'%s' part %zu is not supported: only parts of type 'text' are", pname, j);
        if (!cJSON_IsString(text))
            return bad(c, pname, "invalid_type", "'%s' part %zu must have a string 'text'", pname, j);
        total += strlen(text->valuestring) + (j > 0);
    }
    char *s = malloc(total + 1);
    if (!s)
        return oom(c);
    size_t at = 0;
    for (const cJSON *part = co->child; part; part = part->next) {
        const char *t = field(part, "text")->valuestring;
        size_t n = strlen(t);
        if (part != co->child)
            s[at++] = '\n';
        memcpy(s + at, t, n);
        at += n;
    }
    s[at] = '\0';
    *out = s;
    return 0;
}

static int parse_message(ctx *c, const cJSON *m, size_t i) {
    char pname[64];
    snprintf(pname, sizeof pname, "messages[%zu]", i);
    if (!cJSON_IsObject(m))
        return wrong_type(c, pname, "an object");

    snprintf(pname, sizeof pname, "messages[%zu].role", i);
    const cJSON *ro = field(m, "role");
    if (!ro)
        return bad(c, pname, "missing_required_parameter", "Missing required parameter: '%s'", pname);
    if (!cJSON_IsString(ro))
        return wrong_type(c, pname, "a string");
    const char *role = ro->valuestring;
    if (strcmp(role, "developer") == 0)
        role = "system";
    else if (strcmp(role, "tool") == 0 || strcmp(role, "function") == 0)
        return bad(c, pname, "unsupported_value", "'%s': %s messages are not supported (no tool calling)", pname,
                   role[0] == 't' ? "tool" : "function");
    else if (strcmp(role, "system") != 0 && strcmp(role, "user") != 0 && strcmp(role, "assistant") != 0)
        return bad(c, pname, "invalid_value", "'%s' must be 'system', 'user', 'assistant' or 'developer'", pname);
    int assistant = strcmp(role, "assistant") == 0;

    const cJSON *tc = field(m, "tool_calls");
    if (tc) {
        snprintf(pname, sizeof pname, "messages[%zu].tool_calls", i);
        if (!cJSON_IsArray(tc))
            return wrong_type(c, pname, "an array");
        if (tc->child)
            return unsupported(c, pname);
    }

    snprintf(pname, sizeof pname, "messages[%zu].content", i);
    const cJSON *co = field(m, "content");
    char *content = NULL;
    int st = 0;
    if (co)
        st = parse_content(c, co, pname, &content);
    else if (assistant)
        st = (content = dup_str("")) ? 0 : oom(c);
    else
        st = bad(c, pname, "missing_required_parameter", "Missing required parameter: '%s'", pname);
    if (st)
        return st;
    c->r->msgs[i].content = content;
    if (!(c->r->msgs[i].role = dup_str(role)))
        return oom(c);
    return 0;
}

static int parse_messages(ctx *c) {
    const cJSON *ms = field(c->root, "messages");
    if (!ms)
        return bad(c, "messages", "missing_required_parameter", "Missing required parameter: 'messages'");
    if (!cJSON_IsArray(ms))
        return wrong_type(c, "messages", "an array of messages");
    size_t n = count(ms);
    if (n == 0)
        return bad(c, "messages", "invalid_value", "'messages' must not be empty");
    if (n > c->lim->max_messages)
        return bad(c, "messages", "invalid_value", "'messages' has %zu messages, more than the limit of %zu", n,
                   c->lim->max_messages);
    if (!(c->r->msgs = calloc(n, sizeof *c->r->msgs)))
        return oom(c);
    c->r->n_msgs = n; /* the entries not yet filled stay NULL for srv_request_free */
    size_t i = 0;
    for (const cJSON *m = ms->child; m; m = m->next, i++) {
        int st = parse_message(c, m, i);
        if (st)
            return st;
    }
    return 0;
}

static int parse_stream(ctx *c) {
    const cJSON *s = field(c->root, "stream");
    if (s) {
        if (!cJSON_IsBool(s))
            return wrong_type(c, "stream", "a boolean");
        c->r->stream = cJSON_IsTrue(s);
    }
    const cJSON *so = field(c->root, "stream_options");
    if (so) {
        if (!cJSON_IsObject(so))
            return wrong_type(c, "stream_options", "an object");
        if (!c->r->stream)
            return bad(c, "stream_options", "invalid_value",
                       "'stream_options' is only allowed when 'stream' is true");
        const cJSON *iu = field(so, "include_usage");
        if (iu) {
            if (!cJSON_IsBool(iu))
                return wrong_type(c, "stream_options.include_usage", "a boolean");
            c->r->include_usage = cJSON_IsTrue(iu);
        }
    }
    return 0;
}

static int parse_max_tokens(ctx *c) {
    c->r->max_tokens = c->lim->default_max_tokens;
    int st = opt_int32(c, "max_tokens", 1, c->lim->max_tokens, &c->r->max_tokens);
    if (!st && c->r->kind == SRV_CHAT) /* the newer name wins */
        st = opt_int32(c, "max_completion_tokens", 1, c->lim->max_tokens, &c->r->max_tokens);
    return st;
}

static int parse_sampling(ctx *c) {
    bn_sampler_params *sp = &c->r->sp;
    *sp = c->lim->defaults;
    int st;
    if ((st = opt_float(c, "temperature", 0, 0, 2, &sp->temperature)) ||
        (st = opt_float(c, "top_p", 0, 1, 1, &sp->top_p)) ||
        (st = opt_int32(c, "top_k", 0, 1 << 30, &sp->top_k)) ||
        (st = opt_float(c, "min_p", 0, 0, 1, &sp->min_p)) ||
        (st = opt_float(c, "frequency_penalty", -2, 0, 2, &sp->frequency_penalty)) ||
        (st = opt_float(c, "presence_penalty", -2, 0, 2, &sp->presence_penalty)) ||
        (st = opt_float(c, "repeat_penalty", 0, 1, 10, &sp->repeat_penalty)) ||
        (st = opt_int32(c, "repeat_last_n", 0, BN_SAMPLER_MAX_LAST_N, &sp->repeat_last_n)))
        return st;
    const cJSON *seed = field(c->root, "seed");
    if (seed) {
        /* [-2^63, 2^63): 2^63 - 1024 is the largest double below 2^63. */
        double d;
        if ((st = get_int(c, seed, "seed", -9223372036854775808.0, 9223372036854774784.0, &d)))
            return st;
        sp->seed = (uint64_t)(int64_t)d; /* negatives: two's complement */
        c->r->seed_given = 1;
    }
    if (bn_sampler_params_check(sp) != BN_OK) /* only the server's defaults can fail here */
        return srv_error_set(c->e, 500, "server_error", NULL, NULL, "invalid sampling defaults: %s", bn_last_error());
    return 0;
}

static int add_stop(ctx *c, const cJSON *s) {
    if (!cJSON_IsString(s))
        return wrong_type(c, "stop", "a string or an array of strings");
    size_t n = strlen(s->valuestring);
    if (n == 0)
        return bad(c, "stop", "invalid_value", "stop sequences must not be empty");
    if (n > SRV_MAX_STOP_BYTES)
        return bad(c, "stop", "invalid_value", "stop sequences must be at most %d bytes, got %zu",
                   SRV_MAX_STOP_BYTES, n);
    if (!(c->r->stop[c->r->n_stop] = dup_str(s->valuestring)))
        return oom(c);
    c->r->n_stop++;
    return 0;
}

static int parse_stop(ctx *c) {
    const cJSON *s = field(c->root, "stop");
    if (!s)
        return 0;
    if (!cJSON_IsArray(s))
        return add_stop(c, s);
    if (count(s) > SRV_MAX_STOP)
        return bad(c, "stop", "invalid_value", "at most %d stop sequences are supported, got %zu", SRV_MAX_STOP,
                   count(s));
    for (const cJSON *it = s->child; it; it = it->next) {
        int st = add_stop(c, it);
        if (st)
            return st;
    }
    return 0;
}

/* A JSON integer >= lo (for n, logprobs, top_logprobs, best_of). */
static int int_from(ctx *c, const cJSON *it, const char *name, double lo, double *out) {
    return get_int(c, it, name, lo, HUGE_VAL, out);
}

/* What would change the answer and is not implemented: refused, never
 * ignored. Checked for both endpoints. */
static int parse_unsupported(ctx *c) {
    const cJSON *it;
    double d;
    int st;
    if ((it = field(c->root, "n"))) {
        if ((st = int_from(c, it, "n", 1, &d)))
            return st;
        if (d > 1)
            return bad(c, "n", "unsupported_value", "n > 1 is not supported");
    }
    if ((it = field(c->root, "logprobs"))) {
        if (cJSON_IsBool(it)) {
            if (cJSON_IsTrue(it))
                return unsupported(c, "logprobs");
        } else if (cJSON_IsNumber(it)) {
            if ((st = int_from(c, it, "logprobs", 0, &d)))
                return st;
            if (d > 0)
                return unsupported(c, "logprobs");
        } else
            return wrong_type(c, "logprobs", "a boolean or an integer");
    }
    if ((it = field(c->root, "top_logprobs"))) {
        if ((st = int_from(c, it, "top_logprobs", 0, &d)))
            return st;
        if (d > 0)
            return unsupported(c, "top_logprobs");
    }
    if ((it = field(c->root, "echo"))) {
        if (!cJSON_IsBool(it))
            return wrong_type(c, "echo", "a boolean");
        if (cJSON_IsTrue(it))
            return unsupported(c, "echo");
    }
    if ((it = field(c->root, "best_of"))) {
        if ((st = int_from(c, it, "best_of", 1, &d)))
            return st;
        if (d > 1)
            return unsupported(c, "best_of");
    }
    if (field(c->root, "suffix"))
        return unsupported(c, "suffix");
    static const char *const lists[] = {"tools", "functions"};
    for (size_t k = 0; k < sizeof lists / sizeof *lists; k++)
        if ((it = field(c->root, lists[k]))) {
            if (!cJSON_IsArray(it))
                return wrong_type(c, lists[k], "an array");
            if (it->child)
                return unsupported(c, lists[k]);
        }
    if ((it = field(c->root, "logit_bias"))) {
        if (!cJSON_IsObject(it))
            return wrong_type(c, "logit_bias", "an object");
        if (it->child)
            return unsupported(c, "logit_bias");
    }
    if ((it = field(c->root, "response_format"))) {
        if (!cJSON_IsObject(it))
            return wrong_type(c, "response_format", "an object");
        const cJSON *type = field(it, "type");
        if (!cJSON_IsString(type))
            return wrong_type(c, "response_format", "an object with a string 'type'");
        if (strcmp(type->valuestring, "text") != 0)
            return bad(c, "response_format", "unsupported_value",
                       "response_format is not supported (only {\"type\": \"text\"})");
    }
    return 0;
}

static int parse_fields(ctx *c) {
    int st;
    if ((st = opt_string(c, c->root, "model", &c->r->model)) ||
        (st = c->r->kind == SRV_CHAT ? parse_messages(c) : parse_prompt(c)) || (st = parse_stream(c)) ||
        (st = parse_max_tokens(c)) || (st = parse_sampling(c)) || (st = parse_stop(c)) ||
        (st = parse_unsupported(c)) || (st = opt_string(c, c->root, "user", &c->r->user)))
        return st;
    return 0;
}

/* A "\u0000" escape anywhere (the body is valid JSON, so a backslash only
 * occurs inside a string, where it starts a two-byte or \uXXXX escape). */
static int has_nul_escape(const char *b, size_t n) {
    for (size_t i = 0; i + 1 < n; i++) {
        if (b[i] != '\\')
            continue;
        if (b[i + 1] == 'u' && i + 5 < n && memcmp(b + i + 2, "0000", 4) == 0)
            return 1;
        i++; /* the escaped character ("\\\\" must not start another escape) */
    }
    return 0;
}

int srv_request_parse(srv_kind kind, const char *body, size_t len, const srv_limits *lim, srv_request *r,
                      srv_error *e) {
    srv_error ignored;
    if (!e)
        e = &ignored;
    if (!r)
        return srv_error_set(e, 500, "server_error", NULL, NULL, "internal error: no request to fill");
    memset(r, 0, sizeof *r);
    if (!lim || (kind != SRV_COMPLETION && kind != SRV_CHAT) || (!body && len))
        return srv_error_set(e, 500, "server_error", NULL, NULL, "internal error: bad arguments to the parser");
    if (!body)
        body = "";

    size_t good = utf8_prefix(body, len);
    if (good != len)
        return srv_error_set(e, 400, INVALID, NULL, "invalid_json",
                             "request body is not valid UTF-8 (at byte %zu)", good);
    const char *nul = memchr(body, '\0', len);
    if (nul)
        return srv_error_set(e, 400, INVALID, NULL, "invalid_json",
                             "request body contains a NUL byte (at byte %zu)", (size_t)(nul - body));
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    if (!root) {
        size_t at = end && end >= body && end <= body + len ? (size_t)(end - body) : 0;
        return srv_error_set(e, 400, INVALID, NULL, "invalid_json",
                             "request body is not valid JSON (at byte %zu)", at);
    }
    int st = 0;
    while (end < body + len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
        end++;
    if (end != body + len)
        st = srv_error_set(e, 400, INVALID, NULL, "invalid_json",
                           "request body has data after the JSON value (at byte %zu)", (size_t)(end - body));
    else if (!cJSON_IsObject(root))
        st = srv_error_set(e, 400, INVALID, NULL, "invalid_json", "request body must be a JSON object");
    else if (has_nul_escape(body, len))
        st = srv_error_set(e, 400, INVALID, NULL, "invalid_json", "strings must not contain NUL (\\u0000)");
    if (!st) {
        r->kind = kind;
        ctx c = {lim, r, e, root};
        st = parse_fields(&c);
    }
    cJSON_Delete(root);
    if (st)
        srv_request_free(r);
    return st;
}

void srv_request_free(srv_request *r) {
    if (!r)
        return;
    free(r->model);
    free(r->prompt);
    free(r->prompt_ids);
    for (size_t i = 0; r->msgs && i < r->n_msgs; i++) {
        free((char *)r->msgs[i].role);
        free((char *)r->msgs[i].content);
    }
    free(r->msgs);
    for (int i = 0; i < SRV_MAX_STOP; i++)
        free(r->stop[i]);
    free(r->user);
    memset(r, 0, sizeof *r);
}
