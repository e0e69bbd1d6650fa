/* config.json of a Hugging Face checkpoint -> the hyperparameters a GGUF
 * model needs, with the architecture decided from what the config says. */
#include <cjson/cJSON.h>
#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert_internal.h"

static char *read_text(const char *path, size_t max) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(max + 1);
    size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
    fclose(f);
    if (!buf || n > max) {
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    return buf;
}

static int get_int(const cJSON *root, const char *key, int32_t *out, int required, const char *path) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!v || cJSON_IsNull(v)) {
        if (required)
            bn_fail(BN_ERR_FORMAT, "%s: '%s' is missing", path, key);
        return !required;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > (1 << 30) ||
        v->valuedouble != (double)(int64_t)v->valuedouble) {
        bn_fail(BN_ERR_FORMAT, "%s: '%s' must be a positive integer", path, key);
        return 0;
    }
    *out = (int32_t)v->valuedouble;
    return 1;
}

static int get_float(const cJSON *root, const char *key, float *out, const char *path) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!v || cJSON_IsNull(v))
        return 1;
    /* checked as the float it becomes: 1e-300 would be 0, 1e300 infinity */
    if (!cJSON_IsNumber(v) || !(v->valuedouble > 0) || !(v->valuedouble <= FLT_MAX) ||
        !((float)v->valuedouble > 0)) {
        bn_fail(BN_ERR_FORMAT, "%s: '%s' must be a positive number", path, key);
        return 0;
    }
    *out = (float)v->valuedouble;
    return 1;
}

bn_status bn_hf_config_read(const char *dir, bn_hf_config *c) {
    memset(c, 0, sizeof *c);
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", dir);
    char *text = read_text(path, 1 << 20);
    if (!text)
        return bn_fail(BN_ERR_NOT_FOUND, "%s: cannot be read (is '%s' a Hugging Face checkpoint folder?)", path, dir);
    cJSON *root = cJSON_Parse(text);
    free(text);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return bn_fail(BN_ERR_FORMAT, "%s: not a JSON object", path);
    }
    bn_status st = BN_OK;
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(root, "model_type"),
                *act = cJSON_GetObjectItemCaseSensitive(root, "hidden_act"),
                *tie = cJSON_GetObjectItemCaseSensitive(root, "tie_word_embeddings");
    snprintf(c->model_type, sizeof c->model_type, "%s", cJSON_IsString(mt) ? mt->valuestring : "");
    snprintf(c->hidden_act, sizeof c->hidden_act, "%s", cJSON_IsString(act) ? act->valuestring : "silu");
    c->tie_embeddings = cJSON_IsBool(tie) ? cJSON_IsTrue(tie) : 1;
    c->rope_theta = 10000.0f;
    c->rms_eps = 1e-6f;
    if (!get_int(root, "hidden_size", &c->n_embd, 1, path) || !get_int(root, "intermediate_size", &c->n_ff, 1, path) ||
        !get_int(root, "num_hidden_layers", &c->n_layer, 1, path) ||
        !get_int(root, "num_attention_heads", &c->n_head, 1, path) ||
        !get_int(root, "vocab_size", &c->n_vocab, 1, path) ||
        !get_int(root, "max_position_embeddings", &c->n_ctx, 1, path) ||
        !get_float(root, "rope_theta", &c->rope_theta, path) || !get_float(root, "rms_norm_eps", &c->rms_eps, path))
        st = BN_ERR_FORMAT;
    c->n_head_kv = c->n_head;
    if (st == BN_OK && !get_int(root, "num_key_value_heads", &c->n_head_kv, 0, path))
        st = BN_ERR_FORMAT;
    /* transformers >= 5 writes the RoPE settings as "rope_parameters":
     * {"rope_type": "default", "rope_theta": ...} and no top-level rope_theta. */
    const cJSON *rp = cJSON_GetObjectItemCaseSensitive(root, "rope_parameters");
    if (st == BN_OK && cJSON_IsObject(rp)) {
        const cJSON *rt = cJSON_GetObjectItemCaseSensitive(rp, "rope_type");
        if (cJSON_IsString(rt) && strcmp(rt->valuestring, "default"))
            st = bn_fail(BN_ERR_UNSUPPORTED, "%s: rope_type '%s' is not supported by the converter", path,
                         rt->valuestring);
        else if (!get_float(rp, "rope_theta", &c->rope_theta, path))
            st = BN_ERR_FORMAT;
    }
    const cJSON *qc = cJSON_GetObjectItemCaseSensitive(root, "quantization_config");
    const cJSON *lc = cJSON_IsObject(qc) ? cJSON_GetObjectItemCaseSensitive(qc, "linear_class") : NULL;
    c->scale_multiplies = cJSON_IsString(lc) && !strcmp(lc->valuestring, "autobitlinear");
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(root, "rope_scaling");
    if (st == BN_OK && rs && !cJSON_IsNull(rs))
        st = bn_fail(BN_ERR_UNSUPPORTED, "%s: rope_scaling is not supported by the converter", path);
    cJSON_Delete(root);
    if (st != BN_OK)
        return st;
    if (c->n_embd % c->n_head || c->n_head % c->n_head_kv)
        return bn_fail(BN_ERR_FORMAT, "%s: hidden_size %d / %d heads / %d KV heads do not divide", path, c->n_embd,
                       c->n_head, c->n_head_kv);
    /* Which engine architecture: relu2 is BitNet b1.58 2B-4T; SiLU models
     * are the 1bitLLM "bitnet" family when they have sub-norms (decided by
     * the caller from the tensors), else plain llama. */
    if (!strcmp(c->hidden_act, "relu2"))
        snprintf(c->arch, sizeof c->arch, "bitnet-b1.58");
    else if (!strcmp(c->hidden_act, "silu"))
        snprintf(c->arch, sizeof c->arch, "%s", !strcmp(c->model_type, "llama") ? "llama" : "bitnet");
    else
        return bn_fail(BN_ERR_UNSUPPORTED, "%s: hidden_act '%s' is not supported (relu2 or silu)", path, c->hidden_act);
    return BN_OK;
}
