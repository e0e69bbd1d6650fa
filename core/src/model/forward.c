/* The forward pass, written once against the plugin ABI: the core decides
 * the order of operations, the backend how each one runs.
 *
 * Per layer (bitnet-b1.58; other architectures drop the sub-norms or swap
 * the activation):
 *   xn = rms_norm(x) ; q,k,v = W xn ; rope(q,k) ; cache k,v
 *   a = attention(q, K, V) ; a = sub_norm(a) ; x += Wo a
 *   xn = rms_norm(x) ; h = act(W_gate xn) * (W_up xn) ; h = sub_norm(h) ; x += W_down h
 * then the final norm and the LM head (token_embd when tied). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "session_internal.h"

/* Scratch tensors of one batch, carved from the session's scratch buffer. */
typedef struct batch_views {
    bn_tensor x, xn, q, att, k, v, gate, up, out, ids, pos, logits;
} batch_views;

static char *carve(char **p, int64_t bytes) {
    char *r = *p;
    *p += (bytes + 63) & ~(int64_t)63;
    return r;
}

static void make_views(bn_session *s, int32_t b, int n_logit_rows, batch_views *v) {
    const bn_hparams *hp = &s->m->hp;
    int64_t d = hp->n_embd, dkv = (int64_t)hp->n_head_kv * hp->head_dim, ff = hp->n_ff;
    char *p = s->scratch_base;
    v->x = bn_view(carve(&p, 4 * d * b), BN_TYPE_F32, d, b, 1);
    v->xn = bn_view(carve(&p, 4 * d * b), BN_TYPE_F32, d, b, 1);
    v->q = bn_view(carve(&p, 4 * d * b), BN_TYPE_F32, hp->head_dim, hp->n_head, b);
    v->att = bn_view(carve(&p, 4 * d * b), BN_TYPE_F32, hp->head_dim, hp->n_head, b);
    v->k = bn_view(carve(&p, 4 * dkv * b), BN_TYPE_F32, hp->head_dim, hp->n_head_kv, b);
    v->v = bn_view(carve(&p, 4 * dkv * b), BN_TYPE_F32, hp->head_dim, hp->n_head_kv, b);
    v->gate = bn_view(carve(&p, 4 * ff * b), BN_TYPE_F32, ff, b, 1);
    v->up = bn_view(carve(&p, 4 * ff * b), BN_TYPE_F32, ff, b, 1);
    v->out = v->xn; /* projections back to d reuse xn once it is consumed */
    v->ids = bn_view(carve(&p, 4 * b), BN_TYPE_I32, b, 1, 1);
    v->pos = bn_view(carve(&p, 4 * b), BN_TYPE_I32, b, 1, 1);
    v->logits = bn_view(carve(&p, 4 * (int64_t)hp->n_vocab * n_logit_rows), BN_TYPE_F32, hp->n_vocab, n_logit_rows, 1);
}

/* The same memory seen as a 2-D matrix [ne0*ne1, ne2] for matmul. */
static bn_tensor as_rows(const bn_tensor *t) {
    return bn_view(t->data, t->type, t->ne[0] * t->ne[1], t->ne[2], 1);
}

/* K or V cache of layer il: [head_dim, n_ctx, n_head_kv]. */
static bn_tensor cache_view(bn_session *s, int il, int which) {
    const bn_hparams *hp = &s->m->hp;
    int32_t kvt = s->m->plan.kv_type;
    int64_t es = kvt == BN_TYPE_F32 ? 4 : 2;
    int64_t per = (int64_t)hp->head_dim * s->n_ctx * hp->n_head_kv * es;
    return bn_view(s->kv_base + (2 * (int64_t)il + which) * per, kvt, hp->head_dim, s->n_ctx, hp->n_head_kv);
}

/* Destination of the b new rows [head_dim, n_head_kv, b] inside a cache. */
static bn_tensor cache_slot(const bn_tensor *cache, int32_t pos0, int32_t b) {
    bn_tensor t = *cache;
    t.data = (char *)cache->data + pos0 * cache->nb[1];
    t.ne[1] = cache->ne[2];
    t.ne[2] = b;
    t.nb[1] = cache->nb[2];
    t.nb[2] = cache->nb[1];
    t.nb[3] = t.nb[2] * b;
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

static bn_status layer_forward(bn_session *s, int il, batch_views *v, int32_t b) {
    const bn_model *m = s->m;
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
    bn_tensor kc = cache_view(s, il, 0), vc = cache_view(s, il, 1);
    bn_tensor ks = cache_slot(&kc, s->pos, b), vs = cache_slot(&vc, s->pos, b);
    RUN(be->copy(c, &v->k, &ks), "store k");
    RUN(be->copy(c, &v->v, &vs), "store v");
    bn_attn_args aa = {.n_head = hp->n_head, .n_head_kv = hp->n_head_kv, .head_dim = hp->head_dim,
                       .n_tokens = b, .pos0 = s->pos, .scale = 1.0f / sqrtf((float)hp->head_dim)};
    RUN(be->attention(c, &v->q, &kc, &vc, &aa, &v->att), "attention");
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

bn_status bn_forward_batch(bn_session *s, const int32_t *tokens, int32_t b, float *logits, int all) {
    const bn_model *m = s->m;
    const bn_backend *be = m->be;
    bn_backend_ctx *c = m->ctx;
    const bn_hparams *hp = &m->hp;
    int il = -1;
    int n_rows = logits ? (all ? b : 1) : 0;
    batch_views v;
    make_views(s, b, n_rows ? n_rows : 1, &v);

    int32_t *pos = malloc(sizeof *pos * (size_t)b);
    if (!pos)
        return bn_fail(BN_ERR_NOMEM, "out of memory");
    for (int32_t i = 0; i < b; i++)
        pos[i] = s->pos + i;
    size_t ids_off = (size_t)((char *)v.ids.data - s->scratch_base), pos_off = (size_t)((char *)v.pos.data - s->scratch_base);
    bn_status up = be->upload(c, s->scratch, ids_off, tokens, 4 * (size_t)b);
    if (up == BN_OK)
        up = be->upload(c, s->scratch, pos_off, pos, 4 * (size_t)b);
    free(pos);
    RUN(up, "upload token ids and positions");
    RUN(be->get_rows(c, m->tok_embd, &v.ids, &v.x), "token embedding");

    for (il = 0; il < hp->n_layer; il++) {
        bn_status st = layer_forward(s, il, &v, b);
        if (st != BN_OK)
            return st;
    }
    il = hp->n_layer;
    if (!logits)
        return BN_OK;
    /* Final norm only over the rows whose logits are wanted. */
    bn_tensor xr = bn_view((char *)v.x.data + (all ? 0 : (int64_t)(b - 1) * v.x.nb[1]), BN_TYPE_F32, hp->n_embd,
                           n_rows, 1);
    bn_tensor xn = bn_view(v.xn.data, BN_TYPE_F32, hp->n_embd, n_rows, 1);
    RUN(be->rms_norm(c, &xr, &m->output_norm.t, hp->norm_eps, &xn), "output_norm");
    RUN(be->matmul(c, m->output ? m->output : m->tok_embd, &xn, NULL, &v.logits), "LM head");
    size_t lo = (size_t)((char *)v.logits.data - s->scratch_base);
    RUN(be->download(c, s->scratch, lo, logits, 4 * (size_t)hp->n_vocab * (size_t)n_rows), "download logits");
    return be->synchronize ? be->synchronize(c) : BN_OK;
}
