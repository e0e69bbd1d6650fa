/* libFuzzer target: an HTTP request body through srv_request_parse
 * (host/server/request.c), as a completions and as a chat request, with
 * fixed limits. Whatever it accepts must be within those limits (ids below
 * n_vocab, counts, lengths, sampling ranges, strings that are UTF-8); a
 * refusal must leave the request empty and give an error whose JSON is
 * valid UTF-8. Every string is read to its end (ASan sees an unterminated
 * one) and everything is freed (LeakSanitizer sees the rest). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"

static volatile uint64_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_str(const char *s, size_t min, size_t max) {
    if (!s)
        __builtin_trap();
    size_t n = strlen(s);
    if (n < min || n > max || !srv_utf8_valid(s, n))
        __builtin_trap();
    sink += n;
}

static int is_zero(const srv_request *r) {
    static const srv_request zero;
    return memcmp(r, &zero, sizeof zero) == 0;
}

static void run(srv_kind kind, const uint8_t *data, size_t size, const srv_limits *lim) {
    srv_request r;
    srv_error e;
    memset(&e, 0, sizeof e);
    int st = srv_request_parse(kind, (const char *)data, size, lim, &r, &e);
    if (st != 0) {
        /* 400 for the body; 500 only when out of memory */
        if ((st != 400 && st != 500) || e.status != st || !e.type || !is_zero(&r))
            __builtin_trap();
        check_str(e.message, 1, sizeof e.message - 1);
        check_str(e.param, 0, sizeof e.param - 1);
        if (e.code)
            check_str(e.code, 1, 64);
        char *json = srv_error_json(&e);
        if (json) {
            check_str(json, 2, 4096);
            free(json);
        }
        srv_request_free(&r);
        return;
    }
    if (r.kind != kind || !srv_utf8_valid((const char *)data, size))
        __builtin_trap();
    if (kind == SRV_COMPLETION) {
        if (r.msgs || r.n_msgs || !r.prompt == !r.prompt_ids)
            __builtin_trap();
        if (r.prompt)
            check_str(r.prompt, 1, size);
        else {
            if (r.n_prompt_ids < 1 || r.n_prompt_ids > lim->max_prompt_ids)
                __builtin_trap();
            for (size_t i = 0; i < r.n_prompt_ids; i++)
                if (r.prompt_ids[i] < 0 || r.prompt_ids[i] >= lim->n_vocab)
                    __builtin_trap();
        }
    } else {
        if (r.prompt || r.prompt_ids || r.n_prompt_ids || !r.msgs || r.n_msgs < 1 || r.n_msgs > lim->max_messages)
            __builtin_trap();
        for (size_t i = 0; i < r.n_msgs; i++) {
            const char *role = r.msgs[i].role;
            check_str(role, 4, 9);
            if (strcmp(role, "system") && strcmp(role, "user") && strcmp(role, "assistant"))
                __builtin_trap();
            check_str(r.msgs[i].content, 0, size);
        }
    }
    if (r.model)
        check_str(r.model, 0, size);
    if (r.user)
        check_str(r.user, 0, size);
    if (r.include_usage && !r.stream)
        __builtin_trap();
    if (r.max_tokens != lim->default_max_tokens && (r.max_tokens < 1 || r.max_tokens > lim->max_tokens))
        __builtin_trap();
    if (r.n_stop < 0 || r.n_stop > SRV_MAX_STOP)
        __builtin_trap();
    for (int i = 0; i < SRV_MAX_STOP; i++) {
        if (i < r.n_stop)
            check_str(r.stop[i], 1, SRV_MAX_STOP_BYTES);
        else if (r.stop[i])
            __builtin_trap();
    }
    const bn_sampler_params *p = &r.sp;
    if (bn_sampler_params_check(p) != BN_OK || !(p->temperature >= 0 && p->temperature <= 2) ||
        !(p->top_p > 0 && p->top_p <= 1) || p->top_k > (1 << 30) || !(p->min_p >= 0 && p->min_p <= 1) ||
        !(fabsf(p->frequency_penalty) <= 2) || !(fabsf(p->presence_penalty) <= 2) ||
        !(p->repeat_penalty > 0 && p->repeat_penalty <= 10))
        __builtin_trap();
    if (!r.seed_given && p->seed != lim->defaults.seed)
        __builtin_trap();
    sink += p->seed + (uint64_t)r.max_tokens;
    srv_request_free(&r);
    if (!is_zero(&r))
        __builtin_trap();
    srv_request_free(&r); /* twice is fine */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static srv_limits lim;
    if (!lim.n_vocab) {
        lim.n_vocab = 32000;
        lim.max_tokens = 4096;
        lim.max_messages = 64;
        lim.max_prompt_ids = 8192;
        lim.default_max_tokens = -1;
        bn_sampler_params_init(&lim.defaults);
    }
    run(SRV_COMPLETION, data, size, &lim);
    run(SRV_CHAT, data, size, &lim);
    return 0;
}
