/* SentencePiece-style merging of one text fragment (spaces already "▁").
 *
 * The fragment starts as its UTF-8 characters; repeatedly the adjacent
 * pair whose concatenation is a token with the highest score merges
 * (leftmost on ties), as SentencePiece's BPE mode does. A final symbol that
 * is not a token falls back to its bytes as <0xXX> tokens, or to the
 * unknown token when the vocab has no byte tokens. */
#include <stdlib.h>
#include <string.h>

#include "tok_internal.h"

typedef struct sym {
    uint32_t off, len;
    int32_t prev, next;
} sym;

typedef struct cand {
    float score;
    int32_t pos;
    uint32_t left_len, right_len;
    int32_t merged;
} cand;

/* Higher score first, then leftmost. */
static int cand_before(const cand *a, const cand *b) {
    return a->score > b->score || (a->score == b->score && a->pos < b->pos);
}

static void heap_push(cand *h, size_t *n, cand c) {
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!cand_before(&c, &h[p]))
            break;
        h[i] = h[p];
        i = p;
    }
    h[i] = c;
}

static cand heap_pop(cand *h, size_t *n) {
    cand top = h[0], last = h[--*n];
    size_t i = 0, m = *n;
    for (;;) {
        size_t l = 2 * i + 1, best = i;
        const cand *bc = &last;
        if (l < m && cand_before(&h[l], bc)) {
            best = l;
            bc = &h[l];
        }
        if (l + 1 < m && cand_before(&h[l + 1], bc))
            best = l + 1;
        if (best == i)
            break;
        h[i] = h[best];
        i = best;
    }
    if (m)
        h[i] = last;
    return top;
}

static bn_status reserve(void **p, size_t *cap, size_t n, size_t elem) {
    if (n <= *cap)
        return BN_OK;
    size_t c = *cap ? *cap : 64;
    while (c < n)
        c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q)
        return bn_fail(BN_ERR_NOMEM, "tokenizer: out of memory for a fragment of %zu bytes", n);
    *p = q;
    *cap = c;
    return BN_OK;
}

static void try_pair(const bn_vocab *v, const char *text, const sym *s, int32_t pos, cand *h,
                     size_t *nh) {
    int32_t nx = s[pos].next;
    if (nx < 0)
        return;
    int32_t id = bn_strmap_get(&v->by_piece, text + s[pos].off, s[pos].len + s[nx].len);
    if (id >= 0)
        heap_push(h, nh, (cand){v->scores[id], pos, s[pos].len, s[nx].len, id});
}

static bn_status emit_symbol(const bn_vocab *v, const char *p, uint32_t len, bn_tokens *out) {
    int32_t id = bn_strmap_get(&v->by_piece, p, len);
    if (id >= 0)
        return bn_tokens_push(out, id);
    for (uint32_t i = 0; i < len; i++) {
        id = v->byte_token[(unsigned char)p[i]];
        if (id < 0)
            return v->unk >= 0 ? bn_tokens_push(out, v->unk) : BN_OK;
        bn_status st = bn_tokens_push(out, id);
        if (st != BN_OK)
            return st;
    }
    return BN_OK;
}

bn_status bn_spm_fragment(const bn_vocab *v, bn_merge_scratch *sc, const char *text, size_t len,
                          bn_tokens *out) {
    if (len == 0)
        return BN_OK;
    if (len > INT32_MAX / 4)
        return bn_fail(BN_ERR_INVALID, "tokenizer: fragment of %zu bytes is too long", len);
    bn_status st = reserve(&sc->sym, &sc->sym_cap, len, sizeof(sym));
    if (st == BN_OK)
        st = reserve(&sc->heap, &sc->heap_cap, 3 * len, sizeof(cand));
    if (st != BN_OK)
        return st;
    sym *s = sc->sym;
    cand *h = sc->heap;
    size_t nh = 0;
    int32_t n = 0;
    for (size_t i = 0; i < len;) {
        size_t ill, k = bn_utf8_next((const unsigned char *)text + i, len - i, &ill);
        if (!k)
            k = ill; /* cannot happen on sanitized text; keep going anyway */
        s[n] = (sym){(uint32_t)i, (uint32_t)k, n - 1, n + 1};
        n++;
        i += k;
    }
    s[n - 1].next = -1;
    for (int32_t i = 0; i + 1 < n; i++)
        try_pair(v, text, s, i, h, &nh);
    while (nh) {
        cand c = heap_pop(h, &nh);
        int32_t nx = s[c.pos].next;
        if (s[c.pos].len != c.left_len || nx < 0 || s[nx].len != c.right_len)
            continue; /* stale */
        s[c.pos].len += s[nx].len;
        s[c.pos].next = s[nx].next;
        if (s[nx].next >= 0)
            s[s[nx].next].prev = c.pos;
        s[nx].len = 0;
        if (s[c.pos].prev >= 0)
            try_pair(v, text, s, s[c.pos].prev, h, &nh);
        try_pair(v, text, s, c.pos, h, &nh);
    }
    for (int32_t i = 0; i >= 0; i = s[i].next) {
        st = emit_symbol(v, text + s[i].off, s[i].len, out);
        if (st != BN_OK)
            return st;
    }
    return BN_OK;
}
