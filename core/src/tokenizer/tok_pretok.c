/* Pre-tokenizer: split text into words with the model's regex (PCRE2, UTF +
 * UCP, JIT-compiled). Text between matches, if any, is a word too (the
 * "isolated" split of Hugging Face tokenizers).
 *
 * The patterns are the published GPT-2 and Llama 3 ones with one change:
 * Hugging Face runs them with Oniguruma, whose \s also matches U+0085
 * (NEL) while PCRE2's does not, so \s / \S are spelled out as classes
 * that include it - otherwise the two disagree on text containing NEL. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "tok_internal.h"

#define SP "\\t-\\r\\x{85}\\p{Z}" /* Oniguruma's \s, inside a class */

static const char *const pattern_gpt2 =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^" SP "\\p{L}\\p{N}]+|[" SP "]+(?![^" SP
    "])|[" SP "]+";

static const char *const pattern_llama3 =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^" SP
    "\\p{L}\\p{N}]+[\\r\\n]*|[" SP "]*[\\r\\n]+|[" SP "]+(?![^" SP "])|[" SP "]+";

struct bn_pretok_state {
    const pcre2_code *re;
    pcre2_match_data *md;
    int jit;
};

bn_status bn_pretok_compile(bn_vocab *v) {
    const char *pat = v->pre_kind == BN_PRE_LLAMA3 ? pattern_llama3 : pattern_gpt2;
    int err;
    PCRE2_SIZE off;
    /* NO_UTF_CHECK at match time: the encoder hands over well-formed text. */
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP,
                                   &err, &off, NULL);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof msg);
        return bn_fail(BN_ERR_INTERNAL, "tokenizer: pre-tokenizer regex: %s at %zu", (char *)msg,
                       (size_t)off);
    }
    if (pcre2_jit_compile(re, PCRE2_JIT_COMPLETE) != 0)
        bn_log(BN_LOG_DEBUG, "tokenizer: PCRE2 JIT unavailable, interpreting the regex");
    v->regex = re;
    return BN_OK;
}

void bn_pretok_free(bn_vocab *v) {
    pcre2_code_free((pcre2_code *)v->regex);
    v->regex = NULL;
}

bn_status bn_pretok_state_create(const bn_vocab *v, bn_pretok_state **out) {
    bn_pretok_state *s = calloc(1, sizeof *s);
    if (!s)
        return bn_fail(BN_ERR_NOMEM, "tokenizer: out of memory");
    s->re = v->regex;
    s->md = pcre2_match_data_create(1, NULL);
    if (!s->md) {
        free(s);
        return bn_fail(BN_ERR_NOMEM, "tokenizer: out of memory");
    }
    size_t jit_size = 0;
    s->jit = pcre2_pattern_info(s->re, PCRE2_INFO_JITSIZE, &jit_size) == 0 && jit_size > 0;
    *out = s;
    return BN_OK;
}

void bn_pretok_state_free(bn_pretok_state *s) {
    if (!s)
        return;
    pcre2_match_data_free(s->md);
    free(s);
}

bn_status bn_pretok_split(bn_pretok_state *s, const char *text, size_t n, bn_word_fn fn, void *arg) {
    PCRE2_SPTR subject = (PCRE2_SPTR)text;
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(s->md);
    size_t pos = 0;
    while (pos < n) {
        int rc = s->jit ? pcre2_jit_match(s->re, subject, n, pos, 0, s->md, NULL)
                        : pcre2_match(s->re, subject, n, pos, PCRE2_NO_UTF_CHECK, s->md, NULL);
        if (rc == PCRE2_ERROR_NOMATCH)
            break;
        if (rc < 0)
            return bn_fail(BN_ERR_INTERNAL, "tokenizer: regex match failed (%d)", rc);
        size_t a = ov[0], b = ov[1];
        if (a > pos) {
            bn_status st = fn(arg, text + pos, a - pos);
            if (st != BN_OK)
                return st;
        }
        if (b == a) { /* the patterns cannot match empty; guard anyway */
            size_t ill, k = bn_utf8_next((const unsigned char *)text + a, n - a, &ill);
            b = a + (k ? k : ill);
        }
        bn_status st = fn(arg, text + a, b - a);
        if (st != BN_OK)
            return st;
        pos = b;
    }
    if (pos < n)
        return fn(arg, text + pos, n - pos);
    return BN_OK;
}
