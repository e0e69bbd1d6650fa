/* Architecture table and hyperparameters from GGUF metadata. Nothing about
 * a model's shape is hard-coded: every number comes from the file. */
#include <stdio.h>
#include <string.h>

#include "bitnet/gguf.h"
#include "model_internal.h"

typedef struct arch_desc {
    const char *name;   /* general.architecture */
    const char *prefix; /* key prefix of its hyperparameters */
    int32_t arch, act, rope_style, sub_norms;
} arch_desc;

/* RoPE style: an architecture means what the engine that defined it does.
 * bitnet-b1.58 / bitnet-25 (bitnet.cpp) and bitnet (llama.cpp: NEOX in
 * llama_model_rope_type) keep Q/K in Hugging Face order, so the rotation
 * pairs are the two halves (NEOX). llama (llama.cpp's converter permutes the
 * Q/K rows so that adjacent pairs rotate) is NORM. tests/interop checks each
 * against files written by those engines' own converters. */
static const arch_desc arches[] = {
    {"bitnet-b1.58", "bitnet-b1.58", BN_ARCH_BITNET_B158, BN_ACT_RELU2, BN_ROPE_NEOX, 1},
    {"bitnet-25", "bitnet-25", BN_ARCH_BITNET_B158, BN_ACT_RELU2, BN_ROPE_NEOX, 1},
    {"bitnet", "bitnet", BN_ARCH_BITNET, BN_ACT_SILU, BN_ROPE_NEOX, 1},
    {"llama", "llama", BN_ARCH_LLAMA, BN_ACT_SILU, BN_ROPE_NORM, 0},
};

static bn_status get_u32_key(const bn_gguf *g, const char *prefix, const char *suffix, int32_t *out, int required) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", prefix, suffix);
    if (!bn_gguf_find(g, key)) {
        if (required)
            return bn_fail(BN_ERR_FORMAT, "model metadata lacks '%s'", key);
        return BN_OK;
    }
    uint32_t v;
    bn_status st = bn_gguf_get_u32(g, key, &v);
    if (st != BN_OK)
        return st;
    if (v > (1u << 30))
        return bn_fail(BN_ERR_FORMAT, "'%s' = %u is absurd", key, v);
    *out = (int32_t)v;
    return BN_OK;
}

static bn_status get_f32_key(const bn_gguf *g, const char *prefix, const char *suffix, float *out) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", prefix, suffix);
    if (!bn_gguf_find(g, key))
        return BN_OK;
    return bn_gguf_get_f32(g, key, out);
}

bn_status bn_hparams_from_gguf(const bn_gguf *g, bn_hparams *hp) {
    memset(hp, 0, sizeof *hp);
    const char *name;
    if (!bn_gguf_find(g, "general.architecture"))
        return bn_fail(BN_ERR_FORMAT, "not a model file: metadata lacks 'general.architecture'");
    bn_status st = bn_gguf_get_str(g, "general.architecture", &name, NULL);
    if (st != BN_OK)
        return st;
    const arch_desc *a = NULL;
    for (size_t i = 0; i < sizeof arches / sizeof arches[0]; i++)
        if (!strcmp(arches[i].name, name))
            a = &arches[i];
    if (!a)
        return bn_fail(BN_ERR_UNSUPPORTED,
                       "architecture '%s' is not supported (supported: bitnet-b1.58, bitnet-25, bitnet, llama)", name);
    snprintf(hp->arch_name, sizeof hp->arch_name, "%s", name);
    hp->arch = a->arch;
    hp->act = a->act;
    hp->rope_style = a->rope_style;
    hp->has_sub_norms = a->sub_norms;
    hp->rope_freq_base = 10000.0f;
    hp->rope_freq_scale = 1.0f;
    hp->norm_eps = 1e-5f;
    const char *p = a->prefix;
    if ((st = get_u32_key(g, p, "block_count", &hp->n_layer, 1)) || (st = get_u32_key(g, p, "embedding_length", &hp->n_embd, 1)) ||
        (st = get_u32_key(g, p, "feed_forward_length", &hp->n_ff, 1)) ||
        (st = get_u32_key(g, p, "attention.head_count", &hp->n_head, 1)) ||
        (st = get_u32_key(g, p, "context_length", &hp->n_ctx_train, 1)))
        return st;
    hp->n_head_kv = hp->n_head;
    if ((st = get_u32_key(g, p, "attention.head_count_kv", &hp->n_head_kv, 0)) ||
        (st = get_f32_key(g, p, "attention.layer_norm_rms_epsilon", &hp->norm_eps)) ||
        (st = get_f32_key(g, p, "rope.freq_base", &hp->rope_freq_base)))
        return st;
    char key[128];
    snprintf(key, sizeof key, "%s.rope.scaling.type", p);
    if (bn_gguf_find(g, key)) {
        const char *type;
        if ((st = bn_gguf_get_str(g, key, &type, NULL)))
            return st;
        if (strcmp(type, "none") && strcmp(type, "linear"))
            return bn_fail(BN_ERR_UNSUPPORTED, "'%s' = '%s': only linear RoPE scaling is supported", key, type);
        float factor = 1.0f;
        if ((st = get_f32_key(g, p, "rope.scaling.factor", &factor)))
            return st;
        if (!strcmp(type, "linear") && factor > 0)
            hp->rope_freq_scale = 1.0f / factor;
    }
    if (hp->n_layer < 1 || hp->n_embd < 1 || hp->n_ff < 1 || hp->n_head < 1 || hp->n_head_kv < 1)
        return bn_fail(BN_ERR_FORMAT, "model hyperparameters must be positive (layers %d, embd %d, ff %d, heads %d/%d)",
                       hp->n_layer, hp->n_embd, hp->n_ff, hp->n_head, hp->n_head_kv);
    if (hp->n_embd % hp->n_head || hp->n_head % hp->n_head_kv)
        return bn_fail(BN_ERR_FORMAT, "embedding %d not divisible by %d heads, or heads not a multiple of %d KV heads",
                       hp->n_embd, hp->n_head, hp->n_head_kv);
    hp->head_dim = hp->n_embd / hp->n_head;
    snprintf(key, sizeof key, "%s.attention.key_length", p);
    if (bn_gguf_find(g, key)) {
        int32_t kl = 0;
        if ((st = get_u32_key(g, p, "attention.key_length", &kl, 1)))
            return st;
        if (kl != hp->head_dim)
            return bn_fail(BN_ERR_UNSUPPORTED, "'%s' = %d differs from embedding/heads = %d", key, kl, hp->head_dim);
    }
    hp->n_rot = hp->head_dim;
    if ((st = get_u32_key(g, p, "rope.dimension_count", &hp->n_rot, 0)))
        return st;
    if (hp->n_rot < 2 || hp->n_rot > hp->head_dim || hp->n_rot % 2)
        return bn_fail(BN_ERR_FORMAT, "rope.dimension_count %d must be even and at most head dim %d", hp->n_rot,
                       hp->head_dim);
    if (!(hp->norm_eps > 0 && hp->norm_eps < 1) || !(hp->rope_freq_base > 0))
        return bn_fail(BN_ERR_FORMAT, "bad norm epsilon %g or RoPE base %g", (double)hp->norm_eps,
                       (double)hp->rope_freq_base);
    if (hp->n_ctx_train < 1)
        return bn_fail(BN_ERR_FORMAT, "%s.context_length must be positive", p);
    return BN_OK;
}
