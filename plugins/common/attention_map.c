/* Argument checks of attention and attention_paged, shared by every CPU
 * plugin: a plugin must never read outside the cache or the pool, whatever
 * the caller passes. */
#include "plugin_common.h"

static bn_status check_q(bn_backend_ctx *ctx, const bn_tensor *t, const char *op, const char *what,
                         const bn_attn_args *a) {
    static const int32_t f32[] = {BN_TYPE_F32, -1};
    bn_status st = pc_check(ctx, t, op, what, f32);
    if (st != BN_OK)
        return st;
    if (t->ne[0] != a->head_dim || t->ne[1] != a->n_head || t->ne[2] != a->n_tokens || t->ne[3] != 1)
        return pc_fail(ctx, BN_ERR_INVALID,
                       "%s: %s is [%lld, %lld, %lld, %lld], expected [head_dim %d, n_head %d, n_tokens %d, 1]", op,
                       what, (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2], (long long)t->ne[3],
                       a->head_dim, a->n_head, a->n_tokens);
    return BN_OK;
}

static bn_status check_heads(bn_backend_ctx *ctx, const char *op, const bn_attn_args *a) {
    if (a->n_head <= 0 || a->n_head_kv <= 0 || a->n_head % a->n_head_kv || a->head_dim <= 0 || a->n_tokens <= 0 ||
        a->pos0 < 0)
        return pc_fail(ctx, BN_ERR_INVALID,
                       "%s: bad args n_head %d, n_head_kv %d, head_dim %d, n_tokens %d, pos0 %d "
                       "(n_head must be a multiple of n_head_kv)",
                       op, a->n_head, a->n_head_kv, a->head_dim, a->n_tokens, a->pos0);
    return BN_OK;
}

/* K or V: [head_dim, rows, n_head_kv, pages] of F32/F16/Q8_0, rows >= min_rows. */
static bn_status check_kv(bn_backend_ctx *ctx, const bn_tensor *t, const char *op, const char *what,
                          const bn_attn_args *a, int64_t min_rows, int64_t pages) {
    static const int32_t kv_types[] = {BN_TYPE_F32, BN_TYPE_F16, BN_TYPE_Q8_0, -1};
    bn_status st = pc_check(ctx, t, op, what, kv_types);
    if (st != BN_OK)
        return st;
    if (t->ne[0] != a->head_dim || t->ne[2] != a->n_head_kv || t->ne[1] < min_rows || (pages && t->ne[3] != pages))
        return pc_fail(ctx, BN_ERR_INVALID,
                       "%s: %s cache is [%lld, %lld, %lld, %lld], expected [head_dim %d, %s %lld, n_head_kv %d, %lld]",
                       op, what, (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2], (long long)t->ne[3],
                       a->head_dim, pages ? "page_size" : "n_ctx >=", (long long)min_rows, a->n_head_kv,
                       (long long)(pages ? pages : 1));
    return BN_OK;
}

bn_status pc_attn_check(bn_backend_ctx *ctx, const bn_tensor *q, const bn_tensor *k, const bn_tensor *v,
                        const bn_attn_args *a, const bn_tensor *out, pc_attn_map *m) {
    if (!a)
        return pc_fail(ctx, BN_ERR_INVALID, "attention: NULL args");
    bn_status st;
    if ((st = check_heads(ctx, "attention", a)) != BN_OK || (st = check_q(ctx, q, "attention", "q", a)) != BN_OK ||
        (st = check_q(ctx, out, "attention", "out", a)) != BN_OK)
        return st;
    int64_t need = (int64_t)a->pos0 + a->n_tokens;
    if ((st = check_kv(ctx, k, "attention", "k", a, need, 0)) != BN_OK ||
        (st = check_kv(ctx, v, "attention", "v", a, need, 0)) != BN_OK)
        return st;
    if (k->ne[3] != 1 || v->ne[3] != 1)
        return pc_fail(ctx, BN_ERR_INVALID, "attention: k and v caches must have ne[3] = 1");
    if (k->ne[1] != v->ne[1])
        return pc_fail(ctx, BN_ERR_INVALID, "attention: k and v caches differ in n_ctx (%lld vs %lld)",
                       (long long)k->ne[1], (long long)v->ne[1]);
    *m = (pc_attn_map){.pos0 = a->pos0, .max_keys = need, .page_size = k->ne[1]};
    return BN_OK;
}

static bn_status check_i32(bn_backend_ctx *ctx, const bn_tensor *t, const char *what, int64_t ne0, int64_t ne1) {
    static const int32_t i32[] = {BN_TYPE_I32, -1};
    bn_status st = pc_check(ctx, t, "attention_paged", what, i32);
    if (st != BN_OK)
        return st;
    if (t->ne[0] != ne0 || t->ne[1] != ne1 || t->ne[2] != 1 || t->ne[3] != 1 || t->nb[1] != 4 * ne0)
        return pc_fail(ctx, BN_ERR_INVALID, "attention_paged: %s is [%lld, %lld, %lld, %lld], expected contiguous "
                       "[%lld, %lld, 1, 1]", what, (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2],
                       (long long)t->ne[3], (long long)ne0, (long long)ne1);
    return BN_OK;
}

bn_status pc_attn_paged_check(bn_backend_ctx *ctx, const bn_tensor *q, const bn_tensor *k, const bn_tensor *v,
                              const bn_tensor *rows, const bn_tensor *pt, const bn_paged_attn_args *a,
                              const bn_tensor *out, pc_attn_map *m, bn_attn_args *flat) {
    if (!a || !rows || !pt)
        return pc_fail(ctx, BN_ERR_INVALID, "attention_paged: NULL argument");
    *flat = (bn_attn_args){.n_head = a->n_head, .n_head_kv = a->n_head_kv, .head_dim = a->head_dim,
                           .n_tokens = a->n_tokens, .scale = a->scale};
    bn_status st;
    if ((st = check_heads(ctx, "attention_paged", flat)) != BN_OK ||
        (st = check_q(ctx, q, "attention_paged", "q", flat)) != BN_OK ||
        (st = check_q(ctx, out, "attention_paged", "out", flat)) != BN_OK)
        return st;
    if (a->page_size < 16 || a->page_size % 16 || a->max_pages < 1 || a->n_seqs < 1)
        return pc_fail(ctx, BN_ERR_INVALID,
                       "attention_paged: page_size %d (a multiple of 16), max_pages %d, n_seqs %d (both >= 1)",
                       a->page_size, a->max_pages, a->n_seqs);
    int64_t n_pages = k->ne[3];
    if ((st = check_kv(ctx, k, "attention_paged", "k", flat, a->page_size, n_pages)) != BN_OK ||
        (st = check_kv(ctx, v, "attention_paged", "v", flat, a->page_size, n_pages)) != BN_OK)
        return st;
    if (k->ne[1] != a->page_size || v->ne[1] != a->page_size)
        return pc_fail(ctx, BN_ERR_INVALID, "attention_paged: pages hold %lld / %lld rows, page_size is %d",
                       (long long)k->ne[1], (long long)v->ne[1], a->page_size);
    if ((st = check_i32(ctx, rows, "rows", 2, a->n_tokens)) != BN_OK ||
        (st = check_i32(ctx, pt, "page_table", a->max_pages, a->n_seqs)) != BN_OK)
        return st;
    const int32_t *r = rows->data, *tab = pt->data;
    int64_t max_keys = 0;
    for (int64_t t = 0; t < a->n_tokens; t++) {
        int64_t pos = r[2 * t], seq = r[2 * t + 1];
        if (pos < 0 || pos >= (int64_t)a->max_pages * a->page_size || seq < 0 || seq >= a->n_seqs)
            return pc_fail(ctx, BN_ERR_INVALID, "attention_paged: query %lld at position %lld of sequence %lld is "
                           "outside the page table (%d sequences x %d pages of %d)", (long long)t, (long long)pos,
                           (long long)seq, a->n_seqs, a->max_pages, a->page_size);
        for (int64_t p = 0; p <= pos / a->page_size; p++) {
            int32_t page = tab[seq * a->max_pages + p];
            if (page < 0 || page >= n_pages)
                return pc_fail(ctx, BN_ERR_INVALID, "attention_paged: sequence %lld maps its page %lld to %d, "
                               "outside the pool of %lld pages", (long long)seq, (long long)p, page,
                               (long long)n_pages);
        }
        max_keys = pos + 1 > max_keys ? pos + 1 : max_keys;
    }
    *m = (pc_attn_map){.rows = r, .pt = tab, .max_pages = a->max_pages, .page_size = a->page_size,
                       .max_keys = max_keys};
    return BN_OK;
}

bn_status pc_attention(bn_backend_ctx *ctx, const bn_tensor *q, const bn_tensor *k, const bn_tensor *v,
                       const bn_attn_args *args, bn_tensor *out) {
    pc_attn_map map;
    bn_status st = pc_attn_check(ctx, q, k, v, args, out, &map);
    return st != BN_OK ? st : pc_this_plugin.attention(ctx, q, k, v, args, &map, out);
}

bn_status pc_attention_paged(bn_backend_ctx *ctx, const bn_tensor *q, const bn_tensor *k, const bn_tensor *v,
                             const bn_tensor *rows, const bn_tensor *pt, const bn_paged_attn_args *args,
                             bn_tensor *out) {
    pc_attn_map map;
    bn_attn_args flat;
    bn_status st = pc_attn_paged_check(ctx, q, k, v, rows, pt, args, out, &map, &flat);
    return st != BN_OK ? st : pc_this_plugin.attention(ctx, q, k, v, &flat, &map, out);
}
