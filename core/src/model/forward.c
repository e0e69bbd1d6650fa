/* The forward pass, written once against the plugin ABI: the core decides
 * the order of operations, the backend how each one runs.
 *
 * Per layer (bitnet-b1.58; other architectures drop the sub-norms or swap
 * the activation):
 *   xn = rms_norm(x) ; q,k,v = W xn ; rope(q,k) ; store k,v in the pages
 *   a = attention(q, K, V) ; a = sub_norm(a) ; x += Wo a
 *   xn = rms_norm(x) ; h = act(W_gate xn) * (W_up xn) ; h = sub_norm(h) ; x += W_down h
 * then the final norm and the LM head (token_embd when tied), over the rows
 * whose logits are wanted only.
 *
 * The rows may belong to many sequences: the matrix products and the norms
 * run over all of them at once, RoPE takes each row's position, K and V go
 * to each row's page, and attention runs per sequence over its own pages -
 * in one attention_paged call (ABI 1.1), or, for a plugin of ABI 1.0, one
 * attention call per run of rows of one sequence over its single page
 * (such a pool has one page per sequence, see pool.c). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pool_internal.h"

/* Scratch tensors of one batch, carved from the pool's scratch buffer. */
typedef struct batch_views {
    bn_tensor x, xn, q, att, k, v, gate, up, out, ids, pos, rows, pt, logits;
} batch_views;

static size_t carve(size_t *off, int64_t bytes) {
    size_t r = *off;
    *off += (size_t)((bytes + 63) & ~(int64_t)63);
    return r;
}

/* Lays the views out from `base` (NULL: only measure); returns the bytes. */
static size_t layout(const bn_hparams *hp, int64_t b, int64_t n_logit_rows, int64_t n_pt, char *base,
                     batch_views *v) {
    int64_t d = hp->n_embd, dkv = (int64_t)hp->n_head_kv * hp->head_dim, ff = hp->n_ff;
    size_t off = 0;
#define AT(bytes) ((char *)((uintptr_t)base + carve(&off, (bytes)))) /* base NULL: measuring */
    v->x = bn_view(AT(4 * d * b), BN_TYPE_F32, d, b, 1);
    v->xn = bn_view(AT(4 * d * b), BN_TYPE_F32, d, b, 1);
    v->q = bn_view(AT(4 * d * b), BN_TYPE_F32, hp->head_dim, hp->n_head, b);
    v->att = bn_view(AT(4 * d * b), BN_TYPE_F32, hp->head_dim, hp->n_head, b);
    v->k = bn_view(AT(4 * dkv * b), BN_TYPE_F32, hp->head_dim, hp->n_head_kv, b);
    v->v = bn_view(AT(4 * dkv * b), BN_TYPE_F32, hp->head_dim, hp->n_head_kv, b);
    v->gate = bn_view(AT(4 * ff * b), BN_TYPE_F32, ff, b, 1);
    v->up = bn_view(AT(4 * ff * b), BN_TYPE_F32, ff, b, 1);
    v->out = v->xn; /* projections back to d reuse xn once it is consumed */
    v->ids = bn_view(AT(4 * b), BN_TYPE_I32, b, 1, 1);
    v->pos = bn_view(AT(4 * b), BN_TYPE_I32, b, 1, 1);
    v->rows = bn_view(AT(8 * b), BN_TYPE_I32, 2, b, 1);
    v->pt = bn_view(AT(4 * n_pt), BN_TYPE_I32, n_pt, 1, 1);
    v->logits = bn_view(AT(4 * (int64_t)hp->n_vocab * n_logit_rows), BN_TYPE_F32, hp->n_vocab, n_logit_rows, 1);
#undef AT
    return off;
}

size_t bn_pool_scratch_bytes(const bn_hparams *hp, int32_t max_rows, int32_t max_pages) {
    batch_views v;
    return layout(hp, max_rows, max_rows, (int64_t)max_rows * max_pages, NULL, &v) + 64;
}

/* The same memory seen as a 2-D matrix [ne0*ne1, ne2] for matmul. */
static bn_tensor as_rows(const bn_tensor *t) {
    return bn_view(t->data, t->type, t->ne[0] * t->ne[1], t->ne[2], 1);
}

/* Rows [r0, r0 + n) of a view whose rows run along dimension dim. */
static bn_tensor row_range(const bn_tensor *t, int dim, int64_t r0, int64_t n) {
    bn_tensor s = *t;
    s.data = (char *)t->data + r0 * t->nb[dim];
    s.ne[dim] = n;
    for (int i = dim + 1; i < 4; i++)
        s.nb[i] = s.nb[i - 1] * s.ne[i - 1];
    return s;
}

bn_tensor bn_pool_kv_view(const bn_kv_pool *p, int il, int which) {
    const bn_hparams *hp = &p->m->hp;
    bn_tensor t = {.data = p->kv_base + (2 * (uint64_t)il + (uint64_t)which) * p->pages.n_pages * p->layer_page_bytes,
                   .type = p->kv_type,
                   .ne = {hp->head_dim, p->page_tokens, hp->n_head_kv, p->pages.n_pages}};
    t.nb[0] = p->kv_type == BN_TYPE_Q8_0 ? 34 : p->kv_type == BN_TYPE_F32 ? 4 : 2; /* Q8_0: a block */
    t.nb[1] = (int64_t)bn_kv_row_bytes(p->kv_type, hp->head_dim);
    t.nb[2] = t.nb[1] * p->page_tokens;
    t.nb[3] = t.nb[2] * hp->n_head_kv;
    return t;
}

/* Page `page` of a pool view as a one-page cache [head_dim, page_tokens, n_head_kv]. */
static bn_tensor one_page(const bn_tensor *pool, int32_t page) {
    bn_tensor t = *pool;
    t.data = (char *)pool->data + (int64_t)page * pool->nb[3];
    t.ne[3] = 1;
    return t;
}

/* Destination of n new rows [head_dim, n_head_kv, n] at row `slot` of a one-page cache. */
static bn_tensor page_slot(const bn_tensor *page, int32_t slot, int32_t n) {
    bn_tensor t = *page;
    t.data = (char *)page->data + slot * page->nb[1];
    t.ne[1] = page->ne[2];
    t.ne[2] = n;
    t.nb[1] = page->nb[2];
    t.nb[2] = page->nb[1];
    t.nb[3] = t.nb[2] * n;
    return t;
}

#define RUN(expr, what)                                                                                           \
    do {                                                                                                           \
        bn_status st_ = (expr);                                                                                    \
        if (st_ != BN_OK)                                                                                          \
            return op_fail(m, st_, what, il);                                                                      \
    } while (0)

static bn_status op_fail(const bn_model *m, bn_status st, const char *what, int il) {
    const char *e = m->be->last_error ? m->be->last_error(m->ctx) : "";
    return bn_fail(st, "%s (layer %d) failed on backend '%s': %s%s%s", what, il, m->be->info.name,
                   bn_status_str(st), e && e[0] ? ": " : "", e ? e : "");
}

/* Length of the run of rows from r0 that belong to one sequence (their
 * positions are consecutive: the batch is append-only) and, if page_end,
 * stay inside one page. */
static int32_t run_length(const bn_kv_pool *p, const bn_fwd_rows *r, int32_t r0, int page_end) {
    int32_t n = 1;
    while (r0 + n < r->n && r->seq_idx[r0 + n] == r->seq_idx[r0] &&
           (!page_end || r->pos[r0 + n] % p->page_tokens != 0))
        n++;
    return n;
}

/* K and V rows of the batch into their pages, one copy per run of rows in
 * one page of one sequence. */
static bn_status store_kv(bn_kv_pool *p, int il, batch_views *v, const bn_fwd_rows *r) {
    const bn_model *m = p->m;
    bn_tensor kc = bn_pool_kv_view(p, il, 0), vc = bn_pool_kv_view(p, il, 1);
    for (int32_t r0 = 0, n; r0 < r->n; r0 += n) {
        n = run_length(p, r, r0, 1);
        int32_t pos = r->pos[r0], page = r->pt[(int64_t)r->seq_idx[r0] * r->max_pages + pos / p->page_tokens];
        bn_tensor kp = one_page(&kc, page), vp = one_page(&vc, page);
        bn_tensor ks = page_slot(&kp, pos % p->page_tokens, n), vs = page_slot(&vp, pos % p->page_tokens, n);
        bn_tensor kr = row_range(&v->k, 2, r0, n), vr = row_range(&v->v, 2, r0, n);
        RUN(m->be->copy(m->ctx, &kr, &ks), "store k");
        RUN(m->be->copy(m->ctx, &vr, &vs), "store v");
    }
    return BN_OK;
}

static bn_status attend(bn_kv_pool *p, int il, batch_views *v, const bn_fwd_rows *r) {
    const bn_model *m = p->m;
    const bn_hparams *hp = &m->hp;
    bn_tensor kc = bn_pool_kv_view(p, il, 0), vc = bn_pool_kv_view(p, il, 1);
    float scale = 1.0f / sqrtf((float)hp->head_dim);
    if (p->paged) {
        bn_paged_attn_args pa = {.n_head = hp->n_head, .n_head_kv = hp->n_head_kv, .head_dim = hp->head_dim,
                                 .n_tokens = r->n, .page_size = p->page_tokens, .max_pages = r->max_pages,
                                 .n_seqs = r->n_seq, .scale = scale};
        bn_tensor pt = bn_view(v->pt.data, BN_TYPE_I32, r->max_pages, r->n_seq, 1);
        RUN(m->be->attention_paged(m->ctx, &v->q, &kc, &vc, &v->rows, &pt, &pa, &v->att), "attention");
        return BN_OK;
    }
    for (int32_t r0 = 0, n; r0 < r->n; r0 += n) { /* ABI 1.0: one page per sequence */
        n = run_length(p, r, r0, 0);
        int32_t page = r->pt[(int64_t)r->seq_idx[r0] * r->max_pages];
        bn_tensor kp = one_page(&kc, page), vp = one_page(&vc, page);
        bn_tensor q = row_range(&v->q, 2, r0, n), out = row_range(&v->att, 2, r0, n);
        bn_attn_args aa = {.n_head = hp->n_head, .n_head_kv = hp->n_head_kv, .head_dim = hp->head_dim,
                           .n_tokens = n, .pos0 = r->pos[r0], .scale = scale};
        RUN(m->be->attention(m->ctx, &q, &kp, &vp, &aa, &out), "attention");
    }
    return BN_OK;
}

static bn_status layer_forward(bn_kv_pool *p, int il, batch_views *v, const bn_fwd_rows *r) {
    const bn_model *m = p->m;
    const bn_backend *be = m->be;
    bn_backend_ctx *c = m->ctx;
    const bn_hparams *hp = &m->hp;
    const bn_layer *L = &m->layers[il];
    bn_tensor q2 = as_rows(&v->q), k2 = as_rows(&v->k), v2 = as_rows(&v->v), att2 = as_rows(&v->att);

    RUN(be->rms_norm(c, &v->x, &L->attn_norm.t, hp->norm_eps, &v->xn), "attn_norm");
    RUN(be->matmul(c, L->wq, &v->xn, NULL, &q2), "attn_q");
    RUN(be->matmul(c, L->wk, &v->xn, NULL, &k2), "attn_k");
    RUN(be->matmul(c, L->wv, &v->xn, NULL, &v2), "attn_v");
    bn_rope_args ra = {.n_dims = hp->n_rot, .style = hp->rope_style, .freq_base = hp->rope_freq_base,
                       .freq_scale = hp->rope_freq_scale};
    RUN(be->rope(c, &v->q, &v->pos, &ra), "rope q");
    RUN(be->rope(c, &v->k, &v->pos, &ra), "rope k");
    bn_status st = store_kv(p, il, v, r);
    if (st == BN_OK)
        st = attend(p, il, v, r);
    if (st != BN_OK)
        return st;
    if (L->attn_sub_norm.buf) /* q is free again: normalise into it */
        RUN(be->rms_norm(c, &att2, &L->attn_sub_norm.t, hp->norm_eps, &q2), "attn_sub_norm");
    RUN(be->matmul(c, L->wo, L->attn_sub_norm.buf ? &q2 : &att2, NULL, &v->out), "attn_output");
    RUN(be->add(c, &v->x, &v->out, &v->x), "attention residual");

    RUN(be->rms_norm(c, &v->x, &L->ffn_norm.t, hp->norm_eps, &v->xn), "ffn_norm");
    RUN(be->matmul(c, L->w_gate, &v->xn, NULL, &v->gate), "ffn_gate");
    RUN(be->matmul(c, L->w_up, &v->xn, NULL, &v->up), "ffn_up");
    RUN(be->ffn_act(c, &v->gate, &v->up, hp->act, &v->gate), "ffn activation");
    if (L->ffn_sub_norm.buf)
        RUN(be->rms_norm(c, &v->gate, &L->ffn_sub_norm.t, hp->norm_eps, &v->up), "ffn_sub_norm");
    RUN(be->matmul(c, L->w_down, L->ffn_sub_norm.buf ? &v->up : &v->gate, NULL, &v->out), "ffn_down");
    RUN(be->add(c, &v->x, &v->out, &v->x), "ffn residual");
    return BN_OK;
}

static bn_status upload(bn_kv_pool *p, const bn_tensor *t, const void *src, size_t n) {
    const bn_model *m = p->m;
    int il = -1;
    RUN(m->be->upload(m->ctx, p->scratch, (size_t)((char *)t->data - p->scratch_base), src, n),
        "upload token ids, positions and page tables");
    return BN_OK;
}

/* The final norm over the wanted rows (runs of consecutive ones), packed
 * into the first n_want rows of xn, then the LM head. */
static bn_status logits_out(bn_kv_pool *p, batch_views *v, const bn_fwd_rows *r) {
    const bn_model *m = p->m;
    const bn_hparams *hp = &m->hp;
    int il = hp->n_layer;
    int32_t done = 0;
    for (int32_t r0 = 0; r0 < r->n;) {
        if (!r->want[r0]) {
            r0++;
            continue;
        }
        int32_t n = 1;
        while (r0 + n < r->n && r->want[r0 + n])
            n++;
        bn_tensor xr = row_range(&v->x, 1, r0, n), xn = row_range(&v->xn, 1, done, n);
        RUN(m->be->rms_norm(m->ctx, &xr, &m->output_norm.t, hp->norm_eps, &xn), "output_norm");
        done += n;
        r0 += n;
    }
    bn_tensor xn = row_range(&v->xn, 1, 0, r->n_want), lg = row_range(&v->logits, 1, 0, r->n_want);
    RUN(m->be->matmul(m->ctx, m->output ? m->output : m->tok_embd, &xn, NULL, &lg), "LM head");
    size_t lo = (size_t)((char *)v->logits.data - p->scratch_base);
    RUN(m->be->download(m->ctx, p->scratch, lo, r->logits, 4 * (size_t)hp->n_vocab * (size_t)r->n_want),
        "download logits");
    return BN_OK;
}

bn_status bn_pool_forward(bn_kv_pool *p, const bn_fwd_rows *r) {
    const bn_model *m = p->m;
    const bn_hparams *hp = &m->hp;
    int il = -1;
    batch_views v;
    layout(hp, r->n, r->n_want ? r->n_want : 1, (int64_t)r->n_seq * r->max_pages, p->scratch_base, &v);
    for (int32_t i = 0; i < r->n; i++) {
        p->w_rows[2 * i] = r->pos[i];
        p->w_rows[2 * i + 1] = r->seq_idx[i];
    }
    bn_status st;
    if ((st = upload(p, &v.ids, r->ids, 4 * (size_t)r->n)) != BN_OK ||
        (st = upload(p, &v.pos, r->pos, 4 * (size_t)r->n)) != BN_OK ||
        (st = upload(p, &v.rows, p->w_rows, 8 * (size_t)r->n)) != BN_OK ||
        (st = upload(p, &v.pt, r->pt, 4 * (size_t)r->n_seq * (size_t)r->max_pages)) != BN_OK)
        return st;
    RUN(m->be->get_rows(m->ctx, m->tok_embd, &v.ids, &v.x), "token embedding");
    for (il = 0; il < hp->n_layer; il++)
        if ((st = layer_forward(p, il, &v, r)) != BN_OK)
            return st;
    if (r->n_want && (st = logits_out(p, &v, r)) != BN_OK)
        return st;
    il = hp->n_layer;
    RUN(m->be->synchronize ? m->be->synchronize(m->ctx) : BN_OK, "synchronize");
    return BN_OK;
}
