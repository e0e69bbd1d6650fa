/* Bookkeeping of the KV page pool (no backend memory here, so it can be
 * tested alone): which pages are free, used (reference-counted) or cached,
 * and the prefix index that finds a full page by the tokens before it.
 *
 * A page is in one of three states:
 *   free    on the free list, holds nothing of value;
 *   used    ref > 0, mapped by that many sequence page tables;
 *   cached  ref == 0 but indexed: a full page whose KV is still valid for
 *           its token chain, kept on an LRU list until a page is needed.
 * A full page is indexed by chain = H(chain of the page before, its tokens),
 * so equal chains mean equal token prefixes (the tokens and the parent chain
 * are compared too, so a hash collision is never taken for a match). */
#ifndef BITNET_KV_PAGES_H
#define BITNET_KV_PAGES_H

#include <stdint.h>

#include "bitnet/backend.h"

typedef struct bn_kv_page {
    int32_t ref;
    int32_t indexed;          /* in the prefix index */
    uint64_t chain, parent;   /* when indexed */
    int32_t hnext;            /* next page in the index bucket */
    int32_t lru_prev, lru_next; /* cached pages, oldest first; also the free list (lru_next) */
} bn_kv_page;

typedef struct bn_kv_pages {
    int32_t n_pages, page_tokens;
    bn_kv_page *page;
    int32_t *tokens;          /* page_tokens ids per page (indexed pages) */
    int32_t free_head, n_free;
    int32_t lru_head, lru_tail, n_cached;
    int32_t *bucket;          /* n_buckets heads of index chains */
    int32_t n_buckets;
} bn_kv_pages;

bn_status bn_kv_pages_init(bn_kv_pages *kp, int32_t n_pages, int32_t page_tokens);
void bn_kv_pages_free(bn_kv_pages *kp);

/* Pages that could be handed out now (free + cached). */
static inline int32_t bn_kv_pages_available(const bn_kv_pages *kp) { return kp->n_free + kp->n_cached; }

/* A page with ref 1: a free one, else the least recently cached one (its
 * index entry dropped). -1 when none is left. */
int32_t bn_kv_pages_take(bn_kv_pages *kp);
/* One more reference to a used or cached page (a cached page leaves the LRU). */
void bn_kv_pages_ref(bn_kv_pages *kp, int32_t page);
/* One reference less; at 0 an indexed page becomes cached, any other free. */
void bn_kv_pages_unref(bn_kv_pages *kp, int32_t page);

/* The chain value of a page holding `tokens` after a page with chain `parent`
 * (0 for the first page of a sequence). */
uint64_t bn_kv_chain(uint64_t parent, const int32_t *tokens, int32_t n);
/* Index a full, used page under its chain. If another page already holds
 * that chain, nothing changes (the first one stays the shared copy). */
void bn_kv_pages_index(bn_kv_pages *kp, int32_t page, uint64_t parent, const int32_t *tokens);
/* Drop a page from the index (its contents are about to change). */
void bn_kv_pages_unindex(bn_kv_pages *kp, int32_t page);
/* The indexed page that holds `tokens` after `parent`, or -1. */
int32_t bn_kv_pages_find(const bn_kv_pages *kp, uint64_t parent, const int32_t *tokens);

#endif
