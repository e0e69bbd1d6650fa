/*
 * Causal grouped-query attention over a KV cache, straight from the
 * definition: for query t (absolute position pos0 + t) of head h, with kv
 * head g = h / (n_head / n_head_kv),
 *   s_j = scale * (q . k_j)         for cache positions j in [0, pos0 + t]
 *   out = sum_j softmax(s)_j * v_j
 * Dots, the softmax and the weighted sum are computed in double and
 * rounded to f32 once. Work is split over (token, head) pairs; each pool
 * thread uses its own scratch slot (scores + accumulator).
 */
#include <math.h>
#include <stdatomic.h>

#include "ref_internal.h"

typedef struct attn_job {
    const bn_backend_ctx *ctx;
    const bn_tensor *q, *k, *v;
    bn_tensor *out;
    const bn_attn_args *a;
    double *scratch; /* n_slots * (n_ctx + head_dim) */
    int64_t slot_len;
    int n_slots;
    atomic_int bad_thread;
} attn_job;

static const char *kv_row(const bn_tensor *t, int64_t pos, int64_t head) {
    return (const char *)t->data + pos * t->nb[1] + head * t->nb[2];
}

static void attend_one(attn_job *jb, int64_t t, int64_t h, double *scores, double *acc) {
    const bn_attn_args *a = jb->a;
    int64_t hd = a->head_dim, g = h / (a->n_head / a->n_head_kv), n_keys = a->pos0 + t + 1;
    const float *qv = (const float *)((const char *)jb->q->data + h * jb->q->nb[1] + t * jb->q->nb[2]);
    double m = -INFINITY;
    for (int64_t j = 0; j < n_keys; j++) {
        const char *kr = kv_row(jb->k, j, g);
        double dot = 0.0;
        for (int64_t d = 0; d < hd; d++)
            dot += (double)qv[d] * (double)pc_load(jb->ctx, jb->k, kr, d);
        scores[j] = dot * (double)a->scale;
        m = fmax(m, scores[j]);
    }
    for (int64_t d = 0; d < hd; d++)
        acc[d] = 0.0;
    double sum = 0.0;
    for (int64_t j = 0; j < n_keys; j++) {
        double p = exp(scores[j] - m);
        const char *vr = kv_row(jb->v, j, g);
        sum += p;
        for (int64_t d = 0; d < hd; d++)
            acc[d] += p * (double)pc_load(jb->ctx, jb->v, vr, d);
    }
    float *o = (float *)((char *)jb->out->data + h * jb->out->nb[1] + t * jb->out->nb[2]);
    for (int64_t d = 0; d < hd; d++)
        o[d] = (float)(acc[d] / sum);
}

static void attn_work(void *arg, int64_t begin, int64_t end, int thread_index) {
    attn_job *jb = arg;
    if (thread_index < 0 || thread_index >= jb->n_slots) {
        atomic_store(&jb->bad_thread, 1);
        return;
    }
    double *scores = jb->scratch + (int64_t)thread_index * jb->slot_len;
    double *acc = scores + jb->k->ne[1];
    for (int64_t i = begin; i < end; i++)
        attend_one(jb, i / jb->a->n_head, i % jb->a->n_head, scores, acc);
}

static bn_status check_kv(bn_backend_ctx *ctx, const bn_tensor *t, const char *what, const bn_attn_args *a) {
    static const int32_t kv_types[] = {BN_TYPE_F32, BN_TYPE_F16, -1};
    bn_status st = pc_check(ctx, t, "attention", what, kv_types);
    if (st != BN_OK)
        return st;
    if (t->ne[0] != a->head_dim || t->ne[2] != a->n_head_kv || t->ne[3] != 1 ||
        t->ne[1] < (int64_t)a->pos0 + a->n_tokens)
        return pc_fail(ctx, BN_ERR_INVALID,
                        "attention: %s cache is [%lld, %lld, %lld, %lld], expected [head_dim %d, n_ctx >= %lld, "
                        "n_head_kv %d, 1]",
                        what, (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2],
                        (long long)t->ne[3], a->head_dim, (long long)a->pos0 + a->n_tokens, a->n_head_kv);
    return BN_OK;
}

static bn_status check_q(bn_backend_ctx *ctx, const bn_tensor *t, const char *what, const bn_attn_args *a) {
    static const int32_t f32[] = {BN_TYPE_F32, -1};
    bn_status st = pc_check(ctx, t, "attention", what, f32);
    if (st != BN_OK)
        return st;
    if (t->ne[0] != a->head_dim || t->ne[1] != a->n_head || t->ne[2] != a->n_tokens || t->ne[3] != 1)
        return pc_fail(ctx, BN_ERR_INVALID,
                        "attention: %s is [%lld, %lld, %lld, %lld], expected [head_dim %d, n_head %d, "
                        "n_tokens %d, 1]",
                        what, (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2],
                        (long long)t->ne[3], a->head_dim, a->n_head, a->n_tokens);
    return BN_OK;
}

bn_status ref_attention(bn_backend_ctx *ctx, const bn_tensor *q, const bn_tensor *k, const bn_tensor *v,
                        const bn_attn_args *args, bn_tensor *out) {
    if (!args)
        return pc_fail(ctx, BN_ERR_INVALID, "attention: NULL args");
    const bn_attn_args *a = args;
    if (a->n_head <= 0 || a->n_head_kv <= 0 || a->n_head % a->n_head_kv || a->head_dim <= 0 ||
        a->n_tokens <= 0 || a->pos0 < 0)
        return pc_fail(ctx, BN_ERR_INVALID,
                        "attention: bad args n_head %d, n_head_kv %d, head_dim %d, n_tokens %d, pos0 %d "
                        "(n_head must be a multiple of n_head_kv)",
                        a->n_head, a->n_head_kv, a->head_dim, a->n_tokens, a->pos0);
    bn_status st;
    if ((st = check_q(ctx, q, "q", a)) != BN_OK || (st = check_q(ctx, out, "out", a)) != BN_OK ||
        (st = check_kv(ctx, k, "k", a)) != BN_OK || (st = check_kv(ctx, v, "v", a)) != BN_OK)
        return st;
    if (k->ne[1] != v->ne[1])
        return pc_fail(ctx, BN_ERR_INVALID, "attention: k and v caches differ in n_ctx (%lld vs %lld)",
                        (long long)k->ne[1], (long long)v->ne[1]);
    attn_job jb = {.ctx = ctx, .q = q, .k = k, .v = v, .out = out, .a = a, .n_slots = ctx->n_threads};
    jb.slot_len = k->ne[1] + a->head_dim;
    atomic_init(&jb.bad_thread, 0);
    jb.scratch = ref_alloc(ctx, sizeof(double) * (size_t)jb.slot_len * (size_t)jb.n_slots);
    if (!jb.scratch)
        return pc_fail(ctx, BN_ERR_NOMEM, "attention: out of memory for scratch");
    ref_parallel(ctx, (int64_t)a->n_tokens * a->n_head, 1, attn_work, &jb);
    ref_free(ctx, jb.scratch);
    if (atomic_load(&jb.bad_thread))
        return pc_fail(ctx, BN_ERR_INTERNAL, "attention: pool thread index beyond n_threads = %d",
                        jb.n_slots);
    return BN_OK;
}
