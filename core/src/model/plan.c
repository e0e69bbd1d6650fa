/* Memory plan: what weights, KV cache and scratch will take, computed from
 * the file before anything big is allocated, so an impossible load is
 * refused with numbers instead of being killed by the OS later. */
#include <stdio.h>
#include <string.h>

#include "model_internal.h"

/* Scratch floats for one batch of n tokens: residual, normed input, q, k,
 * v, attention out, gate, up, and the logits of one token per row. */
static uint64_t scratch_floats(const bn_hparams *hp, int64_t n, int64_t n_vocab) {
    int64_t d = hp->n_embd, dkv = (int64_t)hp->n_head_kv * hp->head_dim;
    return (uint64_t)(n * (4 * d + 2 * dkv + 2 * (int64_t)hp->n_ff + 2) + n * n_vocab);
}

bn_status bn_plan_from_gguf(const bn_gguf *g, const bn_hparams *hp, const bn_model_opts *opts, bn_mem_plan *plan) {
    memset(plan, 0, sizeof *plan);
    plan->n_ctx = opts->n_ctx > 0 ? opts->n_ctx : hp->n_ctx_train;
    plan->n_batch = opts->n_batch > 0 ? opts->n_batch : 256;
    if (plan->n_batch > 4096)
        plan->n_batch = 4096;
    if (plan->n_batch > plan->n_ctx)
        plan->n_batch = plan->n_ctx;
    plan->kv_type = opts->kv_type;
    if (plan->kv_type != BN_TYPE_F16 && plan->kv_type != BN_TYPE_F32 && plan->kv_type != BN_TYPE_Q8_0)
        return bn_fail(BN_ERR_INVALID, "KV cache type must be F16, F32 or Q8_0");
    if (plan->kv_type == BN_TYPE_Q8_0 && hp->head_dim % 32)
        return bn_fail(BN_ERR_UNSUPPORTED, "a Q8_0 KV cache needs head_dim a multiple of 32 (this model: %d)",
                       hp->head_dim);
    if (plan->n_ctx < 1 || plan->n_ctx > (1 << 24))
        return bn_fail(BN_ERR_INVALID, "context length %d out of range (1 .. 16M)", plan->n_ctx);
    for (uint64_t i = 0; i < bn_gguf_tensor_count(g); i++) {
        const bn_gguf_tensor *t = bn_gguf_tensor_at(g, i);
        int idx = t->type >= 0 && t->type < 64 ? t->type : 63;
        plan->weight_bytes[idx] += t->size;
        plan->weight_total += t->size;
    }
    const bn_gguf_tensor *emb = bn_gguf_find_tensor(g, "token_embd.weight");
    int64_t n_vocab = emb && emb->n_dims == 2 ? emb->ne[1] : 0;
    plan->kv_bytes_per_token =
        (uint64_t)hp->n_layer * 2 * (uint64_t)hp->n_head_kv * bn_kv_row_bytes(plan->kv_type, hp->head_dim);
    plan->kv_total = plan->kv_bytes_per_token * (uint64_t)plan->n_ctx;
    plan->scratch_bytes = 4 * scratch_floats(hp, plan->n_batch, n_vocab) + 64 * 16; /* + view alignment */
    plan->total = plan->weight_total + plan->kv_total + plan->scratch_bytes;
    bn_hw_info hw;
    if (bn_hw_probe(&hw) == BN_OK)
        plan->available = hw.mem_available_bytes;
    return BN_OK;
}

bn_status bn_model_plan(const char *path, const bn_model_opts *opts, bn_mem_plan *plan) {
    bn_model_opts def;
    if (!opts) {
        bn_model_opts_init(&def);
        opts = &def;
    }
    bn_gguf *g;
    bn_status st = bn_gguf_open(path, &g);
    if (st != BN_OK)
        return st;
    bn_hparams hp;
    st = bn_hparams_from_gguf(g, &hp);
    if (st == BN_OK)
        st = bn_plan_from_gguf(g, &hp, opts, plan);
    bn_gguf_close(g);
    return st;
}

bn_status bn_model_read_hparams(const char *path, bn_hparams *hp) {
    bn_gguf *g;
    bn_status st = bn_gguf_open(path, &g);
    if (st != BN_OK)
        return st;
    st = bn_hparams_from_gguf(g, hp);
    if (st == BN_OK) {
        const bn_gguf_tensor *emb = bn_gguf_find_tensor(g, "token_embd.weight");
        hp->n_vocab = emb && emb->n_dims == 2 ? (int32_t)emb->ne[1] : 0;
        hp->tied_embeddings = !bn_gguf_find_tensor(g, "output.weight");
    }
    bn_gguf_close(g);
    return st;
}
