/* Converter internals. */
#ifndef BITNET_CONVERT_INTERNAL_H
#define BITNET_CONVERT_INTERNAL_H

#include "bitnet/convert.h"
#include "bitnet/gguf.h"
#include "internal.h"
#include "safetensors.h"

typedef struct bn_hf_config {
    char model_type[32], hidden_act[16], arch[32];
    int32_t n_embd, n_ff, n_layer, n_head, n_head_kv, n_vocab, n_ctx;
    float rope_theta, rms_eps;
    int tie_embeddings;
    /* Packed ternary weights: transformers' BitLinear ("bitlinear", the
     * default) computes code / weight_scale, AutoBitLinear offline
     * ("autobitlinear") code * weight_scale. */
    int scale_multiplies;
} bn_hf_config;

bn_status bn_hf_config_read(const char *dir, bn_hf_config *c);

/* Encode n_rows x n_cols floats into `type` with the reference plugin. */
typedef struct bn_encoder {
    const bn_backend *be;
    bn_backend_ctx *ctx;
} bn_encoder;

bn_status bn_encoder_open(bn_engine *e, bn_encoder *enc);
bn_status bn_encode(const bn_encoder *enc, int32_t type, const float *src, int64_t rows, int64_t cols, void **out,
                    uint64_t *size);

#endif
