/*
 * Causal grouped-query attention over a KV cache, straight from the
 * definition: for query t (absolute position p_t: pos0 + t in a contiguous
 * cache, rows[t].pos in a paged pool) of head h, with kv head
 * g = h / (n_head / n_head_kv),
 *   s_j = scale * (q . k_j)         for the sequence's positions j in [0, p_t]
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
    const pc_attn_map *map;
    double *scratch; /* n_slots * (max_keys + head_dim) */
    int64_t slot_len;
    int n_slots;
    atomic_int bad_thread;
} attn_job;

static void attend_one(attn_job *jb, int64_t t, int64_t h, double *scores, double *acc) {
    const bn_attn_args *a = jb->a;
    int64_t hd = a->head_dim, g = h / (a->n_head / a->n_head_kv), n_keys = pc_attn_keys(jb->map, t);
    const int32_t *pages = pc_attn_pages(jb->map, t);
    const int64_t ps = jb->map->page_size;
    const float *qv = (const float *)((const char *)jb->q->data + h * jb->q->nb[1] + t * jb->q->nb[2]);
    double m = -INFINITY;
    for (int64_t j = 0; j < n_keys; j++) {
        const char *kr = pc_kv_at(jb->k, pages, ps, j, g);
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
        const char *vr = pc_kv_at(jb->v, pages, ps, j, g);
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
    double *acc = scores + jb->map->max_keys;
    for (int64_t i = begin; i < end; i++)
        attend_one(jb, i / jb->a->n_head, i % jb->a->n_head, scores, acc);
}

bn_status ref_attention_run(bn_backend_ctx *ctx, const bn_tensor *q, const bn_tensor *k, const bn_tensor *v,
                          const bn_attn_args *a, const pc_attn_map *map, bn_tensor *out) {
    attn_job jb = {.ctx = ctx, .q = q, .k = k, .v = v, .out = out, .a = a, .map = map, .n_slots = ctx->pc.n_threads};
    jb.slot_len = map->max_keys + a->head_dim;
    atomic_init(&jb.bad_thread, 0);
    jb.scratch = pc_alloc(ctx, sizeof(double) * (size_t)jb.slot_len * (size_t)jb.n_slots);
    if (!jb.scratch)
        return pc_fail(ctx, BN_ERR_NOMEM, "attention: out of memory for scratch");
    pc_parallel(ctx, (int64_t)a->n_tokens * a->n_head, 1, attn_work, &jb);
    pc_free(ctx, jb.scratch);
    if (atomic_load(&jb.bad_thread))
        return pc_fail(ctx, BN_ERR_INTERNAL, "attention: pool thread index beyond n_threads = %d",
                        jb.n_slots);
    return BN_OK;
}

