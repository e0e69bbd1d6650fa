/* Page states, reference counts, the LRU of cached pages and the prefix
 * index (see kv_pages.h). Every operation is O(1) but the index lookup,
 * which walks one bucket. */
#include <stdlib.h>
#include <string.h>

#include "../internal.h"
#include "kv_pages.h"

bn_status bn_kv_pages_init(bn_kv_pages *kp, int32_t n_pages, int32_t page_tokens) {
    memset(kp, 0, sizeof *kp);
    if (n_pages < 1 || page_tokens < 1)
        return bn_fail(BN_ERR_INVALID, "KV pool: %d pages of %d tokens", n_pages, page_tokens);
    kp->n_pages = n_pages;
    kp->page_tokens = page_tokens;
    kp->n_buckets = 1;
    while (kp->n_buckets < n_pages && kp->n_buckets < (1 << 24))
        kp->n_buckets <<= 1;
    kp->page = calloc((size_t)n_pages, sizeof *kp->page);
    kp->tokens = malloc((size_t)n_pages * (size_t)page_tokens * sizeof *kp->tokens);
    kp->bucket = malloc((size_t)kp->n_buckets * sizeof *kp->bucket);
    if (!kp->page || !kp->tokens || !kp->bucket) {
        bn_kv_pages_free(kp);
        return bn_fail(BN_ERR_NOMEM, "KV pool: out of memory for the page tables of %d pages", n_pages);
    }
    for (int32_t i = 0; i < kp->n_buckets; i++)
        kp->bucket[i] = -1;
    for (int32_t i = 0; i < n_pages; i++)
        kp->page[i].lru_next = i + 1 < n_pages ? i + 1 : -1;
    kp->free_head = 0;
    kp->n_free = n_pages;
    kp->lru_head = kp->lru_tail = -1;
    return BN_OK;
}

void bn_kv_pages_free(bn_kv_pages *kp) {
    free(kp->page);
    free(kp->tokens);
    free(kp->bucket);
    memset(kp, 0, sizeof *kp);
}

static void lru_remove(bn_kv_pages *kp, int32_t p) {
    bn_kv_page *pg = &kp->page[p];
    if (pg->lru_prev >= 0)
        kp->page[pg->lru_prev].lru_next = pg->lru_next;
    else
        kp->lru_head = pg->lru_next;
    if (pg->lru_next >= 0)
        kp->page[pg->lru_next].lru_prev = pg->lru_prev;
    else
        kp->lru_tail = pg->lru_prev;
    kp->n_cached--;
}

static void lru_push(bn_kv_pages *kp, int32_t p) {
    bn_kv_page *pg = &kp->page[p];
    pg->lru_prev = kp->lru_tail;
    pg->lru_next = -1;
    if (kp->lru_tail >= 0)
        kp->page[kp->lru_tail].lru_next = p;
    else
        kp->lru_head = p;
    kp->lru_tail = p;
    kp->n_cached++;
}

static void free_push(bn_kv_pages *kp, int32_t p) {
    kp->page[p].lru_next = kp->free_head;
    kp->free_head = p;
    kp->n_free++;
}

int32_t bn_kv_pages_take(bn_kv_pages *kp) {
    int32_t p;
    if (kp->free_head >= 0) {
        p = kp->free_head;
        kp->free_head = kp->page[p].lru_next;
        kp->n_free--;
    } else if (kp->lru_head >= 0) {
        p = kp->lru_head;
        kp->page[p].ref = 1; /* taken: unindexing must not free it */
        lru_remove(kp, p);
        bn_kv_pages_unindex(kp, p);
    } else {
        return -1;
    }
    kp->page[p].ref = 1;
    return p;
}

void bn_kv_pages_ref(bn_kv_pages *kp, int32_t p) {
    if (kp->page[p].ref++ == 0)
        lru_remove(kp, p);
}

void bn_kv_pages_unref(bn_kv_pages *kp, int32_t p) {
    if (--kp->page[p].ref > 0)
        return;
    if (kp->page[p].indexed)
        lru_push(kp, p);
    else
        free_push(kp, p);
}

uint64_t bn_kv_chain(uint64_t parent, const int32_t *tokens, int32_t n) {
    /* FNV-1a over the parent chain and the token bytes, then a final mix;
     * never 0, which stands for "no page before". */
    uint64_t h = 0xcbf29ce484222325ull;
    for (int i = 0; i < 8; i++)
        h = (h ^ ((parent >> (8 * i)) & 0xff)) * 0x100000001b3ull;
    for (int32_t t = 0; t < n; t++)
        for (int i = 0; i < 4; i++)
            h = (h ^ (((uint32_t)tokens[t] >> (8 * i)) & 0xff)) * 0x100000001b3ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h ? h : 1;
}

static int32_t *bucket_of(const bn_kv_pages *kp, uint64_t chain) {
    return &kp->bucket[chain & (uint64_t)(kp->n_buckets - 1)];
}

int32_t bn_kv_pages_find(const bn_kv_pages *kp, uint64_t parent, const int32_t *tokens) {
    uint64_t chain = bn_kv_chain(parent, tokens, kp->page_tokens);
    for (int32_t p = *bucket_of(kp, chain); p >= 0; p = kp->page[p].hnext) {
        const bn_kv_page *pg = &kp->page[p];
        if (pg->chain == chain && pg->parent == parent &&
            !memcmp(kp->tokens + (size_t)p * (size_t)kp->page_tokens, tokens,
                    (size_t)kp->page_tokens * sizeof *tokens))
            return p;
    }
    return -1;
}

void bn_kv_pages_index(bn_kv_pages *kp, int32_t p, uint64_t parent, const int32_t *tokens) {
    if (kp->page[p].indexed || bn_kv_pages_find(kp, parent, tokens) >= 0)
        return;
    bn_kv_page *pg = &kp->page[p];
    pg->chain = bn_kv_chain(parent, tokens, kp->page_tokens);
    pg->parent = parent;
    pg->indexed = 1;
    memcpy(kp->tokens + (size_t)p * (size_t)kp->page_tokens, tokens, (size_t)kp->page_tokens * sizeof *tokens);
    int32_t *b = bucket_of(kp, pg->chain);
    pg->hnext = *b;
    *b = p;
}

void bn_kv_pages_unindex(bn_kv_pages *kp, int32_t p) {
    bn_kv_page *pg = &kp->page[p];
    if (!pg->indexed)
        return;
    for (int32_t *link = bucket_of(kp, pg->chain); *link >= 0; link = &kp->page[*link].hnext)
        if (*link == p) {
            *link = pg->hnext;
            break;
        }
    pg->indexed = 0;
    if (pg->ref == 0) { /* was cached: nothing keeps it now */
        lru_remove(kp, p);
        free_push(kp, p);
    }
}
