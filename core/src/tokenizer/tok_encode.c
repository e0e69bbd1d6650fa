/* Encoding: sanitize the UTF-8, cut out special tokens, then byte-level BPE
 * word by word or SentencePiece merging fragment by fragment. */
#include <stdlib.h>
#include <string.h>

#include "tok_internal.h"

struct bn_tokenizer {
    const bn_vocab *v;
    bn_pretok_state *pre;
    bn_merge_scratch scratch;
    bn_text clean; /* sanitized copy of ill-formed input */
    bn_text frag;  /* SPM fragment with "▁" for spaces */
    bn_tokens *out;
};

void bn_tokens_free(bn_tokens *t) {
    free(t->ids);
    memset(t, 0, sizeof *t);
}

bn_status bn_text_append(bn_text *t, const char *s, size_t n) {
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 64;
        while (cap < t->len + n + 1)
            cap *= 2;
        char *d = realloc(t->data, cap);
        if (!d)
            return bn_fail(BN_ERR_NOMEM, "out of memory for %zu bytes of text", cap);
        t->data = d;
        t->cap = cap;
    }
    if (n)
        memcpy(t->data + t->len, s, n);
    t->len += n;
    t->data[t->len] = 0;
    return BN_OK;
}

void bn_text_free(bn_text *t) {
    free(t->data);
    memset(t, 0, sizeof *t);
}

bn_status bn_tokenizer_create(const bn_vocab *v, bn_tokenizer **out) {
    *out = NULL;
    bn_tokenizer *t = calloc(1, sizeof *t);
    if (!t)
        return bn_fail(BN_ERR_NOMEM, "tokenizer: out of memory");
    t->v = v;
    if (v->kind == BN_VOCAB_BPE) {
        bn_status st = bn_pretok_state_create(v, &t->pre);
        if (st != BN_OK) {
            free(t);
            return st;
        }
    }
    *out = t;
    return BN_OK;
}

void bn_tokenizer_free(bn_tokenizer *t) {
    if (!t)
        return;
    bn_pretok_state_free(t->pre);
    bn_merge_scratch_free(&t->scratch);
    bn_text_free(&t->clean);
    bn_text_free(&t->frag);
    free(t);
}

static bn_status bpe_word(void *arg, const char *word, size_t len) {
    bn_tokenizer *t = arg;
    return bn_bpe_word(t->v, &t->scratch, word, len, t->out);
}

static bn_status encode_raw(bn_tokenizer *t, const char *text, size_t len) {
    const bn_vocab *v = t->v;
    if (len == 0)
        return BN_OK;
    if (v->kind == BN_VOCAB_BPE)
        return bn_pretok_split(t->pre, text, len, bpe_word, t);
    /* SentencePiece: "▁" for every space, one more in front. */
    static const char mark[3] = {(char)0xE2, (char)0x96, (char)0x81};
    t->frag.len = 0;
    bn_status st = v->add_space_prefix ? bn_text_append(&t->frag, mark, 3) : BN_OK;
    size_t run = 0;
    for (size_t i = 0; i < len && st == BN_OK; i++) {
        if (text[i] != ' ')
            continue;
        st = bn_text_append(&t->frag, text + run, i - run);
        if (st == BN_OK)
            st = bn_text_append(&t->frag, mark, 3);
        run = i + 1;
    }
    if (st == BN_OK)
        st = bn_text_append(&t->frag, text + run, len - run);
    if (st != BN_OK)
        return st;
    return bn_spm_fragment(v, &t->scratch, t->frag.data, t->frag.len, t->out);
}

static bn_status encode_text(bn_tokenizer *t, const char *text, size_t len, int parse_special) {
    const bn_special_set *set = &t->v->specials[parse_special ? 1 : 0];
    size_t run = 0;
    if (set->count) {
        for (size_t i = 0; i < len; i++) {
            int32_t id = bn_special_match(set, text + i, len - i);
            if (id < 0)
                continue;
            bn_status st = encode_raw(t, text + run, i - run);
            if (st == BN_OK)
                st = bn_tokens_push(t->out, id);
            if (st != BN_OK)
                return st;
            i += t->v->piece_len[id] - 1;
            run = i + 1;
        }
    }
    return encode_raw(t, text + run, len - run);
}

bn_status bn_tokenizer_encode(bn_tokenizer *t, const char *text, size_t len, unsigned flags,
                              bn_tokens *out) {
    const bn_vocab *v = t->v;
    if (!text && len)
        return bn_fail(BN_ERR_INVALID, "tokenizer: NULL text");
    t->out = out;
    if (!bn_utf8_valid(text, len)) {
        t->clean.len = 0;
        bn_status st = bn_utf8_sanitize(text, len, &t->clean);
        if (st != BN_OK)
            return st;
        text = t->clean.data;
        len = t->clean.len;
    }
    bn_status st = BN_OK;
    if ((flags & BN_TOK_ADD_SPECIAL) && bn_vocab_add_bos(v))
        st = bn_tokens_push(out, v->bos);
    if (st == BN_OK)
        st = encode_text(t, text, len, (flags & BN_TOK_PARSE_SPECIAL) != 0);
    if (st == BN_OK && (flags & BN_TOK_ADD_SPECIAL) && bn_vocab_add_eos(v))
        st = bn_tokens_push(out, v->eos);
    /* A pathological word (a megabyte without a split) grows the scratch
     * to tens of MB; do not keep that for the life of the tokenizer. */
    if (t->scratch.sym_cap > (1u << 16))
        bn_merge_scratch_free(&t->scratch);
    if (t->clean.cap > (1u << 20))
        bn_text_free(&t->clean);
    return st;
}

bn_status bn_tokenize(const bn_vocab *v, const char *text, size_t len, unsigned flags,
                      bn_tokens *out) {
    bn_tokenizer *t;
    bn_status st = bn_tokenizer_create(v, &t);
    if (st != BN_OK)
        return st;
    st = bn_tokenizer_encode(t, text, len, flags, out);
    bn_tokenizer_free(t);
    return st;
}
