/* The request checks of `bitnet serve` (host/server/request.c): every field's
 * accepted and refused values, the parameter each refusal names, strict
 * UTF-8, the OpenAI error JSON, and that a refused request is left empty.
 * Expected values come from the rules in request.h / request.c's header,
 * not from running the code. */
#include <check.h>
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"

#define CMP SRV_COMPLETION
#define CHT SRV_CHAT
/* A valid completions / chat body with extra members x (starting with ","). */
#define COMP(x) "{\"prompt\":\"hi\"" x "}"
#define CHAT(x) "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]" x "}"

static srv_limits lim;
static srv_request r;
static srv_error e;

static void setup(void) {
    memset(&lim, 0, sizeof lim);
    lim.max_tokens = 512;
    lim.n_vocab = 1000;
    lim.max_messages = 8;
    lim.max_prompt_ids = 16;
    bn_sampler_params_init(&lim.defaults);
    lim.defaults.temperature = 0.5f;
    lim.defaults.top_k = 7;
    lim.defaults.seed = 1234;
    lim.default_max_tokens = -1;
    memset(&r, 0, sizeof r);
    memset(&e, 0, sizeof e);
}

static void teardown(void) { srv_request_free(&r); }

static int is_zero(const srv_request *q) {
    static const srv_request zero;
    return memcmp(q, &zero, sizeof zero) == 0;
}

static int parse_n(srv_kind k, const char *body, size_t n) {
    srv_request_free(&r);
    memset(&e, 0, sizeof e);
    return srv_request_parse(k, body, n, &lim, &r, &e);
}

static void accept_at(int line, srv_kind k, const char *body) {
    int st = parse_n(k, body, strlen(body));
    ck_assert_msg(st == 0, "line %d: %s refused: %d %s (param '%s')", line, body, st, e.message, e.param);
    ck_assert_int_eq(r.kind, k);
}

/* A 400 invalid_request_error naming param ("" = null), r left empty. */
static void refuse_at(int line, srv_kind k, const char *body, size_t n, const char *param) {
    int st = parse_n(k, body, n);
    ck_assert_msg(st == 400, "line %d: %.*s: status %d, want 400 (param '%s')", line, (int)n, body, st, e.param);
    ck_assert_int_eq(e.status, 400);
    ck_assert_msg(e.type && strcmp(e.type, "invalid_request_error") == 0, "line %d: type %s", line,
                  e.type ? e.type : "(null)");
    ck_assert_msg(strcmp(e.param, param) == 0, "line %d: %.*s: param '%s', want '%s' (%s)", line, (int)n, body,
                  e.param, param, e.message);
    ck_assert_msg(e.message[0] != '\0', "line %d: empty message", line);
    ck_assert_msg(is_zero(&r), "line %d: refused request not left empty", line);
}

#define ACCEPT(k, body) accept_at(__LINE__, k, body)
#define REFUSE(k, body, param) refuse_at(__LINE__, k, body, strlen(body), param)
#define REFUSE_N(k, body, n, param) refuse_at(__LINE__, k, body, n, param)
/* Refused with a message containing `part`. */
#define REFUSE_MSG(k, body, param, part)                                                                  \
    do {                                                                                                  \
        REFUSE(k, body, param);                                                                           \
        ck_assert_msg(strstr(e.message, part), "line %d: message '%s' lacks '%s'", __LINE__, e.message, part); \
    } while (0)

/* ---- UTF-8 --------------------------------------------------------------- */

START_TEST(t_utf8) {
    static const struct {
        const char *s;
        int valid;
    } cases[] = {
        {"plain ascii", 1},
        {"caf\xc3\xa9", 1},                   /* U+00E9 */
        {"\xc2\x80", 1},                      /* U+0080, smallest 2-byte */
        {"\xdf\xbf", 1},                      /* U+07FF */
        {"\xe0\xa0\x80", 1},                  /* U+0800, smallest 3-byte */
        {"\xe2\x82\xac", 1},                  /* U+20AC */
        {"\xed\x9f\xbf", 1},                  /* U+D7FF, just below the surrogates */
        {"\xee\x80\x80", 1},                  /* U+E000, just above */
        {"\xef\xbf\xbf", 1},                  /* U+FFFF */
        {"\xf0\x90\x80\x80", 1},              /* U+10000 */
        {"\xf0\x9f\x98\x80", 1},              /* U+1F600 */
        {"\xf4\x8f\xbf\xbf", 1},              /* U+10FFFF */
        {"\xc0\x80", 0},                      /* overlong NUL */
        {"\xc0\xaf", 0},                      /* overlong '/' */
        {"\xc1\xbf", 0},                      /* overlong U+007F */
        {"\xe0\x80\x80", 0},                  /* overlong 3-byte */
        {"\xe0\x9f\xbf", 0},                  /* overlong U+07FF */
        {"\xf0\x80\x80\x80", 0},              /* overlong 4-byte */
        {"\xf0\x8f\xbf\xbf", 0},              /* overlong U+FFFF */
        {"\xed\xa0\x80", 0},                  /* U+D800 */
        {"\xed\xbf\xbf", 0},                  /* U+DFFF */
        {"\xed\xa0\xbd\xed\xb8\x80", 0},      /* CESU-8 surrogate pair */
        {"\xf4\x90\x80\x80", 0},              /* U+110000 */
        {"\xf5\x80\x80\x80", 0},              /* F5 lead */
        {"\xf8\x88\x80\x80\x80", 0},          /* 5-byte form */
        {"\xff", 0},
        {"\xfe", 0},
        {"\x80", 0},                          /* lone continuation */
        {"a\xbf" "b", 0},
        {"\xc3", 0},                          /* truncated 2-byte */
        {"\xe2\x82", 0},                      /* truncated 3-byte */
        {"\xf0\x9f\x98", 0},                  /* truncated 4-byte */
        {"\xc3\x28", 0},                      /* bad continuation */
        {"\xe2\x28\xa1", 0},
        {"\xf0\x9f\x28\x80", 0},
        {"ok \xe2\x82\xac then \xc3", 0},     /* truncated at the end */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        ck_assert_msg(srv_utf8_valid(cases[i].s, strlen(cases[i].s)) == cases[i].valid, "case %zu: want %d", i,
                      cases[i].valid);
    ck_assert(srv_utf8_valid("", 0));
    ck_assert(srv_utf8_valid(NULL, 0));
    ck_assert(!srv_utf8_valid("\xc3\xa9", 1)); /* the length counts, not the NUL */
    ck_assert(srv_utf8_valid("a\0b", 3));        /* NUL is a valid code point */

    /* In a body: refused before parsing, param null, message says UTF-8. */
    const char *bad[] = {"{\"prompt\":\"\xc0\x80\"}", "{\"prompt\":\"\xed\xa0\x80\"}", "{\"prompt\":\"ab\xe2\x82\"}",
                         "{\"prompt\":\"x\"}\xf4\x90\x80\x80", "{\"prompt\":\"\xf0\x80\x80\x80\"}",
                         "{\"model\":\"\xff\",\"prompt\":\"x\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        REFUSE_MSG(CMP, bad[i], "", "UTF-8");
        ck_assert_str_eq(e.code, "invalid_json");
    }
    /* Multi-byte text passes through unchanged. */
    ACCEPT(CMP, "{\"prompt\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\"}");
    ck_assert_str_eq(r.prompt, "caf\xc3\xa9 \xf0\x9f\x98\x80");
    /* An escaped surrogate pair is fine; a lone escaped surrogate is not JSON. */
    ACCEPT(CMP, "{\"prompt\":\"\\ud83d\\ude00\"}");
    ck_assert_str_eq(r.prompt, "\xf0\x9f\x98\x80");
    REFUSE(CMP, "{\"prompt\":\"\\ud800\"}", "");
    REFUSE(CMP, "{\"prompt\":\"\\udc00x\"}", "");
}
END_TEST

/* ---- the body as a whole ------------------------------------------------- */

START_TEST(t_body) {
    /* Not JSON, or not an object: param null, code invalid_json. */
    const char *notobj[] = {"",      " ",       "{",         "}",       "[]",     "\"prompt\"", "42",
                            "null",  "true",    "{\"prompt\"}", "{prompt:\"x\"}", "{\"prompt\":\"x\",}",
                            "{\"prompt\":'x'}", "{\"prompt\":\"x\"} x", "{\"prompt\":\"x\"}{}",
                            "{\"prompt\":\"x\",\"junk\":[[[{\"y\":}]]]}", "{\"prompt\":\"x\",\"t\":nan}",
                            "{\"prompt\":\"x\",\"t\":Infinity}", "[{\"prompt\":\"x\"}]"};
    for (size_t i = 0; i < sizeof notobj / sizeof *notobj; i++) {
        REFUSE(CMP, notobj[i], "");
        ck_assert_str_eq(e.code, "invalid_json");
    }
    REFUSE_N(CMP, NULL, 0, "");
    /* Whitespace around the object is fine; unknown members, however deep, are ignored. */
    ACCEPT(CMP, " \r\n\t{\"prompt\":\"x\"} \n");
    ACCEPT(CMP, "{\"prompt\":\"x\",\"junk\":[[[[{\"a\":[1,{\"b\":null}]}]]]],\"other\":{\"n\":2,\"stream\":7}}");
    ck_assert_str_eq(r.prompt, "x");
    ck_assert_int_eq(r.stream, 0);
    /* The length counts, not a NUL: the same bytes cut short are not JSON. */
    const char *full = "{\"prompt\":\"x\"}";
    REFUSE_N(CMP, full, strlen(full) - 1, "");
    int st = parse_n(CMP, full, strlen(full));
    ck_assert_int_eq(st, 0);
    /* A raw NUL byte or a \u0000 escape would end a C string early: refused. */
    REFUSE_N(CMP, "{\"prompt\":\"a\0b\"}", 16, "");
    REFUSE_N(CMP, "{\"prompt\":\"ab\"}\0", 16, "");
    REFUSE(CMP, "{\"prompt\":\"a\\u0000b\"}", "");
    REFUSE(CMP, "{\"prompt\":\"ab\",\"x\\u0000\":1}", "");
    /* ... but an escaped backslash before "u0000" is plain text. */
    ACCEPT(CMP, "{\"prompt\":\"a\\\\u0000b\"}");
    ck_assert_str_eq(r.prompt, "a\\u0000b");
    ACCEPT(CMP, "{\"prompt\":\"\\u0041\\n\\\"\"}");
    ck_assert_str_eq(r.prompt, "A\n\"");
    /* Nesting far deeper than cJSON's limit: refused, no crash. */
    size_t depth = 5000;
    char *deep = malloc(2 * depth + 32);
    size_t n = (size_t)sprintf(deep, "{\"prompt\":\"x\",\"j\":");
    for (size_t i = 0; i < depth; i++)
        deep[n++] = '[';
    for (size_t i = 0; i < depth; i++)
        deep[n++] = ']';
    deep[n++] = '}';
    REFUSE_N(CMP, deep, n, "");
    free(deep);
    /* A repeated key: the last one counts. */
    ACCEPT(CMP, "{\"prompt\":\"first\",\"prompt\":\"last\"}");
    ck_assert_str_eq(r.prompt, "last");
    REFUSE(CMP, "{\"prompt\":\"x\",\"max_tokens\":5,\"max_tokens\":0}", "max_tokens");
    /* Keys are case-sensitive: "Prompt" is an unknown field. */
    REFUSE(CMP, "{\"Prompt\":\"x\"}", "prompt");
}
END_TEST

/* ---- the error JSON ------------------------------------------------------ */

static cJSON *error_object(const srv_error *err, cJSON **root) {
    char *txt = srv_error_json(err);
    ck_assert_ptr_nonnull(txt);
    ck_assert(srv_utf8_valid(txt, strlen(txt)));
    *root = cJSON_Parse(txt);
    free(txt);
    ck_assert_ptr_nonnull(*root);
    ck_assert_int_eq(cJSON_GetArraySize(*root), 1);
    cJSON *o = cJSON_GetObjectItemCaseSensitive(*root, "error");
    ck_assert(cJSON_IsObject(o));
    /* exactly message, type, param, code */
    ck_assert_int_eq(cJSON_GetArraySize(o), 4);
    const char *keys[] = {"message", "type", "param", "code"};
    for (int i = 0; i < 4; i++)
        ck_assert_ptr_nonnull(cJSON_GetObjectItemCaseSensitive(o, keys[i]));
    return o;
}

START_TEST(t_error_json) {
    srv_error x;
    memset(&x, 0, sizeof x);
    ck_assert_int_eq(srv_error_set(&x, 400, "invalid_request_error", NULL, NULL, "bad %s %d", "thing", 7), 400);
    ck_assert_int_eq(x.status, 400);
    ck_assert_str_eq(x.message, "bad thing 7");
    ck_assert_str_eq(x.param, "");
    ck_assert_ptr_null(x.code);
    cJSON *root;
    cJSON *o = error_object(&x, &root);
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(o, "message")->valuestring, "bad thing 7");
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(o, "type")->valuestring, "invalid_request_error");
    ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "param")));
    ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "code")));
    cJSON_Delete(root);

    /* param and code as strings; quotes and control characters escaped. */
    srv_error_set(&x, 404, "invalid_request_error", "model", "model_not_found", "no \"%s\"\n\ttab", "m\\x");
    o = error_object(&x, &root);
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(o, "message")->valuestring, "no \"m\\x\"\n\ttab");
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(o, "param")->valuestring, "model");
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(o, "code")->valuestring, "model_not_found");
    cJSON_Delete(root);

    /* A message cut by the buffer inside a character stays valid UTF-8. */
    char big[2000];
    size_t n = 0; /* 511 bytes fit: 255 characters and half of one */
    while (n + 2 < sizeof big) {
        big[n++] = '\xc3';
        big[n++] = '\xa9';
    }
    big[n] = '\0';
    srv_error_set(&x, 500, "server_error", NULL, NULL, "%s", big);
    ck_assert_uint_eq(strlen(x.message), 510);
    ck_assert(srv_utf8_valid(x.message, strlen(x.message)));
    o = error_object(&x, &root);
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(o, "type")->valuestring, "server_error");
    cJSON_Delete(root);

    /* A parser refusal serialises with its param. */
    REFUSE(CMP, COMP(",\"temperature\":\"hot\""), "temperature");
    o = error_object(&e, &root);
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(o, "param")->valuestring, "temperature");
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(o, "type")->valuestring, "invalid_request_error");
    cJSON_Delete(root);
    REFUSE(CMP, "nope", "");
    o = error_object(&e, &root);
    ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "param")));
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(o, "code")->valuestring, "invalid_json");
    cJSON_Delete(root);
}
END_TEST

/* ---- model, user ------------------------------------------------------- */

START_TEST(t_model_user) {
    ACCEPT(CMP, COMP(""));
    ck_assert_ptr_null(r.model);
    ck_assert_ptr_null(r.user);
    ACCEPT(CMP, COMP(",\"model\":\"bitnet-2b\",\"user\":\"u-1\""));
    ck_assert_str_eq(r.model, "bitnet-2b");
    ck_assert_str_eq(r.user, "u-1");
    ACCEPT(CHT, CHAT(",\"model\":null,\"user\":null"));
    ck_assert_ptr_null(r.model);
    ck_assert_ptr_null(r.user);
    REFUSE(CMP, COMP(",\"model\":42"), "model");
    REFUSE(CHT, CHAT(",\"model\":[\"a\"]"), "model");
    REFUSE(CMP, COMP(",\"model\":{}"), "model");
    REFUSE(CMP, COMP(",\"model\":true"), "model");
    REFUSE(CMP, COMP(",\"user\":1"), "user");
    REFUSE(CHT, CHAT(",\"user\":{\"id\":1}"), "user");
}
END_TEST

/* ---- prompt (completions) ------------------------------------------------ */

START_TEST(t_prompt) {
    ACCEPT(CMP, "{\"prompt\":\"In the beginning\"}");
    ck_assert_str_eq(r.prompt, "In the beginning");
    ck_assert_ptr_null(r.prompt_ids);
    ck_assert_uint_eq(r.n_prompt_ids, 0);
    ck_assert_ptr_null(r.msgs);
    /* A one-string array is the string. */
    ACCEPT(CMP, "{\"prompt\":[\"only one\"]}");
    ck_assert_str_eq(r.prompt, "only one");
    ck_assert_ptr_null(r.prompt_ids);
    /* Several strings: a batch, refused with the message the brief names. */
    REFUSE_MSG(CMP, "{\"prompt\":[\"a\",\"b\"]}", "prompt",
               "batched prompts are not supported; send one request per prompt");
    REFUSE_MSG(CMP, "{\"prompt\":[[1,2],[3]]}", "prompt", "batched prompts are not supported");
    /* Empty, missing, null, wrong types. */
    REFUSE(CMP, "{\"prompt\":\"\"}", "prompt");
    REFUSE(CMP, "{\"prompt\":[\"\"]}", "prompt");
    REFUSE(CMP, "{\"prompt\":[]}", "prompt");
    REFUSE(CMP, "{\"prompt\":[[]]}", "prompt");
    REFUSE(CMP, "{}", "prompt");
    REFUSE(CMP, "{\"prompt\":null}", "prompt");
    ck_assert_str_eq(e.code, "missing_required_parameter");
    REFUSE(CMP, "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "prompt");
    REFUSE(CMP, "{\"prompt\":42}", "prompt");
    REFUSE(CMP, "{\"prompt\":true}", "prompt");
    REFUSE(CMP, "{\"prompt\":{\"text\":\"x\"}}", "prompt");
    REFUSE(CMP, "{\"prompt\":[\"a\",1]}", "prompt");
    REFUSE(CMP, "{\"prompt\":[1,\"a\"]}", "prompt");
    REFUSE(CMP, "{\"prompt\":[[1],\"a\"]}", "prompt");
    REFUSE(CMP, "{\"prompt\":[[\"a\"]]}", "prompt");
    REFUSE(CMP, "{\"prompt\":[null]}", "prompt");
    REFUSE(CMP, "{\"prompt\":[{\"a\":1}]}", "prompt");
    /* The chat endpoint does not look at prompt. */
    ACCEPT(CHT, CHAT(",\"prompt\":42"));
    ck_assert_ptr_null(r.prompt);
}
END_TEST

START_TEST(t_prompt_ids) {
    ACCEPT(CMP, "{\"prompt\":[0,1,2,999]}");
    ck_assert_ptr_null(r.prompt);
    ck_assert_uint_eq(r.n_prompt_ids, 4);
    ck_assert_int_eq(r.prompt_ids[0], 0);
    ck_assert_int_eq(r.prompt_ids[1], 1);
    ck_assert_int_eq(r.prompt_ids[2], 2);
    ck_assert_int_eq(r.prompt_ids[3], 999);
    ACCEPT(CMP, "{\"prompt\":[[5,6]]}"); /* a batch of one id list */
    ck_assert_uint_eq(r.n_prompt_ids, 2);
    ck_assert_int_eq(r.prompt_ids[0], 5);
    ck_assert_int_eq(r.prompt_ids[1], 6);
    ACCEPT(CMP, "{\"prompt\":[7.0, -0]}"); /* integral values written as decimals */
    ck_assert_int_eq(r.prompt_ids[0], 7);
    ck_assert_int_eq(r.prompt_ids[1], 0);
    /* Bounds: 0 <= id < n_vocab (1000). */
    REFUSE(CMP, "{\"prompt\":[1000]}", "prompt");
    REFUSE(CMP, "{\"prompt\":[1,2,-1]}", "prompt");
    REFUSE(CMP, "{\"prompt\":[1e300]}", "prompt");
    REFUSE(CMP, "{\"prompt\":[-1e300]}", "prompt");
    REFUSE(CMP, "{\"prompt\":[1e999]}", "prompt");
    REFUSE(CMP, "{\"prompt\":[4294967296]}", "prompt");
    REFUSE(CMP, "{\"prompt\":[1.5]}", "prompt");
    REFUSE(CMP, "{\"prompt\":[3,0.0001]}", "prompt");
    REFUSE(CMP, "{\"prompt\":[true]}", "prompt");
    REFUSE(CMP, "{\"prompt\":[1,[2]]}", "prompt");
    /* Count: at most max_prompt_ids (16). */
    ACCEPT(CMP, "{\"prompt\":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]}");
    ck_assert_uint_eq(r.n_prompt_ids, 16);
    ck_assert_int_eq(r.prompt_ids[15], 16);
    REFUSE(CMP, "{\"prompt\":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17]}", "prompt");
    REFUSE(CMP, "{\"prompt\":[[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17]]}", "prompt");
}
END_TEST

/* ---- messages (chat) ----------------------------------------------------- */

START_TEST(t_chat) {
    ACCEPT(CHT, "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},"
                "{\"role\":\"user\",\"content\":\"Hi\"},{\"role\":\"assistant\",\"content\":\"Hello\"},"
                "{\"role\":\"user\",\"content\":\"Again\",\"name\":\"bob\"}]}");
    ck_assert_uint_eq(r.n_msgs, 4);
    ck_assert_str_eq(r.msgs[0].role, "system");
    ck_assert_str_eq(r.msgs[0].content, "Be brief.");
    ck_assert_str_eq(r.msgs[1].role, "user");
    ck_assert_str_eq(r.msgs[1].content, "Hi");
    ck_assert_str_eq(r.msgs[2].role, "assistant");
    ck_assert_str_eq(r.msgs[2].content, "Hello");
    ck_assert_str_eq(r.msgs[3].content, "Again");
    ck_assert_ptr_null(r.prompt);
    /* developer is system. */
    ACCEPT(CHT, "{\"messages\":[{\"role\":\"developer\",\"content\":\"d\"},{\"role\":\"user\",\"content\":\"u\"}]}");
    ck_assert_str_eq(r.msgs[0].role, "system");
    ck_assert_str_eq(r.msgs[0].content, "d");
    /* Roles we refuse, each naming the message. */
    REFUSE_MSG(CHT, "{\"messages\":[{\"role\":\"user\",\"content\":\"u\"},{\"role\":\"tool\",\"content\":\"r\"}]}",
               "messages[1].role", "not supported");
    ck_assert_str_eq(e.code, "unsupported_value");
    REFUSE_MSG(CHT, "{\"messages\":[{\"role\":\"function\",\"content\":\"r\"}]}", "messages[0].role",
               "not supported");
    REFUSE(CHT, "{\"messages\":[{\"role\":\"bot\",\"content\":\"r\"}]}", "messages[0].role");
    REFUSE(CHT, "{\"messages\":[{\"role\":\"User\",\"content\":\"r\"}]}", "messages[0].role");
    REFUSE(CHT, "{\"messages\":[{\"role\":\"\",\"content\":\"r\"}]}", "messages[0].role");
    REFUSE(CHT, "{\"messages\":[{\"content\":\"r\"}]}", "messages[0].role");
    REFUSE(CHT, "{\"messages\":[{\"role\":null,\"content\":\"r\"}]}", "messages[0].role");
    REFUSE(CHT, "{\"messages\":[{\"role\":1,\"content\":\"r\"}]}", "messages[0].role");
    /* messages itself. */
    REFUSE(CHT, "{}", "messages");
    REFUSE(CHT, "{\"messages\":null}", "messages");
    REFUSE(CHT, "{\"prompt\":\"x\"}", "messages");
    REFUSE(CHT, "{\"messages\":[]}", "messages");
    REFUSE(CHT, "{\"messages\":{\"role\":\"user\",\"content\":\"x\"}}", "messages");
    REFUSE(CHT, "{\"messages\":\"hi\"}", "messages");
    REFUSE(CHT, "{\"messages\":[\"hi\"]}", "messages[0]");
    REFUSE(CHT, "{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},null]}", "messages[1]");
    REFUSE(CHT, "{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},[1]]}", "messages[1]");
    /* At most max_messages (8). */
#define M "{\"role\":\"user\",\"content\":\"m\"}"
    ACCEPT(CHT, "{\"messages\":[" M "," M "," M "," M "," M "," M "," M "," M "]}");
    ck_assert_uint_eq(r.n_msgs, 8);
    REFUSE(CHT, "{\"messages\":[" M "," M "," M "," M "," M "," M "," M "," M "," M "]}", "messages");
    /* An error in a later message, after earlier ones were copied: still empty. */
    REFUSE(CHT, "{\"messages\":[" M "," M "," M ",{\"role\":\"user\",\"content\":5}]}", "messages[3].content");
#undef M
    /* Tool calls in an assistant message: refused when present. */
    ACCEPT(CHT, "{\"messages\":[{\"role\":\"assistant\",\"content\":\"a\",\"tool_calls\":[]}]}");
    REFUSE(CHT, "{\"messages\":[{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c\"}]}]}",
           "messages[0].tool_calls");
    REFUSE(CHT, "{\"messages\":[{\"role\":\"assistant\",\"content\":\"a\",\"tool_calls\":{}}]}",
           "messages[0].tool_calls");
}
END_TEST

START_TEST(t_chat_content) {
    /* Text parts joined with "\n". */
    ACCEPT(CHT, "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"one\"},"
                "{\"type\":\"text\",\"text\":\"two\"},{\"text\":\"three\",\"type\":\"text\"}]}]}");
    ck_assert_str_eq(r.msgs[0].content, "one\ntwo\nthree");
    ACCEPT(CHT, "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"solo\"}]}]}");
    ck_assert_str_eq(r.msgs[0].content, "solo");
    ACCEPT(CHT, "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"\"},"
                "{\"type\":\"text\",\"text\":\"\"}]}]}");
    ck_assert_str_eq(r.msgs[0].content, "\n");
    ACCEPT(CHT, "{\"messages\":[{\"role\":\"user\",\"content\":[]}]}");
    ck_assert_str_eq(r.msgs[0].content, "");
    ACCEPT(CHT, "{\"messages\":[{\"role\":\"user\",\"content\":\"\"}]}");
    ck_assert_str_eq(r.msgs[0].content, "");
    /* Other part types, and malformed parts, name the message's content. */
    REFUSE_MSG(CHT, "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},"
                    "{\"type\":\"image_url\",\"image_url\":{\"url\":\"http://x\"}}]}]}",
               "messages[0].content", "not supported");
    ck_assert_str_eq(e.code, "unsupported_value");
    /* ... even when it also carries a text. */
    REFUSE(CHT, "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"refusal\",\"text\":\"a\"}]}]}",
           "messages[0].content");
    REFUSE(CHT, "{\"messages\":[{\"role\":\"user\",\"content\":\"ok\"},{\"role\":\"user\",\"content\":"
                "[{\"type\":\"input_audio\",\"input_audio\":{}}]}]}",
           "messages[1].content");
    REFUSE(CHT, "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\"}]}]}", "messages[0].content");
    REFUSE(CHT, "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":5}]}]}",
           "messages[0].content");
    REFUSE(CHT, "{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"a\"}]}]}", "messages[0].content");
    REFUSE(CHT, "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":1,\"text\":\"a\"}]}]}",
           "messages[0].content");
    REFUSE(CHT, "{\"messages\":[{\"role\":\"user\",\"content\":[\"a\"]}]}", "messages[0].content");
    REFUSE(CHT, "{\"messages\":[{\"role\":\"user\",\"content\":[[{\"type\":\"text\",\"text\":\"a\"}]]}]}",
           "messages[0].content");
    REFUSE(CHT, "{\"messages\":[{\"role\":\"user\",\"content\":42}]}", "messages[0].content");
    REFUSE(CHT, "{\"messages\":[{\"role\":\"user\",\"content\":{\"type\":\"text\",\"text\":\"a\"}}]}",
           "messages[0].content");
    /* null / absent content: only for the assistant, as "". */
    ACCEPT(CHT, "{\"messages\":[{\"role\":\"user\",\"content\":\"q\"},{\"role\":\"assistant\",\"content\":null}]}");
    ck_assert_str_eq(r.msgs[1].role, "assistant");
    ck_assert_str_eq(r.msgs[1].content, "");
    ACCEPT(CHT, "{\"messages\":[{\"role\":\"assistant\"}]}");
    ck_assert_str_eq(r.msgs[0].content, "");
    REFUSE(CHT, "{\"messages\":[{\"role\":\"user\",\"content\":null}]}", "messages[0].content");
    REFUSE(CHT, "{\"messages\":[{\"role\":\"user\"}]}", "messages[0].content");
    REFUSE(CHT, "{\"messages\":[{\"role\":\"system\"}]}", "messages[0].content");
    REFUSE(CHT, "{\"messages\":[{\"role\":\"developer\",\"content\":null}]}", "messages[0].content");
    /* Copies: the request owns its strings. */
    char body[] = "{\"messages\":[{\"role\":\"user\",\"content\":\"mine\"}]}";
    ck_assert_int_eq(parse_n(CHT, body, strlen(body)), 0);
    memset(body, 'x', strlen(body));
    ck_assert_str_eq(r.msgs[0].content, "mine");
    ck_assert_str_eq(r.msgs[0].role, "user");
}
END_TEST

/* ---- stream --------------------------------------------------------------- */

START_TEST(t_stream) {
    ACCEPT(CMP, COMP(""));
    ck_assert_int_eq(r.stream, 0);
    ck_assert_int_eq(r.include_usage, 0);
    ACCEPT(CMP, COMP(",\"stream\":true"));
    ck_assert_int_eq(r.stream, 1);
    ACCEPT(CHT, CHAT(",\"stream\":false"));
    ck_assert_int_eq(r.stream, 0);
    ACCEPT(CHT, CHAT(",\"stream\":null"));
    ck_assert_int_eq(r.stream, 0);
    ACCEPT(CHT, CHAT(",\"stream\":true,\"stream_options\":{\"include_usage\":true}"));
    ck_assert_int_eq(r.stream, 1);
    ck_assert_int_eq(r.include_usage, 1);
    ACCEPT(CMP, COMP(",\"stream\":true,\"stream_options\":{\"include_usage\":false}"));
    ck_assert_int_eq(r.include_usage, 0);
    ACCEPT(CMP, COMP(",\"stream\":true,\"stream_options\":{}"));
    ck_assert_int_eq(r.include_usage, 0);
    ACCEPT(CMP, COMP(",\"stream\":true,\"stream_options\":{\"include_usage\":null}"));
    ck_assert_int_eq(r.include_usage, 0);
    ACCEPT(CMP, COMP(",\"stream_options\":null"));
    ACCEPT(CMP, COMP(",\"stream\":false,\"stream_options\":null"));
    REFUSE(CMP, COMP(",\"stream\":\"true\""), "stream");
    REFUSE(CMP, COMP(",\"stream\":1"), "stream");
    REFUSE(CHT, CHAT(",\"stream\":{}"), "stream");
    /* stream_options without stream: true (as OpenAI). */
    REFUSE(CMP, COMP(",\"stream_options\":{\"include_usage\":true}"), "stream_options");
    REFUSE(CHT, CHAT(",\"stream\":false,\"stream_options\":{\"include_usage\":true}"), "stream_options");
    REFUSE(CHT, CHAT(",\"stream\":false,\"stream_options\":{}"), "stream_options");
    REFUSE(CHT, CHAT(",\"stream\":true,\"stream_options\":true"), "stream_options");
    REFUSE(CHT, CHAT(",\"stream\":true,\"stream_options\":[]"), "stream_options");
    REFUSE(CHT, CHAT(",\"stream\":true,\"stream_options\":{\"include_usage\":1}"), "stream_options.include_usage");
    REFUSE(CHT, CHAT(",\"stream\":true,\"stream_options\":{\"include_usage\":\"yes\"}"),
           "stream_options.include_usage");
}
END_TEST

/* ---- max_tokens ----------------------------------------------------------- */

START_TEST(t_max_tokens) {
    ACCEPT(CMP, COMP(""));
    ck_assert_int_eq(r.max_tokens, -1);
    lim.default_max_tokens = 16;
    ACCEPT(CMP, COMP(",\"max_tokens\":null"));
    ck_assert_int_eq(r.max_tokens, 16);
    ACCEPT(CMP, COMP(",\"max_tokens\":1"));
    ck_assert_int_eq(r.max_tokens, 1);
    ACCEPT(CMP, COMP(",\"max_tokens\":512"));
    ck_assert_int_eq(r.max_tokens, 512);
    ACCEPT(CHT, CHAT(",\"max_tokens\":100.0"));
    ck_assert_int_eq(r.max_tokens, 100);
    ACCEPT(CHT, CHAT(",\"max_tokens\":1e2"));
    ck_assert_int_eq(r.max_tokens, 100);
    const char *bad[] = {COMP(",\"max_tokens\":513"),      COMP(",\"max_tokens\":0"),
                         COMP(",\"max_tokens\":-1"),       COMP(",\"max_tokens\":1.5"),
                         COMP(",\"max_tokens\":1e300"),    COMP(",\"max_tokens\":-1e300"),
                         COMP(",\"max_tokens\":1e999"),    COMP(",\"max_tokens\":2147483648"),
                         COMP(",\"max_tokens\":4294967297"), COMP(",\"max_tokens\":\"5\""),
                         COMP(",\"max_tokens\":true"),     COMP(",\"max_tokens\":[5]"),
                         COMP(",\"max_tokens\":{}"),       COMP(",\"max_tokens\":0.9999999")};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        REFUSE(CMP, bad[i], "max_tokens");
    /* Chat: max_completion_tokens, which wins over max_tokens. */
    ACCEPT(CHT, CHAT(",\"max_completion_tokens\":7"));
    ck_assert_int_eq(r.max_tokens, 7);
    ACCEPT(CHT, CHAT(",\"max_tokens\":5,\"max_completion_tokens\":7"));
    ck_assert_int_eq(r.max_tokens, 7);
    ACCEPT(CHT, CHAT(",\"max_completion_tokens\":7,\"max_tokens\":5"));
    ck_assert_int_eq(r.max_tokens, 7);
    ACCEPT(CHT, CHAT(",\"max_tokens\":5,\"max_completion_tokens\":null"));
    ck_assert_int_eq(r.max_tokens, 5);
    REFUSE(CHT, CHAT(",\"max_completion_tokens\":0"), "max_completion_tokens");
    REFUSE(CHT, CHAT(",\"max_completion_tokens\":513"), "max_completion_tokens");
    REFUSE(CHT, CHAT(",\"max_completion_tokens\":1e300"), "max_completion_tokens");
    REFUSE(CHT, CHAT(",\"max_completion_tokens\":2.5"), "max_completion_tokens");
    REFUSE(CHT, CHAT(",\"max_completion_tokens\":\"7\""), "max_completion_tokens");
    REFUSE(CHT, CHAT(",\"max_tokens\":0,\"max_completion_tokens\":7"), "max_tokens");
    /* Completions do not know max_completion_tokens: ignored. */
    ACCEPT(CMP, COMP(",\"max_completion_tokens\":7"));
    ck_assert_int_eq(r.max_tokens, 16);
    /* The limit is the server's. */
    lim.max_tokens = 4096;
    ACCEPT(CMP, COMP(",\"max_tokens\":4096"));
    ck_assert_int_eq(r.max_tokens, 4096);
    REFUSE(CMP, COMP(",\"max_tokens\":4097"), "max_tokens");
}
END_TEST

/* ---- sampling ------------------------------------------------------------- */

typedef struct {
    const char *name;
    const char *ok[6];  /* accepted values (JSON text) */
    float want[6];      /* ... and what the field then holds */
    const char *bad[9]; /* refused values */
} num_case;

static float sp_field(const bn_sampler_params *p, const char *name) {
    if (!strcmp(name, "temperature"))
        return p->temperature;
    if (!strcmp(name, "top_p"))
        return p->top_p;
    if (!strcmp(name, "top_k"))
        return (float)p->top_k;
    if (!strcmp(name, "min_p"))
        return p->min_p;
    if (!strcmp(name, "frequency_penalty"))
        return p->frequency_penalty;
    if (!strcmp(name, "presence_penalty"))
        return p->presence_penalty;
    if (!strcmp(name, "repeat_penalty"))
        return p->repeat_penalty;
    if (!strcmp(name, "repeat_last_n"))
        return (float)p->repeat_last_n;
    ck_abort_msg("no field %s", name);
    return 0;
}

START_TEST(t_sampling) {
    static const num_case cases[] = {
        {"temperature", {"0", "2", "0.7", "1e-3", "2.0"}, {0, 2, 0.7f, 1e-3f, 2},
         {"2.0001", "-0.1", "-1e-300", "3", "1e300", "1e999", "\"1\"", "true", "[1]"}},
        {"top_p", {"1", "0.5", "1e-6", "0.95"}, {1, 0.5f, 1e-6f, 0.95f},
         {"0", "-0", "1e-50", "1.0001", "-0.5", "2", "1e999", "\"0.9\"", "{}"}},
        {"top_k", {"0", "1", "40", "1073741824", "40.0"}, {0, 1, 40, 1073741824.0f, 40},
         {"-1", "1073741825", "2.5", "1e300", "-1e300", "4294967296", "0.5", "\"40\"", "false"}},
        {"min_p", {"0", "1", "0.05", "1.0"}, {0, 1, 0.05f, 1},
         {"-0.01", "1.01", "2", "-1e300", "1e300", "\"0\"", "[]", "true"}},
        {"frequency_penalty", {"-2", "2", "0", "0.5", "-1.5"}, {-2, 2, 0, 0.5f, -1.5f},
         {"-2.01", "2.01", "1e300", "-1e300", "1e999", "\"1\"", "{}"}},
        {"presence_penalty", {"-2", "2", "0", "1.25", "-0.75"}, {-2, 2, 0, 1.25f, -0.75f},
         {"-2.01", "2.01", "1e300", "-1e999", "\"1\"", "[0]"}},
        {"repeat_penalty", {"1", "10", "0.5", "1.1", "1e-3"}, {1, 10, 0.5f, 1.1f, 1e-3f},
         {"0", "-0", "-1", "10.01", "1e-50", "1e300", "\"1.1\"", "true"}},
        {"repeat_last_n", {"0", "64", "1048576"}, {0, 64, 1048576.0f},
         {"-1", "1048577", "64.5", "1e300", "\"64\""}},
    };
    char body[256];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const num_case *c = &cases[i];
        for (size_t k = 0; k < 6 && c->ok[k]; k++) {
            for (srv_kind kind = CMP; kind <= CHT; kind++) {
                if (kind == CMP)
                    snprintf(body, sizeof body, "{\"prompt\":\"x\",\"%s\":%s}", c->name, c->ok[k]);
                else
                    snprintf(body, sizeof body, CHAT(",\"%s\":%s"), c->name, c->ok[k]);
                ACCEPT(kind, body);
                ck_assert_msg(sp_field(&r.sp, c->name) == c->want[k], "%s = %s: got %g, want %g", c->name, c->ok[k],
                              (double)sp_field(&r.sp, c->name), (double)c->want[k]);
            }
        }
        for (size_t k = 0; k < 9 && c->bad[k]; k++) {
            snprintf(body, sizeof body, "{\"prompt\":\"x\",\"%s\":%s}", c->name, c->bad[k]);
            REFUSE(CMP, body, c->name);
            snprintf(body, sizeof body, CHAT(",\"%s\":%s"), c->name, c->bad[k]);
            REFUSE(CHT, body, c->name);
        }
        /* null: the server's default. */
        snprintf(body, sizeof body, "{\"prompt\":\"x\",\"%s\":null}", c->name);
        ACCEPT(CMP, body);
        ck_assert(sp_field(&r.sp, c->name) == sp_field(&lim.defaults, c->name));
    }
    /* Absent: all the server's defaults. */
    ACCEPT(CMP, COMP(""));
    ck_assert(memcmp(&r.sp, &lim.defaults, sizeof r.sp) == 0);
    ck_assert_int_eq(r.seed_given, 0);
    /* Several together, others left at their defaults. */
    ACCEPT(CHT, CHAT(",\"temperature\":0,\"top_p\":0.9,\"top_k\":3"));
    ck_assert(r.sp.temperature == 0.0f);
    ck_assert(r.sp.top_p == 0.9f);
    ck_assert_int_eq(r.sp.top_k, 3);
    ck_assert(r.sp.min_p == lim.defaults.min_p);
    ck_assert(r.sp.repeat_penalty == lim.defaults.repeat_penalty);
    ck_assert_int_eq(r.sp.repeat_last_n, lim.defaults.repeat_last_n);
    /* Bad server defaults are caught by bn_sampler_params_check (a 500). */
    lim.defaults.top_p = 0.0f;
    int st = parse_n(CMP, COMP(""), strlen(COMP("")));
    ck_assert_int_eq(st, 500);
    ck_assert_str_eq(e.type, "server_error");
    ck_assert(is_zero(&r));
    ACCEPT(CMP, COMP(",\"top_p\":0.5")); /* the request overrides it */
}
END_TEST

START_TEST(t_seed) {
    ACCEPT(CMP, COMP(""));
    ck_assert_int_eq(r.seed_given, 0);
    ck_assert_uint_eq(r.sp.seed, 1234);
    ACCEPT(CMP, COMP(",\"seed\":null"));
    ck_assert_int_eq(r.seed_given, 0);
    ck_assert_uint_eq(r.sp.seed, 1234);
    ACCEPT(CMP, COMP(",\"seed\":42"));
    ck_assert_int_eq(r.seed_given, 1);
    ck_assert_uint_eq(r.sp.seed, 42);
    ACCEPT(CHT, CHAT(",\"seed\":0"));
    ck_assert_int_eq(r.seed_given, 1);
    ck_assert_uint_eq(r.sp.seed, 0);
    ACCEPT(CHT, CHAT(",\"seed\":7.0"));
    ck_assert_uint_eq(r.sp.seed, 7);
    /* Negatives: two's complement. */
    ACCEPT(CMP, COMP(",\"seed\":-1"));
    ck_assert_uint_eq(r.sp.seed, UINT64_MAX);
    ACCEPT(CMP, COMP(",\"seed\":-2"));
    ck_assert_uint_eq(r.sp.seed, UINT64_MAX - 1);
    ACCEPT(CMP, COMP(",\"seed\":-9223372036854775808"));
    ck_assert_uint_eq(r.sp.seed, UINT64_C(0x8000000000000000));
    ACCEPT(CMP, COMP(",\"seed\":4611686018427387904")); /* 2^62 */
    ck_assert_uint_eq(r.sp.seed, UINT64_C(4611686018427387904));
    ACCEPT(CMP, COMP(",\"seed\":9007199254740993")); /* 2^53 + 1: a double, so 2^53 */
    ck_assert_uint_eq(r.sp.seed, UINT64_C(9007199254740992));
    /* Outside int64 (9223372036854775807 is 2^63 as a double), fractions, types. */
    const char *bad[] = {COMP(",\"seed\":9223372036854775807"), COMP(",\"seed\":9223372036854775808"),
                         COMP(",\"seed\":18446744073709551615"), COMP(",\"seed\":-9223372036854777856"),
                         COMP(",\"seed\":1e300"),                COMP(",\"seed\":-1e300"),
                         COMP(",\"seed\":1e999"),                COMP(",\"seed\":1.5"),
                         COMP(",\"seed\":-0.5"),                 COMP(",\"seed\":\"42\""),
                         COMP(",\"seed\":true"),                 COMP(",\"seed\":[42]")};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        REFUSE(CMP, bad[i], "seed");
}
END_TEST

/* ---- stop ---------------------------------------------------------------- */

START_TEST(t_stop) {
    ACCEPT(CMP, COMP(""));
    ck_assert_int_eq(r.n_stop, 0);
    ACCEPT(CMP, COMP(",\"stop\":null"));
    ck_assert_int_eq(r.n_stop, 0);
    ACCEPT(CMP, COMP(",\"stop\":[]"));
    ck_assert_int_eq(r.n_stop, 0);
    ACCEPT(CMP, COMP(",\"stop\":\"\\n\""));
    ck_assert_int_eq(r.n_stop, 1);
    ck_assert_str_eq(r.stop[0], "\n");
    ACCEPT(CHT, CHAT(",\"stop\":[\"a\",\"bb\",\"\xc3\xa9\",\"END\"]"));
    ck_assert_int_eq(r.n_stop, 4);
    ck_assert_str_eq(r.stop[0], "a");
    ck_assert_str_eq(r.stop[1], "bb");
    ck_assert_str_eq(r.stop[2], "\xc3\xa9");
    ck_assert_str_eq(r.stop[3], "END");
    REFUSE(CHT, CHAT(",\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"]"), "stop");
    REFUSE(CMP, COMP(",\"stop\":\"\""), "stop");
    REFUSE(CMP, COMP(",\"stop\":[\"a\",\"\"]"), "stop");
    REFUSE(CMP, COMP(",\"stop\":[\"a\",1]"), "stop");
    REFUSE(CMP, COMP(",\"stop\":[null]"), "stop");
    REFUSE(CMP, COMP(",\"stop\":[[\"a\"]]"), "stop");
    REFUSE(CMP, COMP(",\"stop\":42"), "stop");
    REFUSE(CMP, COMP(",\"stop\":{}"), "stop");
    REFUSE(CMP, COMP(",\"stop\":true"), "stop");
    /* 1..256 bytes each (bytes, not characters). */
    char body[1024];
    char s[SRV_MAX_STOP_BYTES + 2];
    memset(s, 'z', SRV_MAX_STOP_BYTES);
    s[SRV_MAX_STOP_BYTES] = '\0';
    snprintf(body, sizeof body, "{\"prompt\":\"x\",\"stop\":[\"%s\"]}", s);
    ACCEPT(CMP, body);
    ck_assert_uint_eq(strlen(r.stop[0]), SRV_MAX_STOP_BYTES);
    strcat(s, "z");
    snprintf(body, sizeof body, "{\"prompt\":\"x\",\"stop\":\"%s\"}", s);
    REFUSE(CMP, body, "stop");
    /* 128 two-byte characters are 256 bytes; one more is 258. */
    size_t n = 0;
    for (int i = 0; i < 128; i++) {
        s[n++] = '\xc3';
        s[n++] = '\xa9';
    }
    s[n] = '\0';
    snprintf(body, sizeof body, "{\"prompt\":\"x\",\"stop\":\"%s\"}", s);
    ACCEPT(CMP, body);
    snprintf(body, sizeof body, "{\"prompt\":\"x\",\"stop\":\"%s\xc3\xa9\"}", s);
    REFUSE(CMP, body, "stop");
    /* Stops are freed when a later field fails. */
    REFUSE(CMP, COMP(",\"stop\":[\"a\",\"b\"],\"user\":5"), "user");
}
END_TEST

/* ---- what we refuse because it is not implemented ----------------------- */

START_TEST(t_unsupported) {
    /* n: only 1. */
    ACCEPT(CMP, COMP(",\"n\":1"));
    ACCEPT(CMP, COMP(",\"n\":null"));
    ACCEPT(CHT, CHAT(",\"n\":1.0"));
    REFUSE_MSG(CMP, COMP(",\"n\":2"), "n", "n > 1 is not supported");
    REFUSE_MSG(CHT, CHAT(",\"n\":128"), "n", "n > 1 is not supported");
    REFUSE_MSG(CMP, COMP(",\"n\":1e300"), "n", "n > 1 is not supported");
    REFUSE(CMP, COMP(",\"n\":1e999"), "n");
    REFUSE(CMP, COMP(",\"n\":0"), "n");
    REFUSE(CMP, COMP(",\"n\":-1"), "n");
    REFUSE(CMP, COMP(",\"n\":1.5"), "n");
    REFUSE(CMP, COMP(",\"n\":\"1\""), "n");
    REFUSE(CMP, COMP(",\"n\":true"), "n");
    /* logprobs: true or an integer > 0 refused; false / 0 / null fine. */
    ACCEPT(CHT, CHAT(",\"logprobs\":false"));
    ACCEPT(CMP, COMP(",\"logprobs\":0"));
    ACCEPT(CMP, COMP(",\"logprobs\":null"));
    REFUSE_MSG(CHT, CHAT(",\"logprobs\":true"), "logprobs", "logprobs is not supported");
    REFUSE_MSG(CMP, COMP(",\"logprobs\":5"), "logprobs", "logprobs is not supported");
    REFUSE(CMP, COMP(",\"logprobs\":1"), "logprobs");
    REFUSE(CMP, COMP(",\"logprobs\":-1"), "logprobs");
    REFUSE(CMP, COMP(",\"logprobs\":0.5"), "logprobs");
    REFUSE(CMP, COMP(",\"logprobs\":\"yes\""), "logprobs");
    REFUSE(CMP, COMP(",\"logprobs\":[]"), "logprobs");
    /* top_logprobs: an integer > 0 refused. */
    ACCEPT(CHT, CHAT(",\"top_logprobs\":0"));
    ACCEPT(CHT, CHAT(",\"top_logprobs\":null"));
    REFUSE_MSG(CHT, CHAT(",\"top_logprobs\":2"), "top_logprobs", "top_logprobs is not supported");
    REFUSE(CHT, CHAT(",\"top_logprobs\":-1"), "top_logprobs");
    REFUSE(CHT, CHAT(",\"top_logprobs\":true"), "top_logprobs");
    /* echo: true refused. */
    ACCEPT(CMP, COMP(",\"echo\":false"));
    ACCEPT(CMP, COMP(",\"echo\":null"));
    REFUSE_MSG(CMP, COMP(",\"echo\":true"), "echo", "echo is not supported");
    REFUSE(CMP, COMP(",\"echo\":1"), "echo");
    /* best_of: > 1 refused. */
    ACCEPT(CMP, COMP(",\"best_of\":1"));
    ACCEPT(CMP, COMP(",\"best_of\":null"));
    REFUSE_MSG(CMP, COMP(",\"best_of\":2"), "best_of", "best_of is not supported");
    REFUSE(CMP, COMP(",\"best_of\":0"), "best_of");
    REFUSE(CMP, COMP(",\"best_of\":1.5"), "best_of");
    REFUSE(CMP, COMP(",\"best_of\":\"2\""), "best_of");
    /* suffix: anything but null refused. */
    ACCEPT(CMP, COMP(",\"suffix\":null"));
    REFUSE_MSG(CMP, COMP(",\"suffix\":\"end\""), "suffix", "suffix is not supported");
    REFUSE(CMP, COMP(",\"suffix\":\"\""), "suffix");
    REFUSE(CMP, COMP(",\"suffix\":3"), "suffix");
    /* tools / functions: non-empty refused. */
    ACCEPT(CHT, CHAT(",\"tools\":[]"));
    ACCEPT(CHT, CHAT(",\"tools\":null,\"functions\":[]"));
    REFUSE_MSG(CHT, CHAT(",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}]"), "tools",
               "tools is not supported");
    REFUSE_MSG(CHT, CHAT(",\"functions\":[{\"name\":\"f\"}]"), "functions", "functions is not supported");
    REFUSE(CHT, CHAT(",\"tools\":{}"), "tools");
    REFUSE(CHT, CHAT(",\"functions\":\"f\""), "functions");
    /* logit_bias: a non-empty object refused. */
    ACCEPT(CMP, COMP(",\"logit_bias\":{}"));
    ACCEPT(CMP, COMP(",\"logit_bias\":null"));
    REFUSE_MSG(CMP, COMP(",\"logit_bias\":{\"50256\":-100}"), "logit_bias", "logit_bias is not supported");
    REFUSE(CMP, COMP(",\"logit_bias\":[]"), "logit_bias");
    REFUSE(CMP, COMP(",\"logit_bias\":[1]"), "logit_bias");
    /* response_format: only {"type": "text"}. */
    ACCEPT(CHT, CHAT(",\"response_format\":{\"type\":\"text\"}"));
    ACCEPT(CHT, CHAT(",\"response_format\":null"));
    REFUSE_MSG(CHT, CHAT(",\"response_format\":{\"type\":\"json_object\"}"), "response_format", "not supported");
    REFUSE(CHT, CHAT(",\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{}}"), "response_format");
    REFUSE(CHT, CHAT(",\"response_format\":{}"), "response_format");
    REFUSE(CHT, CHAT(",\"response_format\":{\"type\":1}"), "response_format");
    REFUSE(CHT, CHAT(",\"response_format\":\"text\""), "response_format");
    /* Unknown fields are ignored. */
    ACCEPT(CHT, CHAT(",\"foo\":[1,2],\"parallel_tool_calls\":false,\"metadata\":{\"a\":\"b\"},\"store\":true"));
    ck_assert_uint_eq(r.n_msgs, 1);
}
END_TEST

/* ---- srv_request_free ---------------------------------------------------- */

START_TEST(t_free_request) {
    srv_request q;
    memset(&q, 0, sizeof q);
    srv_request_free(&q); /* zeroed */
    srv_request_free(&q);
    ck_assert(is_zero(&q));
    srv_request_free(NULL);
    /* A full request, freed twice. */
    const char *full = "{\"model\":\"m\",\"user\":\"u\",\"messages\":[{\"role\":\"system\",\"content\":\"s\"},"
                       "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"}]}],"
                       "\"stop\":[\"x\",\"y\"],\"stream\":true,\"seed\":3}";
    ck_assert_int_eq(srv_request_parse(CHT, full, strlen(full), &lim, &q, &e), 0);
    ck_assert_uint_eq(q.n_msgs, 2);
    srv_request_free(&q);
    ck_assert(is_zero(&q));
    srv_request_free(&q);
    const char *ids = "{\"prompt\":[1,2,3],\"model\":\"m\",\"stop\":\"x\"}";
    ck_assert_int_eq(srv_request_parse(CMP, ids, strlen(ids), &lim, &q, &e), 0);
    srv_request_free(&q);
    ck_assert(is_zero(&q));
    /* Failures at every stage leave it empty (and free what was copied:
     * the leak checker of the sanitizer build sees the rest). */
    const char *late[] = {
        "{\"model\":\"m\",\"user\":\"u\",\"messages\":[{\"role\":\"user\",\"content\":\"a\"}],\"n\":2}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"tool\"}]}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"a\"}],\"stop\":[\"a\",\"b\"],"
        "\"response_format\":{\"type\":\"json_object\"}}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"a\"}],\"user\":7}",
    };
    for (size_t i = 0; i < sizeof late / sizeof *late; i++) {
        memset(&e, 0, sizeof e);
        ck_assert_int_eq(srv_request_parse(CHT, late[i], strlen(late[i]), &lim, &q, &e), 400);
        ck_assert_msg(is_zero(&q), "case %zu", i);
        srv_request_free(&q);
        ck_assert(is_zero(&q));
    }
    const char *late_ids = "{\"model\":\"m\",\"prompt\":[1,2],\"temperature\":9}";
    ck_assert_int_eq(srv_request_parse(CMP, late_ids, strlen(late_ids), &lim, &q, &e), 400);
    ck_assert_str_eq(e.param, "temperature");
    ck_assert(is_zero(&q));
    /* Bad arguments: a 500, not a crash. */
    ck_assert_int_eq(srv_request_parse(CMP, "{}", 2, NULL, &q, &e), 500);
    ck_assert(is_zero(&q));
    ck_assert_int_eq(srv_request_parse((srv_kind)7, "{}", 2, &lim, &q, &e), 500);
    ck_assert_int_eq(srv_request_parse(CMP, NULL, 5, &lim, &q, &e), 500);
    ck_assert_int_eq(srv_request_parse(CMP, "{}", 2, &lim, NULL, &e), 500);
    ck_assert_int_eq(srv_request_parse(CMP, "{}", 2, &lim, &q, NULL), 400);
}
END_TEST

static Suite *request_suite(void) {
    Suite *s = suite_create("request");
    struct {
        const char *name;
        const TTest *fn;
    } cases[] = {
        {"utf8", t_utf8},
        {"body", t_body},
        {"error_json", t_error_json},
        {"model_user", t_model_user},
        {"prompt", t_prompt},
        {"prompt_ids", t_prompt_ids},
        {"chat", t_chat},
        {"chat_content", t_chat_content},
        {"stream", t_stream},
        {"max_tokens", t_max_tokens},
        {"sampling", t_sampling},
        {"seed", t_seed},
        {"stop", t_stop},
        {"unsupported", t_unsupported},
        {"free", t_free_request},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        TCase *tc = tcase_create(cases[i].name);
        tcase_set_timeout(tc, 60);
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, cases[i].fn);
        suite_add_tcase(s, tc);
    }
    return s;
}

/* argv[1]: run only this test case (one ctest entry per case). */
int main(int argc, char **argv) {
    SRunner *sr = srunner_create(request_suite());
    srunner_run(sr, NULL, argc > 1 ? argv[1] : NULL, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    int run = srunner_ntests_run(sr);
    srunner_free(sr);
    return failed == 0 && run > 0 ? 0 : 1;
}
