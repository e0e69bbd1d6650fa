/* OpenAI request bodies -> a checked srv_request, or an OpenAI-shaped error.
 *
 * Pure functions of the body bytes (no model, no network), so the whole
 * validation path can be fuzzed and unit-tested on its own. Every field the
 * server acts on is type- and range-checked here; what we do not implement
 * (n > 1, logprobs, tools, ...) is refused with a 400 that names the field,
 * never silently ignored when it would change the answer. */
#ifndef BITNET_SERVER_REQUEST_H
#define BITNET_SERVER_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include <bitnet/sampler.h>
#include <bitnet/tokenizer.h>

typedef enum srv_kind { SRV_COMPLETION = 1, SRV_CHAT = 2 } srv_kind;

#define SRV_MAX_STOP 4         /* OpenAI's limit on stop sequences */
#define SRV_MAX_STOP_BYTES 256 /* per stop string */

/* An OpenAI error: {"error": {"message", "type", "param", "code"}}. */
typedef struct srv_error {
    int status;        /* HTTP status: 400, 401, 404, 413, 429, 500, 503, ... */
    char message[512];
    const char *type;  /* "invalid_request_error", "authentication_error", "server_error", ... */
    char param[64];    /* the offending field ("" = null) */
    const char *code;  /* short machine code or NULL */
} srv_error;

/* Fill e and return e->status (printf-style message). */
int srv_error_set(srv_error *e, int status, const char *type, const char *param, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* The JSON text of e (malloc'd, NUL-terminated); NULL only when out of memory. */
char *srv_error_json(const srv_error *e);

/* What the server allows; the parser refuses values outside it. */
typedef struct srv_limits {
    int32_t max_tokens;    /* largest max_tokens accepted (the context length) */
    int32_t n_vocab;       /* token ids in a prompt array must be < n_vocab */
    size_t max_messages;   /* chat messages per request */
    size_t max_prompt_ids; /* token ids in a prompt array */
    bn_sampler_params defaults; /* sampling when a field is absent (the server's flags) */
    int32_t default_max_tokens; /* when absent; -1 = until end of text or context */
} srv_limits;

typedef struct srv_request {
    srv_kind kind;
    char *model;            /* "model" as given (NULL if absent) */
    /* completions: the prompt as text, or as token ids (exactly one is set) */
    char *prompt;
    int32_t *prompt_ids;
    size_t n_prompt_ids;
    /* chat: messages with role and content (text parts joined) */
    bn_chat_msg *msgs;      /* role / content strings owned by the request */
    size_t n_msgs;
    int stream;             /* "stream": true */
    int include_usage;      /* "stream_options": {"include_usage": true} */
    int32_t max_tokens;     /* max_tokens / max_completion_tokens; -1 = unlimited */
    bn_sampler_params sp;   /* temperature, top_p, top_k, min_p, penalties, seed */
    int seed_given;         /* "seed" present: sp.seed is the caller's */
    char *stop[SRV_MAX_STOP];
    int n_stop;
    char *user;             /* "user" (NULL if absent) */
} srv_request;

/* Parse and check a body. 0 on success (free r with srv_request_free);
 * otherwise the HTTP status, with e filled and r left empty. r is
 * overwritten on entry, not freed: free a previous request first. The
 * rules beyond OpenAI's (null = absent, last of repeated keys, negative
 * seeds, 500 on bad defaults) are listed at the top of request.c. */
int srv_request_parse(srv_kind kind, const char *body, size_t len, const srv_limits *lim, srv_request *r,
                      srv_error *e);
void srv_request_free(srv_request *r);

/* Well-formed UTF-8 (no overlongs, surrogates or code points > U+10FFFF)? */
int srv_utf8_valid(const char *s, size_t n);

#endif
