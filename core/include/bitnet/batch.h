/*
 * Many sequences on one model: a paged KV pool and one forward pass for
 * rows of many sequences.
 *
 * A bn_kv_pool holds the KV cache of any number of sequences (up to
 * max_seqs) in pages of page_tokens tokens, within a byte budget. A
 * sequence takes a page only when a token needs it and gives its pages back
 * when it is freed or truncated. Full pages are indexed by the chain of
 * token ids that produced them, so a sequence that starts with a prompt
 * already in the pool (a shared system prompt) maps those pages instead of
 * computing them again (bn_seq_reuse_prefix); pages are reference-counted,
 * copied when a sequence writes into a page it shares, and pages no
 * sequence uses stay cached (least recently used first out) until the pool
 * needs them.
 *
 * bn_decode runs a batch of rows - (sequence, token, position, logits
 * wanted) - through one forward pass: every matrix product over all rows
 * at once (each weight read once per step for all sequences), RoPE at each
 * row's position, attention per sequence over its own pages. Decode rows
 * of many sequences and a chunk of another one's prompt can share a call.
 *
 * A pool and its sequences belong to one model and must be used by one
 * thread at a time. bn_session (model.h) is the one-sequence case on top.
 */
#ifndef BITNET_BATCH_H
#define BITNET_BATCH_H

#include "bitnet/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bn_kv_pool bn_kv_pool;

typedef struct bn_kv_pool_opts {
    int32_t page_tokens;   /* tokens per page, a multiple of 16; 0 = BN_KV_PAGE_TOKENS_DEFAULT */
    uint64_t budget_bytes; /* KV bytes for the pages; 0 = default (see bn_kv_pool_create) */
    int32_t max_seqs;      /* sequences alive at once; 0 = 256 */
    int32_t max_seq_len;   /* tokens per sequence; 0 = the model's context (-c) */
    int32_t max_batch;     /* rows per forward pass (larger batches are split); 0 = the model's n_batch */
    int32_t no_prefix_cache; /* non-zero: never index or share pages */
} bn_kv_pool_opts;

#define BN_KV_PAGE_TOKENS_DEFAULT 64

BN_API void bn_kv_pool_opts_init(bn_kv_pool_opts *o);
/* Budget 0: the KV of max_seq_len tokens for every one of max_seqs
 * sequences, but at most half the memory free now (at least one full
 * sequence). Refuses a budget smaller than one sequence of max_seq_len. */
BN_API bn_status bn_kv_pool_create(bn_model *m, const bn_kv_pool_opts *o, bn_kv_pool **out);
BN_API void bn_kv_pool_free(bn_kv_pool *p);

typedef struct bn_kv_pool_stats {
    int32_t page_tokens;
    int32_t n_pages;      /* pages in the budget */
    int32_t used_pages;   /* mapped by at least one sequence */
    int32_t cached_pages; /* unmapped but holding an indexed prefix */
    int32_t free_pages;
    int32_t n_seqs;       /* sequences alive */
    int32_t max_seqs, max_seq_len;
    int32_t kv_type;      /* bn_type of the cache */
    uint64_t page_bytes;  /* all layers, K and V */
    uint64_t budget_bytes;
    uint64_t reused_tokens; /* prompt tokens taken from cached pages so far */
} bn_kv_pool_stats;
BN_API void bn_kv_pool_get_stats(const bn_kv_pool *p, bn_kv_pool_stats *st);
/* The pool bn_kv_pool_create would make for a model with this plan and
 * these options (a backend with paged attention), without making it:
 * page size and bytes, page count, budget. */
BN_API bn_status bn_kv_pool_plan(const bn_mem_plan *plan, const bn_hparams *hp, const bn_kv_pool_opts *o,
                                 bn_kv_pool_stats *out);

/* Sequences: ids are small integers, reused after bn_seq_free. */
BN_API bn_status bn_seq_new(bn_kv_pool *p, int32_t *seq);
/* Cancel: the sequence ends and its pages return at once (indexed full
 * pages stay cached for later prompts). */
BN_API bn_status bn_seq_free(bn_kv_pool *p, int32_t seq);
/* Keep the first n_keep tokens, drop the rest (n_keep 0: preemption -
 * all pages back, the sequence id stays; recompute by decoding again). */
BN_API bn_status bn_seq_truncate(bn_kv_pool *p, int32_t seq, int32_t n_keep);
/* A new sequence sharing all of src's tokens and pages (copy on write). */
BN_API bn_status bn_seq_fork(bn_kv_pool *p, int32_t src, int32_t *dst);
/* For an empty sequence about to run `tokens`: map the longest run of
 * whole cached pages that starts the prompt, never the whole prompt (its
 * last token still has to run to give logits). *n_reused: tokens mapped;
 * decode the rest from that position. */
BN_API bn_status bn_seq_reuse_prefix(bn_kv_pool *p, int32_t seq, const int32_t *tokens, int32_t n,
                                     int32_t *n_reused);
BN_API int32_t bn_seq_len(const bn_kv_pool *p, int32_t seq);   /* tokens in the cache; -1 if no such seq */
BN_API int32_t bn_seq_pages(const bn_kv_pool *p, int32_t seq); /* pages mapped; -1 if no such seq */

/* One row of a batch. pos must be the sequence's length when the call
 * starts plus the number of its rows before this one (append only); -1
 * means exactly that. */
typedef struct bn_batch_row {
    int32_t seq;
    int32_t token;
    int32_t pos;
    int32_t logits; /* non-zero: write this row's logits */
} bn_batch_row;

/* Pages bn_decode would take for these rows now (new pages and copies of
 * shared ones); -1 if the rows are invalid. */
BN_API int32_t bn_decode_pages_needed(const bn_kv_pool *p, const bn_batch_row *rows, int32_t n);
/* Run the rows. logits: n_vocab floats for every row with logits set, in
 * row order (NULL if none is wanted). All or nothing: a batch that does not
 * fit the pool (BN_ERR_NOMEM, the pool unchanged) or has an invalid row
 * (BN_ERR_INVALID) runs no row. */
BN_API bn_status bn_decode(bn_kv_pool *p, const bn_batch_row *rows, int32_t n, float *logits);

#ifdef __cplusplus
}
#endif
#endif /* BITNET_BATCH_H */
