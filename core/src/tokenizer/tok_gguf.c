/* The vocabulary from GGUF metadata (tokenizer.ggml.* keys). Token and
 * merge strings are used in place in the mapping; the vocab copies them. */
#include <stdlib.h>
#include <string.h>

#include "tok_internal.h"

/* Optional integer id: -1 if absent. */
static bn_status opt_id(const bn_gguf *g, const char *key, int32_t *out) {
    const bn_gguf_value *val = bn_gguf_find(g, key);
    *out = -1;
    return val ? bn_gguf_value_i32(val, out) : BN_OK;
}

/* Optional bool: -1 if absent. */
static bn_status opt_bool(const bn_gguf *g, const char *key, int *out) {
    const bn_gguf_value *val = bn_gguf_find(g, key);
    *out = -1;
    return val ? bn_gguf_value_bool(val, out) : BN_OK;
}

static bn_status str_array(const bn_gguf *g, const char *key, bn_gguf_str **out, uint64_t *n) {
    const bn_gguf_value *arr;
    bn_status st = bn_gguf_get_array(g, key, BN_GGUF_STR, &arr, n);
    if (st != BN_OK)
        return st;
    *out = malloc((*n ? *n : 1) * sizeof **out);
    if (!*out)
        return bn_fail(BN_ERR_NOMEM, "tokenizer: out of memory for '%s'", key);
    for (uint64_t i = 0; i < *n; i++) {
        st = bn_gguf_array_str(arr, i, &(*out)[i]);
        if (st != BN_OK)
            return st;
    }
    return BN_OK;
}

typedef struct loaded {
    bn_vocab_spec spec;
    bn_gguf_str *tokens, *merges;
    float *scores;
    int32_t *types;
} loaded;

static bn_status read_arrays(const bn_gguf *g, loaded *L) {
    uint64_t n, m = 0;
    bn_status st = str_array(g, "tokenizer.ggml.tokens", &L->tokens, &n);
    if (st != BN_OK)
        return st;
    if (n == 0 || n > INT32_MAX / 2)
        return bn_fail(BN_ERR_FORMAT, "tokenizer: tokenizer.ggml.tokens has %llu entries",
                       (unsigned long long)n);
    L->spec.n_tokens = (uint32_t)n;
    L->spec.tokens = L->tokens;
    const bn_gguf_value *arr;
    if (bn_gguf_find(g, "tokenizer.ggml.scores")) {
        uint64_t k;
        st = bn_gguf_get_array(g, "tokenizer.ggml.scores", -1, &arr, &k);
        if (st == BN_OK && k != n)
            st = bn_fail(BN_ERR_FORMAT, "tokenizer: %llu scores for %llu tokens",
                         (unsigned long long)k, (unsigned long long)n);
        if (st == BN_OK && !(L->scores = malloc(n * sizeof *L->scores)))
            st = bn_fail(BN_ERR_NOMEM, "tokenizer: out of memory");
        if (st == BN_OK)
            st = bn_gguf_array_copy_f32(arr, L->scores, n);
        if (st != BN_OK)
            return st;
        L->spec.scores = L->scores;
    }
    if (bn_gguf_find(g, "tokenizer.ggml.token_type")) {
        uint64_t k;
        st = bn_gguf_get_array(g, "tokenizer.ggml.token_type", -1, &arr, &k);
        if (st == BN_OK && k != n)
            st = bn_fail(BN_ERR_FORMAT, "tokenizer: %llu token types for %llu tokens",
                         (unsigned long long)k, (unsigned long long)n);
        if (st == BN_OK && !(L->types = malloc(n * sizeof *L->types)))
            st = bn_fail(BN_ERR_NOMEM, "tokenizer: out of memory");
        if (st == BN_OK)
            st = bn_gguf_array_copy_i32(arr, L->types, n);
        if (st != BN_OK)
            return st;
        L->spec.token_types = L->types;
    }
    if (bn_gguf_find(g, "tokenizer.ggml.merges")) {
        st = str_array(g, "tokenizer.ggml.merges", &L->merges, &m);
        if (st != BN_OK)
            return st;
        if (m > INT32_MAX)
            return bn_fail(BN_ERR_FORMAT, "tokenizer: too many merges");
        L->spec.n_merges = (uint32_t)m;
        L->spec.merges = L->merges;
    }
    return BN_OK;
}

static bn_status read_scalars(const bn_gguf *g, bn_vocab_spec *s) {
    bn_status st = bn_gguf_get_str(g, "tokenizer.ggml.model", &s->model, NULL);
    if (st != BN_OK)
        return st;
    if (bn_gguf_find(g, "tokenizer.ggml.pre") &&
        (st = bn_gguf_get_str(g, "tokenizer.ggml.pre", &s->pre, NULL)) != BN_OK)
        return st;
    if (bn_gguf_find(g, "tokenizer.chat_template") &&
        (st = bn_gguf_get_str(g, "tokenizer.chat_template", &s->chat_template, NULL)) != BN_OK)
        return st;
    if ((st = opt_id(g, "tokenizer.ggml.bos_token_id", &s->bos_id)) != BN_OK ||
        (st = opt_id(g, "tokenizer.ggml.eos_token_id", &s->eos_id)) != BN_OK ||
        (st = opt_id(g, "tokenizer.ggml.eot_token_id", &s->eot_id)) != BN_OK ||
        (st = opt_id(g, "tokenizer.ggml.unknown_token_id", &s->unk_id)) != BN_OK ||
        (st = opt_id(g, "tokenizer.ggml.padding_token_id", &s->pad_id)) != BN_OK ||
        (st = opt_bool(g, "tokenizer.ggml.add_bos_token", &s->add_bos)) != BN_OK ||
        (st = opt_bool(g, "tokenizer.ggml.add_eos_token", &s->add_eos)) != BN_OK ||
        (st = opt_bool(g, "tokenizer.ggml.add_space_prefix", &s->add_space_prefix)) != BN_OK)
        return st;
    return BN_OK;
}

bn_status bn_vocab_load_gguf(const bn_gguf *g, bn_vocab **out) {
    *out = NULL;
    loaded L;
    memset(&L, 0, sizeof L);
    bn_vocab_spec_init(&L.spec);
    bn_status st = read_scalars(g, &L.spec);
    if (st == BN_OK)
        st = read_arrays(g, &L);
    if (st == BN_OK)
        st = bn_vocab_create(&L.spec, out);
    free(L.tokens);
    free(L.merges);
    free(L.scores);
    free(L.types);
    return st;
}
