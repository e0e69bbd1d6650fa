/* Loading a model: validate the file, plan memory, hand every weight to the
 * backend's weight_prepare, and upload the norm vectors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "convert/convert_internal.h"
#include "model_internal.h"
#include "util/half.h"

void bn_model_opts_init(bn_model_opts *o) {
    memset(o, 0, sizeof *o);
    o->n_batch = 256;
    o->kernel = BN_KERNEL_AUTO;
    o->kv_type = BN_TYPE_F16;
    o->lm_head_type = -1;
}

static bn_status backend_error(const bn_model *m, bn_status st, const char *what) {
    const char *e = m->be->last_error ? m->be->last_error(m->ctx) : "";
    return bn_fail(st, "%s: %s%s%s", what, bn_status_str(st), e && e[0] ? ": " : "", e ? e : "");
}

/* The backend copied the tensor into its own layout: drop the file pages
 * it came from so resident memory holds the weights once, not twice. The
 * mapping stays valid (pages come back from the file if touched). */
static void release_pages(const void *data, uint64_t size) {
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = ((uintptr_t)data + page - 1) & ~(page - 1), hi = ((uintptr_t)data + size) & ~(page - 1);
    if (hi > lo)
        madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

/* The backend must store F32 rows into the cache type and attend over it
 * (Q8_0 is not in every plugin). */
static bn_status check_kv_support(const bn_model *m) {
    int32_t kt = m->plan.kv_type;
    bn_op_desc store = {.op = BN_OP_COPY, .wtype = -1, .xtype = BN_TYPE_F32, .ytype = kt, .kernel = 0};
    bn_op_desc cow = {.op = BN_OP_COPY, .wtype = -1, .xtype = kt, .ytype = kt, .kernel = 0}; /* pages */
    bn_op_desc attn = {.op = BN_OP_ATTENTION, .wtype = kt, .xtype = BN_TYPE_F32, .ytype = BN_TYPE_F32, .kernel = 0};
    if (m->be->supports && (!m->be->supports(m->ctx, &store) || !m->be->supports(m->ctx, &cow) ||
                            !m->be->supports(m->ctx, &attn)))
        return bn_fail(BN_ERR_UNSUPPORTED, "backend '%s' has no %s KV cache; use --kv-type f16%s", m->be->info.name,
                       bn_type_name(kt), kt == BN_TYPE_Q8_0 ? " or a backend that has one (--backend cpu-avx2)" : "");
    return BN_OK;
}

static bn_status load_matrix(bn_model *m, const char *name, int64_t rows, int64_t cols, bn_weight **out) {
    const bn_gguf_tensor *t;
    bn_status st = bn_gguf_require_tensor(m->gguf, name, &t);
    if (st != BN_OK)
        return st;
    /* The kernel method is a choice for ternary weights only. */
    int32_t kernel = bn_type_is_ternary(t->type) ? m->opts.kernel : BN_KERNEL_AUTO;
    bn_op_desc need = {.op = BN_OP_MATMUL, .wtype = t->type, .xtype = BN_TYPE_F32, .ytype = BN_TYPE_F32,
                       .kernel = kernel};
    if (m->be->supports && !m->be->supports(m->ctx, &need))
        return bn_fail(BN_ERR_UNSUPPORTED, "backend '%s' cannot multiply %s weights%s (tensor '%s'); try --backend reference%s",
                       m->be->info.name, t->type_name, kernel != BN_KERNEL_AUTO ? " with the chosen --kernel" : "", name,
                       kernel != BN_KERNEL_AUTO ? " or --kernel auto" : "");
    if (t->n_dims != 2 || t->ne[0] != cols || t->ne[1] != rows)
        return bn_fail(BN_ERR_FORMAT, "tensor '%s' has shape [%lld, %lld], the model needs [%lld, %lld]", name,
                       (long long)t->ne[0], (long long)(t->n_dims > 1 ? t->ne[1] : 1), (long long)cols, (long long)rows);
    bn_weight_src src = {.name = name, .type = t->type, .kernel = kernel, .n_rows = rows, .n_cols = cols,
                         .data = t->data, .size = t->size};
    /* A per-tensor scale kept as a separate tensor ("<base>.scale"). */
    if ((st = bn_scale_tensor_find(m->gguf, name, &src.scale, NULL)) != BN_OK)
        return st;
    char what[300];
    snprintf(what, sizeof what, "backend '%s' cannot prepare tensor '%s' (%s)", m->be->info.name, name,
             bn_type_name(t->type));
    st = m->be->weight_prepare(m->ctx, &src, out);
    if (st != BN_OK)
        return backend_error(m, st, what);
    release_pages(t->data, t->size);
    return BN_OK;
}

/* A 1-D float tensor (norm weight) copied to backend memory as F32. */
static bn_status load_vec(bn_model *m, const char *name, int64_t n, int required, bn_vec *v) {
    const bn_gguf_tensor *t = bn_gguf_find_tensor(m->gguf, name);
    if (!t)
        return required ? bn_fail(BN_ERR_FORMAT, "tensor '%s' not found in the model", name) : BN_OK;
    if (t->n_elems != n)
        return bn_fail(BN_ERR_FORMAT, "tensor '%s' has %lld elements, the model needs %lld", name,
                       (long long)t->n_elems, (long long)n);
    if (t->type != BN_TYPE_F32 && t->type != BN_TYPE_F16 && t->type != BN_TYPE_BF16)
        return bn_fail(BN_ERR_FORMAT, "tensor '%s' must be F32, F16 or BF16, not %s", name, t->type_name);
    float *host = malloc((size_t)n * sizeof *host);
    if (!host)
        return bn_fail(BN_ERR_NOMEM, "out of memory loading '%s'", name);
    for (int64_t i = 0; i < n; i++) {
        uint16_t h;
        if (t->type == BN_TYPE_F32) {
            memcpy(&host[i], (const char *)t->data + 4 * i, 4);
            continue;
        }
        memcpy(&h, (const char *)t->data + 2 * i, 2);
        host[i] = t->type == BN_TYPE_F16 ? bn_f16_to_f32(h) : bn_bf16_to_f32(h);
    }
    bn_status st = m->be->buffer_alloc(m->ctx, (size_t)n * 4, &v->buf);
    if (st == BN_OK)
        st = m->be->upload(m->ctx, v->buf, 0, host, (size_t)n * 4);
    free(host);
    if (st != BN_OK)
        return backend_error(m, st, name);
    v->t = bn_view(m->be->buffer_base(m->ctx, v->buf), BN_TYPE_F32, n, 1, 1);
    return BN_OK;
}

static bn_status load_layer(bn_model *m, int il) {
    const bn_hparams *hp = &m->hp;
    bn_layer *L = &m->layers[il];
    int64_t d = hp->n_embd, dkv = (int64_t)hp->n_head_kv * hp->head_dim, ff = hp->n_ff;
    char n[96];
    bn_status st;
#define MAT(field, suffix, rows, cols)                                                                               \
    snprintf(n, sizeof n, "blk.%d." suffix ".weight", il);                                                         \
    if ((st = load_matrix(m, n, rows, cols, &L->field)) != BN_OK)                                                   \
        return st;
#define VEC(field, suffix, len, req)                                                                                 \
    snprintf(n, sizeof n, "blk.%d." suffix ".weight", il);                                                         \
    if ((st = load_vec(m, n, len, req, &L->field)) != BN_OK)                                                        \
        return st;
    MAT(wq, "attn_q", d, d)
    MAT(wk, "attn_k", dkv, d)
    MAT(wv, "attn_v", dkv, d)
    MAT(wo, "attn_output", d, d)
    MAT(w_gate, "ffn_gate", ff, d)
    MAT(w_up, "ffn_up", ff, d)
    MAT(w_down, "ffn_down", d, ff)
    VEC(attn_norm, "attn_norm", d, 1)
    VEC(ffn_norm, "ffn_norm", d, 1)
    VEC(attn_sub_norm, "attn_sub_norm", d, hp->has_sub_norms)
    VEC(ffn_sub_norm, "ffn_sub_norm", ff, hp->has_sub_norms)
#undef MAT
#undef VEC
    return BN_OK;
}

static bn_status check_memory(const bn_mem_plan *p) {
    if (!p->available || p->total <= p->available)
        return BN_OK;
    const double G = 1024.0 * 1024.0 * 1024.0;
    return bn_fail(BN_ERR_NOMEM,
                   "the model needs %.2f GiB (weights %.2f, KV cache %.2f for %d tokens, scratch %.2f) but only %.2f GiB "
                   "is available; use a smaller context (-c) or a smaller model",
                   p->total / G, p->weight_total / G, p->kv_total / G, p->n_ctx, p->scratch_bytes / G,
                   p->available / G);
}

/* A float LM head re-encoded as Q8_0 at load: 2x fewer bytes per token
 * than F16, which decode speed is bound by. Rows are converted in chunks
 * so the float copy never exists whole. Encoders are the reference
 * plugin's, as for the converter. */
static bn_status load_head_q8(bn_model *m, bn_engine *e, const char *name, bn_weight **out) {
    const bn_gguf_tensor *t;
    bn_status st = bn_gguf_require_tensor(m->gguf, name, &t);
    if (st != BN_OK)
        return st;
    if (t->type != BN_TYPE_F16 && t->type != BN_TYPE_F32 && t->type != BN_TYPE_BF16)
        return load_matrix(m, name, m->hp.n_vocab, m->hp.n_embd, out); /* already quantised: keep it */
    bn_encoder enc;
    if ((st = bn_encoder_open(e, &enc)) != BN_OK)
        return st;
    int64_t rows = m->hp.n_vocab, cols = m->hp.n_embd, chunk = 1024;
    uint64_t size = bn_storage_size(BN_TYPE_Q8_0, rows, cols), row_bytes = size / (uint64_t)rows;
    if (!size)
        return bn_fail(BN_ERR_FORMAT, "'%s': rows of %lld cannot be stored as Q8_0", name, (long long)cols);
    unsigned char *q = malloc(size);
    float *f = malloc(sizeof *f * (size_t)(chunk * cols));
    if (!q || !f) {
        free(q);
        free(f);
        return bn_fail(BN_ERR_NOMEM, "out of memory re-encoding '%s'", name);
    }
    const unsigned char *src = t->data;
    int64_t es = t->type == BN_TYPE_F32 ? 4 : 2;
    for (int64_t r0 = 0; r0 < rows && st == BN_OK; r0 += chunk) {
        int64_t n = rows - r0 < chunk ? rows - r0 : chunk;
        for (int64_t i = 0; i < n * cols; i++) {
            const unsigned char *p = src + (r0 * cols + i) * es;
            uint16_t h;
            if (es == 4) {
                memcpy(&f[i], p, 4);
                continue;
            }
            memcpy(&h, p, 2);
            f[i] = t->type == BN_TYPE_F16 ? bn_f16_to_f32(h) : bn_bf16_to_f32(h);
        }
        size_t written = 0;
        st = enc.be->encode(enc.ctx, BN_TYPE_Q8_0, f, n, cols, q + (uint64_t)r0 * row_bytes, (size_t)n * row_bytes,
                            &written);
        if (st != BN_OK)
            bn_fail(st, "re-encoding '%s' as Q8_0 failed", name);
    }
    free(f);
    if (st == BN_OK) {
        bn_weight_src w = {.name = name, .type = BN_TYPE_Q8_0, .kernel = BN_KERNEL_AUTO, .n_rows = rows,
                           .n_cols = cols, .data = q, .size = size, .scale = 1.0f};
        st = m->be->weight_prepare(m->ctx, &w, out);
        if (st != BN_OK)
            backend_error(m, st, "preparing the Q8_0 LM head");
        release_pages(t->data, t->size);
    }
    free(q);
    return st;
}

/* Every slot the forward pass calls must be there: a plugin that lacks one
 * is refused by name instead of crashing on a NULL slot mid-generation. */
static bn_status check_slots(const bn_backend *be) {
#define NEED(slot)                                                                                                   \
    if (!BN_BACKEND_SLOT(be, slot))                                                                                 \
        return bn_fail(BN_ERR_UNSUPPORTED, "backend '%s' lacks the '%s' operation the model needs", be->info.name, #slot);
    NEED(buffer_alloc) NEED(buffer_free) NEED(buffer_base) NEED(upload) NEED(download) NEED(weight_prepare)
    NEED(weight_free) NEED(matmul) NEED(get_rows) NEED(rms_norm) NEED(rope) NEED(attention) NEED(ffn_act) NEED(add)
    NEED(copy)
#undef NEED
    return BN_OK;
}

bn_status bn_model_load(bn_engine *e, const char *path, const bn_model_opts *opts, bn_model **out) {
    *out = NULL;
    const bn_backend *be = bn_engine_backend(e);
    if (!be)
        return bn_fail(BN_ERR_INVALID, "the engine has no backend");
    bn_status cs = check_slots(be);
    if (cs != BN_OK)
        return cs;
    bn_model *m = calloc(1, sizeof *m);
    if (!m)
        return bn_fail(BN_ERR_NOMEM, "out of memory");
    if (opts)
        m->opts = *opts;
    else
        bn_model_opts_init(&m->opts);
    m->be = be;
    m->ctx = bn_engine_backend_ctx(e);
    bn_status st = bn_gguf_open(path, &m->gguf);
    if (st == BN_OK)
        st = bn_hparams_from_gguf(m->gguf, &m->hp);
    if (st == BN_OK)
        st = bn_plan_from_gguf(m->gguf, &m->hp, &m->opts, &m->plan);
    if (st == BN_OK && !m->opts.no_mem_check)
        st = check_memory(&m->plan);
    if (st == BN_OK)
        st = check_kv_support(m);
    if (st != BN_OK)
        goto fail;
    const bn_gguf_tensor *emb;
    if ((st = bn_gguf_require_tensor(m->gguf, "token_embd.weight", &emb)) != BN_OK)
        goto fail;
    if (emb->n_dims != 2 || emb->ne[0] != m->hp.n_embd || emb->ne[1] < 1 || emb->ne[1] > (1 << 24)) {
        st = bn_fail(BN_ERR_FORMAT, "tensor 'token_embd.weight' must be [%d, n_vocab]", m->hp.n_embd);
        goto fail;
    }
    m->hp.n_vocab = (int32_t)emb->ne[1];
    m->hp.tied_embeddings = !bn_gguf_find_tensor(m->gguf, "output.weight");
    int q8_head = m->opts.lm_head_type == BN_TYPE_Q8_0;
    if (m->opts.lm_head_type != -1 && !q8_head) {
        st = bn_fail(BN_ERR_INVALID, "the LM head can be re-encoded as Q8_0 only");
        goto fail;
    }
    /* A tied, re-encoded head serves both the lookup and the LM head. */
    st = q8_head && m->hp.tied_embeddings ? load_head_q8(m, e, "token_embd.weight", &m->tok_embd)
                                          : load_matrix(m, "token_embd.weight", m->hp.n_vocab, m->hp.n_embd, &m->tok_embd);
    if (st != BN_OK)
        goto fail;
    if (!m->hp.tied_embeddings &&
        (st = q8_head ? load_head_q8(m, e, "output.weight", &m->output)
                      : load_matrix(m, "output.weight", m->hp.n_vocab, m->hp.n_embd, &m->output)) != BN_OK)
        goto fail;
    if ((st = load_vec(m, "output_norm.weight", m->hp.n_embd, 1, &m->output_norm)) != BN_OK)
        goto fail;
    m->layers = calloc((size_t)m->hp.n_layer, sizeof *m->layers);
    if (!m->layers) {
        st = bn_fail(BN_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (int il = 0; il < m->hp.n_layer; il++)
        if ((st = load_layer(m, il)) != BN_OK)
            goto fail;
    *out = m;
    return BN_OK;
fail:
    bn_model_free(m);
    return st;
}

static void free_vec(bn_model *m, bn_vec *v) {
    if (v->buf)
        m->be->buffer_free(m->ctx, v->buf);
}

void bn_model_free(bn_model *m) {
    if (!m)
        return;
    for (int il = 0; m->layers && il < m->hp.n_layer; il++) {
        bn_layer *L = &m->layers[il];
        bn_weight *w[7] = {L->wq, L->wk, L->wv, L->wo, L->w_gate, L->w_up, L->w_down};
        for (int k = 0; k < 7; k++)
            if (w[k])
                m->be->weight_free(m->ctx, w[k]);
        free_vec(m, &L->attn_norm);
        free_vec(m, &L->ffn_norm);
        free_vec(m, &L->attn_sub_norm);
        free_vec(m, &L->ffn_sub_norm);
    }
    free(m->layers);
    if (m->tok_embd)
        m->be->weight_free(m->ctx, m->tok_embd);
    if (m->output)
        m->be->weight_free(m->ctx, m->output);
    free_vec(m, &m->output_norm);
    bn_gguf_close(m->gguf);
    free(m);
}

const bn_hparams *bn_model_hparams(const bn_model *m) { return &m->hp; }
const bn_mem_plan *bn_model_mem_plan(const bn_model *m) { return &m->plan; }
const char *bn_model_backend_name(const bn_model *m) { return m->be->info.name; }
const struct bn_gguf *bn_model_gguf(const bn_model *m) { return m->gguf; }
