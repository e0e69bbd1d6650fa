/*
 * The attention driver of the SIMD plugins (cpu-avx2, cpu-neon): splits a
 * call into work items (a token and up to PC_ATTN_HEADS_MAX query heads
 * sharing a kv head, so each K and V row is loaded once for all of them),
 * runs them over the pool with per-thread score rows, and calls the
 * plugin's vector kernels per item: score, softmax numerators, weigh.
 * The denominator's reciprocal is taken in double.
 */
#include "plugin_common.h"

/* Item = (token, kv head, chunk of query heads in its group). */
static void attend_item(pc_attn_job *jb, int64_t item, float *scores) {
    const bn_attn_args *a = jb->a;
    const int64_t per_tok = (int64_t)a->n_head_kv * jb->items_per_group;
    const int64_t t = item / per_tok, g = (item % per_tok) / jb->items_per_group;
    const int group = a->n_head / a->n_head_kv, hpi = jb->heads_per_item;
    const int64_t h0 = g * group + (item % jb->items_per_group) * hpi;
    pc_attn_item it = {.g = g, .n_keys = pc_attn_keys(jb->map, t), .pages = pc_attn_pages(jb->map, t)};
    it.nh = (int)(g * group + group - h0 < hpi ? g * group + group - h0 : hpi);
    for (int r = 0; r < PC_ATTN_HEADS_MAX; r++) {
        int rr = r < it.nh ? r : 0; /* rows past nh: valid, never used */
        it.q[r] = (const float *)((const char *)jb->q->data + (h0 + rr) * jb->q->nb[1] + t * jb->q->nb[2]);
        it.out[r] = (float *)((char *)jb->out->data + (h0 + rr) * jb->out->nb[1] + t * jb->out->nb[2]);
        it.p[r] = scores + rr * jb->slot_len;
    }
    float inv[PC_ATTN_HEADS_MAX];
    jb->kern->score(jb, &it, scores);
    for (int r = 0; r < it.nh; r++)
        inv[r] = (float)(1.0 / jb->kern->softmax(scores + r * jb->slot_len, it.n_keys));
    jb->kern->weigh(jb, &it, inv);
}

static void attn_work(void *arg, int64_t begin, int64_t end, int thread_index) {
    pc_attn_job *jb = arg;
    if (thread_index < 0 || thread_index >= jb->n_slots) {
        atomic_store(&jb->bad_thread, 1);
        return;
    }
    float *scores = jb->scratch + (int64_t)thread_index * jb->heads_per_item * jb->slot_len;
    for (int64_t i = begin; i < end; i++)
        attend_item(jb, i, scores);
}

bn_status pc_attn_drive(bn_backend_ctx *ctx, int slot, const pc_attn_kernels *kern, const bn_tensor *q,
                        const bn_tensor *k, const bn_tensor *v, const bn_attn_args *a, const pc_attn_map *map,
                        bn_tensor *out) {
    const int n_threads = pc_base(ctx)->n_threads;
    pc_attn_job jb = {.q = q, .k = k, .v = v, .out = out, .a = a, .map = map, .kern = kern, .n_slots = n_threads};
    jb.slot_len = (map->max_keys + 15) / 16 * 16;
    /* Fewer heads per item when there are too few items to keep every
     * thread busy (decode: one token). */
    const int group = a->n_head / a->n_head_kv;
    jb.heads_per_item = group < PC_ATTN_HEADS_MAX ? group : PC_ATTN_HEADS_MAX;
    while (jb.heads_per_item > 1 &&
           (int64_t)a->n_tokens * a->n_head_kv * ((group + jb.heads_per_item - 1) / jb.heads_per_item) <
               4 * (int64_t)n_threads)
        jb.heads_per_item /= 2;
    jb.items_per_group = (group + jb.heads_per_item - 1) / jb.heads_per_item;
    atomic_init(&jb.bad_thread, 0);
    jb.scratch = pc_scratch_get(ctx, slot,
                                sizeof(float) * (size_t)jb.heads_per_item * (size_t)jb.slot_len * (size_t)jb.n_slots);
    if (!jb.scratch)
        return pc_fail(ctx, BN_ERR_NOMEM, "attention: out of memory for scratch");
    pc_parallel(ctx, (int64_t)a->n_tokens * a->n_head_kv * jb.items_per_group, 1, attn_work, &jb);
    pc_scratch_put(ctx, slot, jb.scratch);
    if (atomic_load(&jb.bad_thread))
        return pc_fail(ctx, BN_ERR_INTERNAL, "attention: pool thread index beyond n_threads = %d", jb.n_slots);
    return BN_OK;
}
