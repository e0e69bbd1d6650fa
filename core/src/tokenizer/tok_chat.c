/* Chat templates: recognise the few template families the supported models
 * ship (tokenizer.chat_template is Jinja; we do not run Jinja) and render
 * messages the way those templates do. */
#include <ctype.h>
#include <string.h>

#include "tok_internal.h"

bn_chat_style bn_chat_detect(const char *tmpl) {
    if (!tmpl || !tmpl[0])
        return BN_CHAT_PLAIN;
    if (strstr(tmpl, "<|start_header_id|>") && strstr(tmpl, "<|end_header_id|>") &&
        strstr(tmpl, "<|eot_id|>"))
        return BN_CHAT_LLAMA3;
    /* BitNet-b1.58-2B-4T: role | capitalize + ': ' + content + '<|eot_id|>',
     * generation prompt 'Assistant: '. */
    if (strstr(tmpl, "<|eot_id|>") && strstr(tmpl, "Assistant: ") && strstr(tmpl, "capitalize"))
        return BN_CHAT_BITNET;
    bn_log(BN_LOG_WARN, "chat template not recognised; using a plain \"Role: content\" format");
    return BN_CHAT_PLAIN;
}

const char *bn_chat_style_name(bn_chat_style s) {
    switch (s) {
    case BN_CHAT_LLAMA3: return "llama3";
    case BN_CHAT_BITNET: return "bitnet";
    case BN_CHAT_PLAIN: return "plain";
    }
    return "?";
}

/* Jinja's trim: strip surrounding whitespace. */
static bn_status append_trimmed(bn_text *out, const char *s) {
    size_t a = 0, b = s ? strlen(s) : 0;
    while (a < b && isspace((unsigned char)s[a]))
        a++;
    while (b > a && isspace((unsigned char)s[b - 1]))
        b--;
    return bn_text_append(out, s ? s + a : "", b - a);
}

/* Jinja's capitalize: first character upper case, the rest lower case. */
static bn_status append_capitalized(bn_text *out, const char *s) {
    for (size_t i = 0; s[i]; i++) {
        char c = (char)(i == 0 ? toupper((unsigned char)s[i]) : tolower((unsigned char)s[i]));
        bn_status st = bn_text_append(out, &c, 1);
        if (st != BN_OK)
            return st;
    }
    return BN_OK;
}

#define TRY(x)                                                                                      \
    do {                                                                                            \
        bn_status st_ = (x);                                                                        \
        if (st_ != BN_OK)                                                                           \
            return st_;                                                                             \
    } while (0)

static bn_status render_one(bn_chat_style style, const bn_chat_msg *m, bn_text *out) {
    const char *role = m->role ? m->role : "user";
    switch (style) {
    case BN_CHAT_LLAMA3:
        TRY(bn_text_append(out, "<|start_header_id|>", 19));
        TRY(bn_text_append(out, role, strlen(role)));
        TRY(bn_text_append(out, "<|end_header_id|>\n\n", 19));
        TRY(append_trimmed(out, m->content));
        return bn_text_append(out, "<|eot_id|>", 10);
    case BN_CHAT_BITNET:
        TRY(append_capitalized(out, role));
        TRY(bn_text_append(out, ": ", 2));
        TRY(append_trimmed(out, m->content));
        return bn_text_append(out, "<|eot_id|>", 10);
    case BN_CHAT_PLAIN:
        TRY(append_capitalized(out, role));
        TRY(bn_text_append(out, ": ", 2));
        TRY(append_trimmed(out, m->content));
        return bn_text_append(out, "\n", 1);
    }
    return bn_fail(BN_ERR_INVALID, "chat: unknown style %d", (int)style);
}

bn_status bn_chat_render(bn_chat_style style, const bn_chat_msg *msgs, size_t n,
                         int add_generation_prompt, bn_text *out) {
    TRY(bn_text_append(out, "", 0));
    for (size_t i = 0; i < n; i++)
        TRY(render_one(style, &msgs[i], out));
    if (!add_generation_prompt)
        return BN_OK;
    switch (style) {
    case BN_CHAT_LLAMA3:
        return bn_text_append(out, "<|start_header_id|>assistant<|end_header_id|>\n\n", 47);
    case BN_CHAT_BITNET:
        return bn_text_append(out, "Assistant: ", 11);
    case BN_CHAT_PLAIN:
        return bn_text_append(out, "Assistant:", 10);
    }
    return BN_OK;
}
