/* The KV pool: sequences, their page tables, prefix reuse, and bn_decode,
 * which checks a batch, finds pages for it (all or nothing), runs the
 * forward pass in chunks of max_batch rows and indexes the pages it filled.
 * Memory layout and page states: forward.c and kv_pages.h. */
#include <stdlib.h>
#include <string.h>

#include "pool_internal.h"

void bn_kv_pool_opts_init(bn_kv_pool_opts *o) {
    memset(o, 0, sizeof *o);
    o->page_tokens = BN_KV_PAGE_TOKENS_DEFAULT;
    o->max_seqs = 256;
}

static uint64_t page_bytes(const bn_kv_pool *p) { return 2 * (uint64_t)p->m->hp.n_layer * p->layer_page_bytes; }

static bn_status be_fail(const bn_model *m, bn_status st, const char *what) {
    const char *e = m->be->last_error ? m->be->last_error(m->ctx) : "";
    return bn_fail(st, "%s failed on backend '%s': %s%s%s", what, m->be->info.name, bn_status_str(st),
                   e && e[0] ? ": " : "", e ? e : "");
}

/* The pool's shape from the model's plan and the options (filled in and
 * checked): page size, pages per sequence, bytes, the page count. */
typedef struct pool_shape {
    bn_kv_pool_opts o;
    int32_t page_tokens, max_pages;
    uint64_t layer_page_bytes, page_bytes, n_pages;
} pool_shape;

static bn_status shape_pool(const bn_mem_plan *plan, const bn_hparams *hp, int paged, int no_mem_check,
                            const bn_kv_pool_opts *in, pool_shape *ps) {
    bn_kv_pool_opts *o = &ps->o;
    *o = *in;
    if (o->max_seqs == 0)
        o->max_seqs = 256;
    if (o->max_seq_len == 0)
        o->max_seq_len = plan->n_ctx;
    if (o->max_batch == 0)
        o->max_batch = plan->n_batch;
    if (o->page_tokens == 0)
        o->page_tokens = BN_KV_PAGE_TOKENS_DEFAULT;
    if (o->max_seqs < 1 || o->max_seqs > (1 << 20) || o->max_seq_len < 1 || o->max_seq_len > (1 << 24) ||
        o->max_batch < 1 || o->max_batch > 65536)
        return bn_fail(BN_ERR_INVALID, "KV pool: max_seqs %d (1..1M), max_seq_len %d (1..16M), max_batch %d (1..65536)",
                       o->max_seqs, o->max_seq_len, o->max_batch);
    if (paged) {
        if (o->page_tokens < 16 || o->page_tokens % 16 || o->page_tokens > 65536)
            return bn_fail(BN_ERR_INVALID, "KV pool: page size %d tokens; use a multiple of 16 up to 65536",
                           o->page_tokens);
        ps->page_tokens = o->page_tokens < o->max_seq_len ? o->page_tokens : (o->max_seq_len + 15) / 16 * 16;
    } else {
        /* An ABI 1.0 plugin attends over one contiguous cache: one page per
         * sequence, nothing to share. */
        ps->page_tokens = o->max_seq_len;
        o->no_prefix_cache = 1;
    }
    ps->max_pages = (o->max_seq_len + ps->page_tokens - 1) / ps->page_tokens;
    ps->layer_page_bytes =
        bn_kv_row_bytes(plan->kv_type, hp->head_dim) * (uint64_t)ps->page_tokens * (uint64_t)hp->n_head_kv;
    ps->page_bytes = 2 * (uint64_t)hp->n_layer * ps->layer_page_bytes;
    uint64_t one_seq = ps->page_bytes * (uint64_t)ps->max_pages, budget = o->budget_bytes;
    bn_hw_info hw;
    uint64_t avail = bn_hw_probe(&hw) == BN_OK ? hw.mem_available_bytes : 0;
    if (budget == 0) {
        budget = one_seq * (uint64_t)o->max_seqs;
        if (avail && budget > avail / 2)
            budget = avail / 2 > one_seq ? avail / 2 : one_seq;
    } else if (avail && budget > avail && !no_mem_check) {
        return bn_fail(BN_ERR_NOMEM, "KV pool: a budget of %.1f MiB exceeds the %.1f MiB of free memory",
                       (double)budget / 1048576.0, (double)avail / 1048576.0);
    }
    ps->n_pages = budget / ps->page_bytes;
    if (ps->n_pages < (uint64_t)ps->max_pages)
        return bn_fail(BN_ERR_INVALID,
                       "KV pool: a budget of %.1f MiB holds %llu pages of %d tokens (%.2f MiB each); one sequence of "
                       "%d tokens needs %d",
                       (double)budget / 1048576.0, (unsigned long long)ps->n_pages, ps->page_tokens,
                       (double)ps->page_bytes / 1048576.0, o->max_seq_len, ps->max_pages);
    if (ps->n_pages > (1u << 30))
        ps->n_pages = 1u << 30;
    o->budget_bytes = ps->n_pages * ps->page_bytes;
    return BN_OK;
}

bn_status bn_kv_pool_plan(const bn_mem_plan *plan, const bn_hparams *hp, const bn_kv_pool_opts *opts,
                          bn_kv_pool_stats *out) {
    memset(out, 0, sizeof *out);
    bn_kv_pool_opts def;
    if (!opts) {
        bn_kv_pool_opts_init(&def);
        opts = &def;
    }
    pool_shape ps;
    bn_status st = shape_pool(plan, hp, 1, 0, opts, &ps);
    if (st != BN_OK)
        return st;
    out->page_tokens = ps.page_tokens;
    out->n_pages = (int32_t)ps.n_pages;
    out->free_pages = out->n_pages;
    out->max_seqs = ps.o.max_seqs;
    out->max_seq_len = ps.o.max_seq_len;
    out->kv_type = plan->kv_type;
    out->page_bytes = ps.page_bytes;
    out->budget_bytes = ps.o.budget_bytes;
    return BN_OK;
}

static bn_status plan_pool(bn_kv_pool *p, const bn_kv_pool_opts *in) {
    const bn_model *m = p->m;
    pool_shape ps;
    p->paged = BN_BACKEND_HAS(m->be, attention_paged);
    bn_status st = shape_pool(&m->plan, &m->hp, p->paged, m->opts.no_mem_check, in, &ps);
    if (st != BN_OK)
        return st;
    if (!p->paged)
        bn_log(BN_LOG_INFO, "backend '%s' (ABI %d.%d) has no paged attention: one page of %d tokens per sequence",
               m->be->info.name, m->be->info.abi_major, m->be->info.abi_minor, ps.page_tokens);
    p->o = ps.o;
    p->page_tokens = ps.page_tokens;
    p->max_pages = ps.max_pages;
    p->kv_type = m->plan.kv_type;
    p->layer_page_bytes = ps.layer_page_bytes;
    return bn_kv_pages_init(&p->pages, (int32_t)ps.n_pages, p->page_tokens);
}

bn_status bn_kv_pool_create(bn_model *m, const bn_kv_pool_opts *opts, bn_kv_pool **out) {
    *out = NULL;
    bn_kv_pool_opts def;
    if (!opts) {
        bn_kv_pool_opts_init(&def);
        opts = &def;
    }
    bn_kv_pool *p = calloc(1, sizeof *p);
    if (!p)
        return bn_fail(BN_ERR_NOMEM, "out of memory");
    p->m = m;
    bn_status st = plan_pool(p, opts);
    if (st != BN_OK) {
        free(p);
        return st;
    }
    size_t mb = (size_t)p->o.max_batch, ms = (size_t)p->o.max_seqs;
    p->seqs = calloc(ms, sizeof *p->seqs);
    p->w_ids = malloc(mb * 4);
    p->w_pos = malloc(mb * 4);
    p->w_seq = malloc(mb * 4);
    p->w_want = malloc(mb * 4);
    p->w_rows = malloc(mb * 8);
    p->w_pt = malloc(mb * (size_t)p->max_pages * 4);
    p->w_next = malloc(ms * 4);
    p->w_map = malloc(ms * 4);
    p->w_old = malloc(ms * 4);
    p->w_run = malloc(ms * 4);
    if (!p->seqs || !p->w_ids || !p->w_pos || !p->w_seq || !p->w_want || !p->w_rows || !p->w_pt || !p->w_next ||
        !p->w_map || !p->w_old || !p->w_run) {
        bn_kv_pool_free(p);
        return bn_fail(BN_ERR_NOMEM, "KV pool: out of memory for the tables of %zu sequences", ms);
    }
    for (size_t i = 0; i < ms; i++)
        p->w_next[i] = p->w_map[i] = -1;
    st = m->be->buffer_alloc(m->ctx, (size_t)p->pages.n_pages * page_bytes(p), &p->kv_buf);
    if (st != BN_OK) {
        st = be_fail(m, st, "allocating the KV pool");
        bn_kv_pool_free(p);
        return st;
    }
    st = m->be->buffer_alloc(m->ctx, bn_pool_scratch_bytes(&m->hp, p->o.max_batch, p->max_pages), &p->scratch);
    if (st != BN_OK) {
        st = be_fail(m, st, "allocating scratch memory");
        bn_kv_pool_free(p);
        return st;
    }
    p->kv_base = m->be->buffer_base(m->ctx, p->kv_buf);
    p->scratch_base = m->be->buffer_base(m->ctx, p->scratch);
    *out = p;
    return BN_OK;
}

static void seq_release(bn_kv_pool *p, bn_kv_seq *s, int32_t keep_pages) {
    for (int32_t i = keep_pages; i < s->n_pages; i++)
        bn_kv_pages_unref(&p->pages, s->pt[i]);
    if (s->n_pages > keep_pages)
        s->n_pages = keep_pages;
}

static void seq_clear(bn_kv_pool *p, bn_kv_seq *s) {
    seq_release(p, s, 0);
    free(s->pt);
    free(s->tokens);
    free(s->chain);
    memset(s, 0, sizeof *s);
}

void bn_kv_pool_free(bn_kv_pool *p) {
    if (!p)
        return;
    if (p->seqs)
        for (int32_t i = 0; i < p->o.max_seqs; i++)
            if (p->seqs[i].alive)
                seq_clear(p, &p->seqs[i]);
    if (p->kv_buf)
        p->m->be->buffer_free(p->m->ctx, p->kv_buf);
    if (p->scratch)
        p->m->be->buffer_free(p->m->ctx, p->scratch);
    bn_kv_pages_free(&p->pages);
    free(p->seqs);
    free(p->w_ids);
    free(p->w_pos);
    free(p->w_seq);
    free(p->w_want);
    free(p->w_rows);
    free(p->w_pt);
    free(p->w_next);
    free(p->w_map);
    free(p->w_old);
    free(p->w_run);
    free(p);
}

void bn_kv_pool_get_stats(const bn_kv_pool *p, bn_kv_pool_stats *st) {
    memset(st, 0, sizeof *st);
    st->page_tokens = p->page_tokens;
    st->n_pages = p->pages.n_pages;
    st->free_pages = p->pages.n_free;
    st->cached_pages = p->pages.n_cached;
    st->used_pages = p->pages.n_pages - p->pages.n_free - p->pages.n_cached;
    st->n_seqs = p->n_alive;
    st->max_seqs = p->o.max_seqs;
    st->max_seq_len = p->o.max_seq_len;
    st->kv_type = p->kv_type;
    st->page_bytes = page_bytes(p);
    st->budget_bytes = p->o.budget_bytes;
    st->reused_tokens = p->reused_tokens;
}

static bn_kv_seq *seq_get(const bn_kv_pool *p, int32_t seq) {
    return seq >= 0 && seq < p->o.max_seqs && p->seqs[seq].alive ? &p->seqs[seq] : NULL;
}

static bn_status no_seq(const bn_kv_pool *p, int32_t seq) {
    return bn_fail(BN_ERR_INVALID, "KV pool: no sequence %d (ids 0..%d, freed ones are gone)", seq,
                   p->o.max_seqs - 1);
}

static int grow_tokens(bn_kv_seq *s, int32_t need) {
    int32_t cap = s->tokens ? s->tok_cap : 0;
    if (need <= cap)
        return 1;
    int32_t n = cap ? cap : 64;
    while (n < need)
        n = n > (1 << 29) ? need : 2 * n;
    int32_t *t = realloc(s->tokens, (size_t)n * sizeof *t);
    if (!t)
        return 0;
    s->tokens = t;
    s->tok_cap = n;
    return 1;
}

bn_status bn_seq_new(bn_kv_pool *p, int32_t *seq) {
    *seq = -1;
    for (int32_t i = 0; i < p->o.max_seqs; i++) {
        bn_kv_seq *s = &p->seqs[i];
        if (s->alive)
            continue;
        s->pt = malloc((size_t)p->max_pages * sizeof *s->pt);
        s->chain = malloc((size_t)p->max_pages * sizeof *s->chain);
        if (!s->pt || !s->chain || !grow_tokens(s, 64)) {
            seq_clear(p, s);
            return bn_fail(BN_ERR_NOMEM, "KV pool: out of memory for a new sequence");
        }
        s->alive = 1;
        p->n_alive++;
        *seq = i;
        return BN_OK;
    }
    return bn_fail(BN_ERR_NOMEM, "KV pool: all %d sequences are in use", p->o.max_seqs);
}

bn_status bn_seq_free(bn_kv_pool *p, int32_t seq) {
    bn_kv_seq *s = seq_get(p, seq);
    if (!s)
        return no_seq(p, seq);
    seq_clear(p, s);
    p->n_alive--;
    return BN_OK;
}

bn_status bn_seq_truncate(bn_kv_pool *p, int32_t seq, int32_t n_keep) {
    bn_kv_seq *s = seq_get(p, seq);
    if (!s)
        return no_seq(p, seq);
    if (n_keep < 0 || n_keep > s->len)
        return bn_fail(BN_ERR_INVALID, "KV pool: cannot keep %d tokens of sequence %d, it has %d", n_keep, seq, s->len);
    int32_t ps = p->page_tokens;
    seq_release(p, s, (n_keep + ps - 1) / ps);
    /* A page that is now partly stale will be written again: it must leave
     * the index, or (shared) be copied before the write. */
    if (n_keep % ps && p->pages.page[s->pt[n_keep / ps]].ref == 1)
        bn_kv_pages_unindex(&p->pages, s->pt[n_keep / ps]);
    s->len = n_keep;
    return BN_OK;
}

bn_status bn_seq_fork(bn_kv_pool *p, int32_t src, int32_t *dst) {
    *dst = -1;
    bn_kv_seq *s = seq_get(p, src);
    if (!s)
        return no_seq(p, src);
    int32_t id;
    bn_status st = bn_seq_new(p, &id);
    if (st != BN_OK)
        return st;
    s = &p->seqs[src];
    bn_kv_seq *d = &p->seqs[id];
    if (!grow_tokens(d, s->len)) {
        bn_seq_free(p, id);
        return bn_fail(BN_ERR_NOMEM, "KV pool: out of memory forking sequence %d", src);
    }
    for (int32_t i = 0; i < s->n_pages; i++)
        bn_kv_pages_ref(&p->pages, s->pt[i]);
    memcpy(d->pt, s->pt, (size_t)s->n_pages * sizeof *d->pt);
    memcpy(d->chain, s->chain, (size_t)p->max_pages * sizeof *d->chain);
    memcpy(d->tokens, s->tokens, (size_t)s->len * sizeof *d->tokens);
    d->n_pages = s->n_pages;
    d->len = s->len;
    *dst = id;
    return BN_OK;
}

bn_status bn_seq_reuse_prefix(bn_kv_pool *p, int32_t seq, const int32_t *tokens, int32_t n, int32_t *n_reused) {
    *n_reused = 0;
    bn_kv_seq *s = seq_get(p, seq);
    if (!s)
        return no_seq(p, seq);
    if (s->len)
        return bn_fail(BN_ERR_INVALID, "KV pool: sequence %d already holds %d tokens; reuse a prefix before decoding",
                       seq, s->len);
    if (p->o.no_prefix_cache || n < 2 || !tokens)
        return BN_OK;
    int32_t ps = p->page_tokens, i = 0;
    uint64_t parent = 0;
    for (; (int64_t)(i + 1) * ps <= n - 1 && i < p->max_pages; i++) {
        int32_t page = bn_kv_pages_find(&p->pages, parent, tokens + (int64_t)i * ps);
        if (page < 0)
            break;
        bn_kv_pages_ref(&p->pages, page);
        s->pt[i] = page;
        s->chain[i] = parent = p->pages.page[page].chain;
    }
    if (!grow_tokens(s, i * ps)) {
        for (int32_t k = 0; k < i; k++)
            bn_kv_pages_unref(&p->pages, s->pt[k]);
        return bn_fail(BN_ERR_NOMEM, "KV pool: out of memory");
    }
    memcpy(s->tokens, tokens, (size_t)i * (size_t)ps * sizeof *tokens);
    s->n_pages = i;
    s->len = i * ps;
    p->reused_tokens += (uint64_t)s->len;
    *n_reused = s->len;
    return BN_OK;
}

int32_t bn_seq_len(const bn_kv_pool *p, int32_t seq) {
    const bn_kv_seq *s = seq_get(p, seq);
    return s ? s->len : -1;
}

int32_t bn_seq_pages(const bn_kv_pool *p, int32_t seq) {
    const bn_kv_seq *s = seq_get(p, seq);
    return s ? s->n_pages : -1;
}

/* Checks every row; leaves w_next[seq] = the sequence's length after the
 * batch for each sequence in it (reset with reset_next). */
static bn_status check_rows(bn_kv_pool *p, const bn_batch_row *rows, int32_t n) {
    if (n < 1 || !rows)
        return bn_fail(BN_ERR_INVALID, "no rows to decode");
    for (int32_t i = 0; i < n; i++) {
        const bn_batch_row *r = &rows[i];
        bn_kv_seq *s = seq_get(p, r->seq);
        if (!s)
            return bn_fail(BN_ERR_INVALID, "row %d: no sequence %d", i, r->seq);
        if (r->token < 0 || r->token >= p->m->hp.n_vocab)
            return bn_fail(BN_ERR_INVALID, "row %d: token id %d is outside the vocabulary (0..%d)", i, r->token,
                           p->m->hp.n_vocab - 1);
        int32_t next = p->w_next[r->seq] < 0 ? s->len : p->w_next[r->seq];
        if (r->pos != -1 && r->pos != next)
            return bn_fail(BN_ERR_INVALID, "row %d: position %d, but sequence %d continues at %d", i, r->pos, r->seq,
                           next);
        if (next >= p->o.max_seq_len)
            return bn_fail(BN_ERR_INVALID,
                           "context full: sequence %d would pass %d tokens; start a new sequence or use a larger "
                           "context (-c)",
                           r->seq, p->o.max_seq_len);
        p->w_next[r->seq] = next + 1;
    }
    return BN_OK;
}

static void reset_next(bn_kv_pool *p, const bn_batch_row *rows, int32_t n) {
    /* check_rows may stop early: reset whatever ids it could have set */
    for (int32_t i = 0; i < n; i++)
        if (rows[i].seq >= 0 && rows[i].seq < p->o.max_seqs)
            p->w_next[rows[i].seq] = -1;
}

/* Does sequence s have to copy its last page before writing into it? */
static int needs_copy(const bn_kv_pool *p, const bn_kv_seq *s) {
    return s->len % p->page_tokens && p->pages.page[s->pt[s->len / p->page_tokens]].ref > 1;
}

/* Runs body once per sequence of the batch, with id its sequence id. */
#define FOR_EACH_SEQ(p, rows, n, id, body)                                                                          \
    do {                                                                                                           \
        for (int32_t i_ = 0; i_ < (n); i_++) {                                                                     \
            int32_t id = (rows)[i_].seq;                                                                           \
            if ((p)->w_map[id] == -2)                                                                              \
                continue;                                                                                          \
            (p)->w_map[id] = -2;                                                                                   \
            body;                                                                                                  \
        }                                                                                                          \
        for (int32_t i_ = 0; i_ < (n); i_++)                                                                       \
            (p)->w_map[(rows)[i_].seq] = -1;                                                                       \
    } while (0)

/* Pages the checked batch takes (w_next filled). */
static int32_t pages_needed(bn_kv_pool *p, const bn_batch_row *rows, int32_t n) {
    int32_t need = 0;
    FOR_EACH_SEQ(p, rows, n, id, {
        const bn_kv_seq *s = &p->seqs[id];
        need += (p->w_next[id] + p->page_tokens - 1) / p->page_tokens - s->n_pages + needs_copy(p, s);
    });
    return need;
}

int32_t bn_decode_pages_needed(const bn_kv_pool *p, const bn_batch_row *rows, int32_t n) {
    bn_kv_pool *q = (bn_kv_pool *)p; /* the work arrays only, restored before returning */
    int32_t need = check_rows(q, rows, n) == BN_OK ? pages_needed(q, rows, n) : -1;
    reset_next(q, rows, n);
    return need;
}

/* Copy the KV of page src into page dst in every layer. */
static bn_status copy_page(bn_kv_pool *p, int32_t src, int32_t dst) {
    const bn_model *m = p->m;
    for (int il = 0; il < m->hp.n_layer; il++)
        for (int which = 0; which < 2; which++) {
            bn_tensor v = bn_pool_kv_view(p, il, which), a = v, b = v;
            a.data = (char *)v.data + (int64_t)src * v.nb[3];
            b.data = (char *)v.data + (int64_t)dst * v.nb[3];
            a.ne[3] = b.ne[3] = 1;
            bn_status st = m->be->copy(m->ctx, &a, &b);
            if (st != BN_OK)
                return be_fail(m, st, "copying a shared KV page");
        }
    return BN_OK;
}

/* Pages for sequence s up to new_len tokens: its shared last page copied,
 * new ones taken (there are enough: counted before). */
static bn_status give_pages(bn_kv_pool *p, bn_kv_seq *s, int32_t new_len) {
    if (needs_copy(p, s)) {
        int32_t last = s->len / p->page_tokens, page = bn_kv_pages_take(&p->pages);
        bn_status st = copy_page(p, s->pt[last], page);
        if (st != BN_OK) {
            bn_kv_pages_unref(&p->pages, page);
            return st;
        }
        bn_kv_pages_unref(&p->pages, s->pt[last]);
        s->pt[last] = page;
    }
    int32_t pages = (new_len + p->page_tokens - 1) / p->page_tokens;
    while (s->n_pages < pages)
        s->pt[s->n_pages++] = bn_kv_pages_take(&p->pages);
    return BN_OK;
}

/* Index the pages that the batch filled. */
static void index_full_pages(bn_kv_pool *p, bn_kv_seq *s, int32_t old_len) {
    int32_t ps = p->page_tokens;
    for (int32_t i = old_len / ps; (int64_t)(i + 1) * ps <= s->len; i++) {
        uint64_t parent = i ? s->chain[i - 1] : 0;
        const int32_t *t = s->tokens + (int64_t)i * ps;
        s->chain[i] = bn_kv_chain(parent, t, ps);
        if (!p->o.no_prefix_cache)
            bn_kv_pages_index(&p->pages, s->pt[i], parent, t);
    }
}

/* One forward pass over rows [r0, r0 + n): the sequences in it get compact
 * page-table rows. w_run counts each sequence's rows run so far. */
static bn_status run_chunk(bn_kv_pool *p, const bn_batch_row *rows, int32_t r0, int32_t n, float *logits) {
    int32_t n_seq = 0, max_pages = 1, n_want = 0;
    for (int32_t i = 0; i < n; i++) {
        int32_t id = rows[r0 + i].seq;
        if (p->w_map[id] < 0)
            p->w_map[id] = n_seq++;
        int32_t pos = p->w_old[id] + p->w_run[id]++;
        p->w_ids[i] = rows[r0 + i].token;
        p->w_pos[i] = pos;
        p->w_seq[i] = p->w_map[id];
        p->w_want[i] = rows[r0 + i].logits != 0;
        n_want += p->w_want[i];
        if (pos / p->page_tokens + 1 > max_pages)
            max_pages = pos / p->page_tokens + 1;
    }
    for (int32_t i = 0; i < n; i++) {
        int32_t id = rows[r0 + i].seq;
        const bn_kv_seq *s = &p->seqs[id];
        int32_t *row = p->w_pt + (int64_t)p->w_map[id] * max_pages;
        for (int32_t j = 0; j < max_pages; j++) /* past the sequence's pages: never read */
            row[j] = j < s->n_pages ? s->pt[j] : 0;
    }
    for (int32_t i = 0; i < n; i++)
        p->w_map[rows[r0 + i].seq] = -1;
    bn_fwd_rows fr = {.n = n, .ids = p->w_ids, .pos = p->w_pos, .seq_idx = p->w_seq, .pt = p->w_pt,
                      .n_seq = n_seq, .max_pages = max_pages, .want = p->w_want, .n_want = n_want,
                      .logits = n_want ? logits : NULL};
    return bn_pool_forward(p, &fr);
}

bn_status bn_decode(bn_kv_pool *p, const bn_batch_row *rows, int32_t n, float *logits) {
    bn_status st = check_rows(p, rows, n);
    int32_t need = st == BN_OK ? pages_needed(p, rows, n) : 0;
    int wants = 0;
    for (int32_t i = 0; st == BN_OK && i < n; i++)
        wants |= rows[i].logits != 0;
    if (st == BN_OK && need > bn_kv_pages_available(&p->pages))
        st = bn_fail(BN_ERR_NOMEM, "KV pool full: the batch needs %d more pages, %d of %d are free or cached", need,
                     bn_kv_pages_available(&p->pages), p->pages.n_pages);
    else if (st == BN_OK && wants && !logits)
        st = bn_fail(BN_ERR_INVALID, "rows want logits but no logits buffer was given");
    if (st != BN_OK) {
        reset_next(p, rows, n);
        return st;
    }
    /* Token ids and pages for every sequence of the batch; w_old keeps the
     * lengths before it, to index the pages it fills or to undo it. */
    FOR_EACH_SEQ(p, rows, n, id, {
        bn_kv_seq *s = &p->seqs[id];
        p->w_old[id] = s->len;
        p->w_run[id] = 0;
        if (st == BN_OK)
            st = !grow_tokens(s, p->w_next[id]) ? bn_fail(BN_ERR_NOMEM, "KV pool: out of memory for token ids")
                                                : give_pages(p, s, p->w_next[id]);
    });
    if (st == BN_OK) {
        for (int32_t i = 0; i < n; i++)
            p->seqs[rows[i].seq].tokens[p->w_old[rows[i].seq] + p->w_run[rows[i].seq]++] = rows[i].token;
        for (int32_t i = 0; i < n; i++)
            p->w_run[rows[i].seq] = 0;
    }
    size_t nv = (size_t)p->m->hp.n_vocab;
    for (int32_t r0 = 0, done = 0; r0 < n && st == BN_OK; r0 += p->o.max_batch) {
        int32_t k = n - r0 < p->o.max_batch ? n - r0 : p->o.max_batch;
        st = run_chunk(p, rows, r0, k, logits ? logits + nv * (size_t)done : NULL);
        for (int32_t i = r0; i < r0 + k; i++)
            done += rows[i].logits != 0;
    }
    FOR_EACH_SEQ(p, rows, n, id, {
        bn_kv_seq *s = &p->seqs[id];
        if (st == BN_OK) {
            s->len = p->w_next[id];
            index_full_pages(p, s, p->w_old[id]);
        } else { /* give back what the batch took; the old tokens' KV is intact */
            seq_release(p, s, (s->len + p->page_tokens - 1) / p->page_tokens);
        }
    });
    reset_next(p, rows, n);
    return st;
}
