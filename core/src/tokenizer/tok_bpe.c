/* Byte-level BPE of one pre-tokenized word.
 *
 * Everything is integers: the word starts as the tokens of its single
 * bytes, and a merge is a lookup (left id, right id) -> (rank, merged id),
 * so no strings are built while merging. The lowest rank merges first, the
 * leftmost on ties, like Hugging Face tokenizers. Symbols form a linked list
 * over an array; candidate pairs sit in a binary min-heap and are checked
 * for staleness when popped (both ids must still be in place). */
#include <stdlib.h>
#include <string.h>

#include "tok_internal.h"

typedef struct sym {
    int32_t id;
    int32_t next; /* -1 = last */
    int32_t prev; /* -1 = first */
} sym;

typedef struct cand {
    int32_t rank, pos, left, right, merged;
} cand;

static int cand_less(const cand *a, const cand *b) {
    return a->rank < b->rank || (a->rank == b->rank && a->pos < b->pos);
}

static void heap_push(cand *h, size_t *n, cand c) {
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!cand_less(&c, &h[p]))
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
        if (l < m && cand_less(&h[l], bc)) {
            best = l;
            bc = &h[l];
        }
        if (l + 1 < m && cand_less(&h[l + 1], bc))
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

void bn_merge_scratch_free(bn_merge_scratch *s) {
    free(s->sym);
    free(s->heap);
    memset(s, 0, sizeof *s);
}

bn_status bn_tokens_push(bn_tokens *t, int32_t id) {
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        int32_t *ids = realloc(t->ids, cap * sizeof *ids);
        if (!ids)
            return bn_fail(BN_ERR_NOMEM, "tokenizer: out of memory for %zu tokens", cap);
        t->ids = ids;
        t->cap = cap;
    }
    t->ids[t->n++] = id;
    return BN_OK;
}

static bn_status reserve(void **p, size_t *cap, size_t n, size_t elem) {
    if (n <= *cap)
        return BN_OK;
    size_t c = *cap ? *cap : 64;
    while (c < n)
        c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q)
        return bn_fail(BN_ERR_NOMEM, "tokenizer: out of memory for a word of %zu bytes", n);
    *p = q;
    *cap = c;
    return BN_OK;
}

static void try_pair(const bn_vocab *v, const sym *s, int32_t pos, cand *h, size_t *nh) {
    int32_t nx = s[pos].next;
    if (nx < 0)
        return;
    int32_t merged;
    int32_t rank = bn_pairmap_get(&v->merges, s[pos].id, s[nx].id, &merged);
    if (rank >= 0)
        heap_push(h, nh, (cand){rank, pos, s[pos].id, s[nx].id, merged});
}

bn_status bn_bpe_word(const bn_vocab *v, bn_merge_scratch *sc, const char *word, size_t len,
                      bn_tokens *out) {
    const unsigned char *w = (const unsigned char *)word;
    if (len == 0)
        return BN_OK;
    if (len > 1 && v->ignore_merges) {
        int32_t id = bn_strmap_get(&v->by_piece, word, len);
        if (id >= 0)
            return bn_tokens_push(out, id);
    }
    if (len == 1 && v->byte_token[w[0]] >= 0)
        return bn_tokens_push(out, v->byte_token[w[0]]);
    if (len > INT32_MAX / 4)
        return bn_fail(BN_ERR_INVALID, "tokenizer: word of %zu bytes is too long", len);
    bn_status st = reserve(&sc->sym, &sc->sym_cap, len, sizeof(sym));
    if (st == BN_OK)
        st = reserve(&sc->heap, &sc->heap_cap, 3 * len, sizeof(cand));
    if (st != BN_OK)
        return st;
    sym *s = sc->sym;
    cand *h = sc->heap;
    size_t nh = 0;
    int32_t n = 0;
    for (size_t i = 0; i < len; i++) {
        int32_t id = v->byte_token[w[i]];
        if (id < 0)
            id = v->unk; /* a vocab without this byte: only unk can stand for it */
        if (id < 0)
            continue;
        s[n] = (sym){id, n + 1, n - 1};
        n++;
    }
    if (n == 0)
        return BN_OK;
    s[n - 1].next = -1;
    for (int32_t i = 0; i + 1 < n; i++)
        try_pair(v, s, i, h, &nh);
    while (nh) {
        cand c = heap_pop(h, &nh);
        int32_t nx = s[c.pos].next;
        if (s[c.pos].id != c.left || nx < 0 || s[nx].id != c.right)
            continue; /* stale: one side has merged since */
        s[c.pos].id = c.merged;
        s[c.pos].next = s[nx].next;
        if (s[nx].next >= 0)
            s[s[nx].next].prev = c.pos;
        s[nx].id = -1;
        if (s[c.pos].prev >= 0)
            try_pair(v, s, s[c.pos].prev, h, &nh);
        try_pair(v, s, c.pos, h, &nh);
    }
    for (int32_t i = 0; i >= 0; i = s[i].next) {
        st = bn_tokens_push(out, s[i].id);
        if (st != BN_OK)
            return st;
    }
    return BN_OK;
}
