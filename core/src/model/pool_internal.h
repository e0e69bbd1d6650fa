/* The KV pool's state, shared by pool.c (sequences, pages, batches),
 * forward.c (the forward pass over a batch) and session.c. */
#ifndef BITNET_POOL_INTERNAL_H
#define BITNET_POOL_INTERNAL_H

#include "bitnet/batch.h"
#include "kv_pages.h"
#include "model_internal.h"

typedef struct bn_kv_seq {
    int32_t alive;
    int32_t len;     /* tokens in the cache */
    int32_t n_pages; /* entries of pt in use */
    int32_t *pt;     /* max_pages page ids */
    int32_t *tokens; /* len ids (what the pages hold), tok_cap allocated */
    int32_t tok_cap;
    uint64_t *chain; /* chain value of each full page (prefix index) */
} bn_kv_seq;

/* One forward pass: rows of one or more sequences, on host memory. */
typedef struct bn_fwd_rows {
    int32_t n;
    const int32_t *ids, *pos, *seq_idx; /* n each; seq_idx: row of pt */
    const int32_t *pt;                  /* n_seq x max_pages page ids */
    int32_t n_seq, max_pages;
    const int32_t *want; /* n flags: logits of this row */
    int32_t n_want;
    float *logits; /* n_want x n_vocab, or NULL */
} bn_fwd_rows;

struct bn_kv_pool {
    bn_model *m;
    bn_kv_pool_opts o;
    int32_t page_tokens, max_pages, kv_type;
    int paged;                /* the backend has attention_paged (ABI 1.1) */
    uint64_t layer_page_bytes; /* K or V of one layer for one page */
    bn_buffer *kv_buf, *scratch;
    char *kv_base, *scratch_base; /* backend address space */
    bn_kv_pages pages;
    bn_kv_seq *seqs;
    int32_t n_alive;
    uint64_t reused_tokens;
    /* host work arrays of one forward pass (max_batch rows) */
    int32_t *w_ids, *w_pos, *w_seq, *w_want, *w_pt, *w_rows;
    int32_t *w_next, *w_map, *w_old, *w_run; /* per sequence id: length after the batch, compact
                                                index, length before, rows run so far */
};

/* K (which 0) or V (1) of layer il: [head_dim, page_tokens, n_head_kv, n_pages]. */
bn_tensor bn_pool_kv_view(const bn_kv_pool *p, int il, int which);
bn_status bn_pool_forward(bn_kv_pool *p, const bn_fwd_rows *r);
/* Scratch bytes of a forward pass of up to max_rows rows. */
size_t bn_pool_scratch_bytes(const bn_hparams *hp, int32_t max_rows, int32_t max_pages);

#endif
