/* Exercise a vocabulary built from fuzzed input: accessors, encoding of
 * fixed text and of (a bounded slice of) the input itself, streaming and
 * whole decoding, chat rendering. Every id the encoder returns must be in
 * range; ASan/UBSan catch the rest. */
#ifndef BITNET_FUZZ_VOCAB_UTIL_H
#define BITNET_FUZZ_VOCAB_UTIL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bitnet/tokenizer.h"

static volatile uint64_t fz_sink;

static inline void fz_check_ids(const bn_vocab *v, const bn_tokens *t) {
    int32_t n = bn_vocab_n_tokens(v);
    for (size_t i = 0; i < t->n; i++)
        if (t->ids[i] < 0 || t->ids[i] >= n)
            __builtin_trap();
}

static inline void fz_encode_decode(const bn_vocab *v, const char *text, size_t len, unsigned flags) {
    bn_tokens toks = {0};
    if (bn_tokenize(v, text, len, flags, &toks) == BN_OK) {
        fz_check_ids(v, &toks);
        bn_text out = {0};
        bn_detokenize(v, toks.ids, toks.n, BN_DETOK_SPECIAL, &out);
        bn_text_free(&out);
        bn_detokenize(v, toks.ids, toks.n, BN_DETOK_STRIP_PREFIX, &out);
        bn_text_free(&out);
    }
    bn_tokens_free(&toks);
}

static inline void fz_exercise_vocab(const bn_vocab *v, const uint8_t *extra, size_t extra_len) {
    int32_t n = bn_vocab_n_tokens(v);
    if (n < 1)
        __builtin_trap();
    fz_sink += (uint64_t)bn_vocab_get_kind(v) + (uint64_t)strlen(bn_vocab_model_name(v)) +
               (uint64_t)strlen(bn_vocab_pre_name(v));
    int32_t ids[] = {bn_vocab_bos(v), bn_vocab_eos(v), bn_vocab_eot(v), bn_vocab_unk(v), bn_vocab_pad(v)};
    for (size_t i = 0; i < sizeof ids / sizeof *ids; i++)
        if (ids[i] < -1 || ids[i] >= n)
            __builtin_trap();
    /* every token (bounded), both ways */
    int32_t lim = n < 2048 ? n : 2048;
    for (int32_t i = -1; i <= lim; i++) {
        const char *t = bn_vocab_token_text(v, i);
        if (t) {
            size_t tl = strlen(t);
            fz_sink += tl;
            /* (not asserted found: a text may hold a NUL byte) */
            fz_sink += (uint64_t)bn_vocab_find(v, t, tl);
        }
        size_t pl;
        const char *p = bn_token_piece(v, i, BN_DETOK_SPECIAL, &pl);
        if (p && pl)
            fz_sink += (uint8_t)p[0] + (uint8_t)p[pl - 1];
        float sc = bn_vocab_token_score(v, i);
        uint32_t bits;
        memcpy(&bits, &sc, 4);
        fz_sink += (uint64_t)bn_vocab_token_type(v, i) + bits;
        fz_sink += (uint64_t)bn_vocab_is_eog(v, i);
    }
    /* streaming decode of a run of ids, including out-of-range ones */
    bn_detok d;
    bn_text out = {0};
    bn_detok_init(&d, v, BN_DETOK_STRIP_PREFIX);
    for (int32_t i = -1; i <= lim && i < 600; i++)
        bn_detok_push(&d, i, &out);
    bn_detok_flush(&d, &out);
    bn_text_free(&out);

    static const char *const texts[] = {
        "Hello world! It's 2024; caf\xc3\xa9 na\xc3\xafve \xe4\xbd\xa0\xe5\xa5\xbd  \t\n\n  x",
        "<s>[INST] hi [/INST]</s><|begin_of_text|><|eot_id|><unk> \xe2\x96\x81\xe2\x96\x81 ab",
        "\xff\xfe\xc3\x28 \xe2\x82 \xf0\x9f\x98\x80 12345678 'll 've 're  \r\n",
        "",
    };
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++)
        fz_encode_decode(v, texts[i], strlen(texts[i]), BN_TOK_ADD_SPECIAL | BN_TOK_PARSE_SPECIAL);
    if (extra_len > 256)
        extra_len = 256;
    fz_encode_decode(v, (const char *)extra, extra_len, BN_TOK_ADD_SPECIAL | BN_TOK_PARSE_SPECIAL);
    fz_encode_decode(v, (const char *)extra, extra_len, 0);

    bn_chat_style style = bn_chat_detect(bn_vocab_chat_template(v));
    bn_chat_msg msgs[] = {{"system", " be brief "}, {"user", "hi <|eot_id|>"}};
    bn_text chat = {0};
    if (bn_chat_render(style, msgs, 2, 1, &chat) == BN_OK && chat.data)
        fz_encode_decode(v, chat.data, chat.len, BN_TOK_ADD_SPECIAL | BN_TOK_PARSE_SPECIAL);
    bn_text_free(&chat);
}

#endif
