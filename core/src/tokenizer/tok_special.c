/* Finding special tokens in text (leftmost-longest, like Hugging Face's
 * added-token matching). Chat prompts are full of them, and code is full
 * of '<', so a position costs a bit test unless its first two bytes begin
 * some special token, and a candidate costs one hash lookup per distinct
 * token length. */
#include <stdlib.h>
#include <string.h>

#include "tok_internal.h"

static int bit(const uint8_t *set, unsigned k) { return set[k >> 3] >> (k & 7) & 1; }
static void set_bit(uint8_t *set, unsigned k) { set[k >> 3] |= (uint8_t)(1u << (k & 7)); }

static int cmp_desc(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x > y ? -1 : x < y;
}

static bn_status build_set(bn_vocab *v, bn_special_set *s, int with_control) {
    for (int32_t i = 0; i < v->n; i++) {
        int t = v->types[i];
        int in = t == BN_TOKEN_USER_DEFINED ||
                 (with_control && (t == BN_TOKEN_CONTROL || t == BN_TOKEN_UNKNOWN));
        s->count += in && v->piece_len[i] > 0;
    }
    if (!s->count)
        return BN_OK;
    bn_status st = bn_strmap_init(&s->map, v->arena, s->count);
    if (st != BN_OK)
        return st;
    s->lens = malloc(s->count * sizeof *s->lens);
    if (!s->lens)
        return bn_fail(BN_ERR_NOMEM, "tokenizer: out of memory");
    for (int32_t i = 0; i < v->n; i++) {
        int t = v->types[i];
        uint32_t len = v->piece_len[i];
        if (!len || !(t == BN_TOKEN_USER_DEFINED ||
                      (with_control && (t == BN_TOKEN_CONTROL || t == BN_TOKEN_UNKNOWN))))
            continue;
        const unsigned char *p = (const unsigned char *)v->arena + v->piece_off[i];
        bn_strmap_put_h(&s->map, v->piece_off[i], len, i, bn_hash_bytes((const char *)p, len));
        set_bit(s->first, p[0]);
        if (len == 1)
            for (unsigned b = 0; b < 256; b++)
                set_bit(s->pair, p[0] | b << 8);
        else
            set_bit(s->pair, p[0] | (unsigned)p[1] << 8);
        size_t k = 0;
        while (k < s->n_lens && s->lens[k] != len)
            k++;
        if (k == s->n_lens)
            s->lens[s->n_lens++] = len;
    }
    qsort(s->lens, s->n_lens, sizeof *s->lens, cmp_desc);
    return BN_OK;
}

bn_status bn_special_build(bn_vocab *v) {
    bn_status st = build_set(v, &v->specials[0], 0);
    return st == BN_OK ? build_set(v, &v->specials[1], 1) : st;
}

void bn_special_free(bn_vocab *v) {
    for (int k = 0; k < 2; k++) {
        bn_strmap_free(&v->specials[k].map);
        free(v->specials[k].lens);
    }
}

int32_t bn_special_match(const bn_special_set *s, const char *text, size_t n) {
    const unsigned char *p = (const unsigned char *)text;
    if (!bit(s->first, p[0]))
        return -1;
    if (n >= 2 && !bit(s->pair, p[0] | (unsigned)p[1] << 8))
        return -1;
    for (size_t k = 0; k < s->n_lens; k++) {
        if (s->lens[k] > n)
            continue;
        int32_t id = bn_strmap_get(&s->map, text, s->lens[k]);
        if (id >= 0)
            return id;
    }
    return -1;
}
