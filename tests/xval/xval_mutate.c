/* Negative controls: copies of a converted GGUF with one deliberate mistake,
 * made with the GGUF reader and writer (all metadata and tensors copied,
 * the named tensors replaced). */
#include "xval_mutate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bitnet/model.h"

/* Rows of every head of an attention weight reordered as the NORM-RoPE
 * converters do (halves -> interleaved pairs): running the NEOX model on it
 * rotates the wrong pairs, as if the rope style were swapped. Works on any
 * type whose rows are whole byte runs: row bytes = size / rows (I2_S rows of
 * a multiple of 128 weights, TQ blocks per row); I2_S keeps its trailer. */
static int permute_rows(const bn_gguf_tensor *t, int head_dim, unsigned char *dst) {
    int64_t rows = t->ne[1];
    uint64_t data = t->type == BN_TYPE_I2_S ? (uint64_t)(t->n_elems / 4) : t->size;
    if (rows % head_dim || data % (uint64_t)rows)
        return -1;
    uint64_t rb = data / (uint64_t)rows;
    memcpy(dst, t->data, t->size);
    const unsigned char *src = t->data;
    for (int64_t h = 0; h < rows / head_dim; h++)
        for (int i = 0; i < head_dim / 2; i++)
            for (int j = 0; j < 2; j++) {
                int64_t from = h * head_dim + j * head_dim / 2 + i, to = h * head_dim + 2 * i + j;
                memcpy(dst + (uint64_t)to * rb, src + (uint64_t)from * rb, rb);
            }
    return 0;
}

int xv_mutate(const char *in, const char *out, xv_mutation what, char *err, size_t err_len) {
    bn_gguf *g = NULL;
    bn_gguf_writer *w = NULL;
    bn_hparams hp;
    unsigned char **bufs = NULL;
    int rc = -1;
    if (bn_gguf_open(in, &g) || bn_model_read_hparams(in, &hp) || bn_gguf_writer_create(&w)) {
        snprintf(err, err_len, "%s: %s", in, bn_last_error());
        goto done;
    }
    uint64_t nt = bn_gguf_tensor_count(g);
    bufs = calloc(nt, sizeof *bufs);
    for (uint64_t i = 0; i < bn_gguf_kv_count(g); i++)
        if (bn_gguf_writer_set_value(w, bn_gguf_kv_key(g, i), bn_gguf_kv_value(g, i))) {
            snprintf(err, err_len, "copy key: %s", bn_last_error());
            goto done;
        }
    int changed = 0;
    char key[128];
    const char *arch = NULL;
    if (what == XV_ROPE_BASE || what == XV_NORM_EPS) { /* a hyperparameter, not a tensor */
        bn_gguf_get_str(g, "general.architecture", &arch, NULL);
        float v = 0;
        snprintf(key, sizeof key, "%s.%s", arch ? arch : "?",
                 what == XV_ROPE_BASE ? "rope.freq_base" : "attention.layer_norm_rms_epsilon");
        if (!arch || bn_gguf_get_f32(g, key, &v) || bn_gguf_writer_set_f32(w, key, what == XV_ROPE_BASE ?
                                                                          (v == 10000.0f ? 500000.0f : 10000.0f) : v / 10)) {
            snprintf(err, err_len, "%s: cannot change %s", in, key);
            goto done;
        }
        changed++;
    }
    for (uint64_t i = 0; i < nt; i++) {
        const bn_gguf_tensor *t = bn_gguf_tensor_at(g, i);
        const void *data = t->data;
        const char *dot = strchr(t->name, '.');
        const char *suffix = !strncmp(t->name, "blk.", 4) && dot ? strchr(dot + 1, '.') : NULL;
        if (what == XV_ROPE_SWAP && suffix && (!strcmp(suffix, ".attn_q.weight") || !strcmp(suffix, ".attn_k.weight"))) {
            bufs[i] = malloc(t->size);
            if (!bufs[i] || permute_rows(t, hp.head_dim, bufs[i])) {
                snprintf(err, err_len, "%s: rows cannot be permuted", t->name);
                goto done;
            }
            data = bufs[i];
            changed++;
        } else if ((what == XV_ATTN_SUB_NORM_FROM_ATTN_NORM && suffix && !strcmp(suffix, ".attn_sub_norm.weight")) ||
                   (what == XV_SUB_NORM_OTHER_LAYER && !strcmp(t->name, "blk.0.attn_sub_norm.weight"))) {
            char name[128];
            if (what == XV_SUB_NORM_OTHER_LAYER)
                snprintf(name, sizeof name, "blk.1.attn_sub_norm.weight");
            else
                snprintf(name, sizeof name, "%.*s.attn_norm.weight", (int)(suffix - t->name), t->name);
            const bn_gguf_tensor *src = bn_gguf_find_tensor(g, name);
            if (!src || src->size != t->size || src->type != t->type) {
                snprintf(err, err_len, "%s: no matching %s", t->name, name);
                goto done;
            }
            data = src->data;
            changed++;
        } else if ((what == XV_FFN_SUB_NORM_ONES && suffix && !strcmp(suffix, ".ffn_sub_norm.weight")) ||
                   (what == XV_OUTPUT_NORM_1PCT && !strcmp(t->name, "output_norm.weight"))) {
            if (t->type != BN_TYPE_F32) {
                snprintf(err, err_len, "%s: expected F32", t->name);
                goto done;
            }
            float *f = malloc(t->size);
            bufs[i] = (unsigned char *)f;
            for (int64_t k = 0; f && k < t->n_elems; k++)
                f[k] = what == XV_OUTPUT_NORM_1PCT ? ((const float *)t->data)[k] * 1.01f : 1.0f;
            data = f;
            changed++;
        }
        if (!data || bn_gguf_writer_add_tensor(w, t->name, t->ggml_type, t->n_dims, t->ne, data, t->size)) {
            snprintf(err, err_len, "add %s: %s", t->name, bn_last_error());
            goto done;
        }
    }
    if (!changed) {
        snprintf(err, err_len, "%s: nothing to change", in);
        goto done;
    }
    if (bn_gguf_writer_write(w, out)) {
        snprintf(err, err_len, "write %s: %s", out, bn_last_error());
        goto done;
    }
    rc = 0;
done:
    for (uint64_t i = 0; bufs && i < bn_gguf_tensor_count(g); i++)
        free(bufs[i]);
    free(bufs);
    bn_gguf_writer_free(w);
    bn_gguf_close(g);
    return rc;
}
