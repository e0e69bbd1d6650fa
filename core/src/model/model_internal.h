/* Model internals shared by loading, planning and the forward pass. */
#ifndef BITNET_MODEL_INTERNAL_H
#define BITNET_MODEL_INTERNAL_H

#include "bitnet/gguf.h"
#include "bitnet/model.h"
#include "internal.h"

/* A float vector (norm weights) held in backend memory. */
typedef struct bn_vec {
    bn_buffer *buf;
    bn_tensor t;
} bn_vec;

typedef struct bn_layer {
    bn_weight *wq, *wk, *wv, *wo, *w_gate, *w_up, *w_down;
    bn_vec attn_norm, ffn_norm, attn_sub_norm, ffn_sub_norm;
} bn_layer;

struct bn_model {
    bn_hparams hp;
    bn_mem_plan plan;
    bn_model_opts opts;
    bn_gguf *gguf;
    const bn_backend *be;
    bn_backend_ctx *ctx;
    bn_weight *tok_embd, *output; /* output == tok_embd's source when tied */
    bn_vec output_norm;
    bn_layer *layers;
};

bn_status bn_hparams_from_gguf(const bn_gguf *g, bn_hparams *hp);
bn_status bn_plan_from_gguf(const bn_gguf *g, const bn_hparams *hp, const bn_model_opts *opts, bn_mem_plan *plan);

/* Contiguous tensor view at `data` with up to three dims. */
static inline bn_tensor bn_view(void *data, int32_t type, int64_t ne0, int64_t ne1, int64_t ne2) {
    int64_t es = type == BN_TYPE_F32 || type == BN_TYPE_I32 ? 4 : type == BN_TYPE_I8 ? 1 : 2;
    bn_tensor t = {.data = data, .type = type, .ne = {ne0, ne1, ne2, 1}};
    t.nb[0] = es;
    t.nb[1] = es * ne0;
    t.nb[2] = t.nb[1] * ne1;
    t.nb[3] = t.nb[2] * ne2;
    return t;
}

/* Bytes of one cached K or V row (one token, one kv head) of head_dim
 * elements in the cache type: F32, F16, or Q8_0 (32-element blocks of 34
 * bytes; head_dim a multiple of 32, checked by the plan). */
static inline uint64_t bn_kv_row_bytes(int32_t kv_type, int64_t head_dim) {
    if (kv_type == BN_TYPE_Q8_0)
        return (uint64_t)head_dim / 32 * 34;
    return (uint64_t)head_dim * (kv_type == BN_TYPE_F32 ? 4u : 2u);
}

#endif
