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

/* A ternary linear layer. With `separate_scale` (TQ1_0/TQ2_0 only) the
 * blocks get d = 1 and *scale the exact float32 per-tensor scale, to be
 * stored as "<base>.scale"; otherwise *scale = 1. f is overwritten. */
bn_status bn_encode_ternary(const bn_encoder *enc, int32_t type, int separate_scale, float *f, int64_t rows,
                            int64_t cols, void **out, uint64_t *size, float *scale);

/* Whether o asks for a separate "<base>.scale" tensor with `type`. */
int bn_wants_scale_tensor(const bn_convert_opts *o, int32_t type);

/* The separate per-tensor scale of tensor `name` in g: "<name>.scale", or
 * the name with ".weight" replaced by ".scale". *scale = 1 and *found =
 * NULL when there is none; an unusable one is an error. */
bn_status bn_scale_tensor_find(const bn_gguf *g, const char *name, float *scale, const bn_gguf_tensor **found);

/* Name of the scale tensor written for weight `name`: "<base>.scale". */
void bn_scale_tensor_name(const char *name, char *out, size_t len);

#endif
