/* GGUF -> GGUF between ternary formats. Each ternary tensor is decoded by
 * the reference plugin (its "<base>.scale" tensor applied) and encoded
 * again; the encoder keeps already-ternary input exactly (codes and scale).
 * TQ1_0/TQ2_0 get d = 1 and the exact scale in a new "<base>.scale"
 * tensor (the input's is dropped, not duplicated), so I2_S <-> TQ1_0 <->
 * TQ2_0 round trips keep every byte of the codes and scale; with
 * tq_scale_in_blocks the scale is rounded to the fp16 block d instead. A
 * tensor whose per-block d differ has no single scale and is re-ternarised.
 * Other tensors and all metadata are copied unchanged. */
#include <stdlib.h>
#include <string.h>

#include "convert_internal.h"

typedef struct rq_job {
    const bn_gguf_tensor *t;
    int32_t type;
    uint64_t size;
    const bn_encoder *enc;
    unsigned char *cache;
    const bn_convert_opts *o;
    float in_scale;  /* the input's separate scale, 1 if none */
    float out_scale; /* the scale to write apart, once encoded */
    int encoded;
    int *done, total;
} rq_job;

static bn_status decode_f32(const bn_encoder *enc, const bn_gguf_tensor *t, float scale, float *out) {
    bn_weight_src src = {.name = t->name, .type = t->type, .n_rows = t->ne[1], .n_cols = t->ne[0], .data = t->data,
                         .size = t->size, .scale = scale};
    bn_weight *w = NULL;
    bn_buffer *buf = NULL;
    const bn_backend *be = enc->be;
    bn_status st = be->weight_prepare(enc->ctx, &src, &w);
    size_t bytes = (size_t)t->n_elems * 4;
    if (st == BN_OK)
        st = be->buffer_alloc(enc->ctx, bytes, &buf);
    if (st == BN_OK) {
        bn_tensor dst = {.data = be->buffer_base(enc->ctx, buf), .type = BN_TYPE_F32,
                         .ne = {t->ne[0], t->ne[1], 1, 1}, .nb = {4, 4 * t->ne[0], bytes, bytes}};
        st = be->dequantize(enc->ctx, w, 0, &dst);
        if (st == BN_OK)
            st = be->download(enc->ctx, buf, 0, out, bytes);
    }
    if (st != BN_OK)
        bn_fail(st, "decoding '%s': %s", t->name, be->last_error ? be->last_error(enc->ctx) : "");
    if (buf)
        be->buffer_free(enc->ctx, buf);
    if (w)
        be->weight_free(enc->ctx, w);
    return st;
}

static bn_status encode_job(rq_job *j) {
    float *f = malloc((size_t)j->t->n_elems * sizeof *f);
    if (!f)
        return bn_fail(BN_ERR_NOMEM, "out of memory");
    void *enc = NULL;
    uint64_t size = 0;
    bn_status st = decode_f32(j->enc, j->t, j->in_scale, f);
    if (st == BN_OK)
        st = bn_encode_ternary(j->enc, j->type, bn_wants_scale_tensor(j->o, j->type), f, j->t->ne[1], j->t->ne[0],
                               &enc, &size, &j->out_scale);
    free(f);
    if (st != BN_OK)
        return bn_fail(st, "tensor '%s': %s", j->t->name, bn_last_error());
    j->cache = enc;
    j->encoded = 1;
    return BN_OK;
}

static bn_status rq_fill(void *arg, uint64_t offset, void *buf, size_t n) {
    rq_job *j = arg;
    if (!j->cache) {
        bn_status st = encode_job(j);
        if (st != BN_OK)
            return st;
    }
    memcpy(buf, j->cache + offset, n);
    if (offset + n >= j->size) {
        free(j->cache);
        j->cache = NULL;
        ++*j->done;
        if (j->o->progress)
            j->o->progress(j->o->progress_arg, *j->done, j->total, j->t->name);
    }
    return BN_OK;
}

/* The new scale tensor, written after its layer (encoded then already). */
static bn_status rq_fill_scale(void *arg, uint64_t offset, void *buf, size_t n) {
    rq_job *j = arg;
    if (!j->encoded) {
        bn_status st = encode_job(j);
        if (st != BN_OK)
            return st;
    }
    memcpy(buf, (const unsigned char *)&j->out_scale + offset, n);
    return BN_OK;
}

/* Whether tensor t gets re-encoded: a ternary matrix of another type, or
 * of the target TQ type with its scale in the other place. */
static int needs_requant(const bn_gguf *g, const bn_gguf_tensor *t, const bn_convert_opts *o, float *in_scale,
                         const bn_gguf_tensor **scale_t, bn_status *st) {
    *st = BN_OK;
    *in_scale = 1.0f;
    *scale_t = NULL;
    if (!bn_type_is_ternary(t->type) || t->n_dims != 2)
        return 0;
    if ((*st = bn_scale_tensor_find(g, t->name, in_scale, scale_t)) != BN_OK)
        return 0;
    if (t->type != o->type)
        return 1;
    return (*scale_t != NULL) != bn_wants_scale_tensor(o, o->type) && o->type != BN_TYPE_I2_S;
}

bn_status bn_requantize(bn_engine *e, const char *in_path, const char *out_path, const bn_convert_opts *o) {
    if (o->type != BN_TYPE_I2_S && o->type != BN_TYPE_TQ1_0 && o->type != BN_TYPE_TQ2_0)
        return bn_fail(BN_ERR_INVALID, "requantising needs a ternary target type (I2_S, TQ1_0, TQ2_0), not %s",
                       bn_type_name(o->type));
    bn_gguf *g = NULL;
    bn_gguf_writer *w = NULL;
    bn_encoder enc;
    rq_job *jobs = NULL;
    char *dropped = NULL; /* input scale tensors folded into a re-encoded layer */
    int done = 0, total = 0;
    bn_status st = bn_gguf_open(in_path, &g);
    if (st == BN_OK)
        st = bn_encoder_open(e, &enc);
    if (st == BN_OK)
        st = bn_gguf_writer_create(&w);
    uint64_t nt = st == BN_OK ? bn_gguf_tensor_count(g) : 0;
    if (st == BN_OK && (!(jobs = calloc(nt ? nt : 1, sizeof *jobs)) || !(dropped = calloc(nt ? nt : 1, 1))))
        st = bn_fail(BN_ERR_NOMEM, "out of memory");
    for (uint64_t i = 0; st == BN_OK && i < bn_gguf_kv_count(g); i++)
        st = bn_gguf_writer_set_value(w, bn_gguf_kv_key(g, i), bn_gguf_kv_value(g, i));
    /* First pass: which layers are re-encoded, and which scale tensors go. */
    for (uint64_t i = 0; st == BN_OK && i < nt; i++) {
        const bn_gguf_tensor *t = bn_gguf_tensor_at(g, i), *sc = NULL;
        if (!t->supported) {
            st = bn_fail(BN_ERR_UNSUPPORTED, "%s", t->reason);
            break;
        }
        float in_scale;
        if (!needs_requant(g, t, o, &in_scale, &sc, &st))
            continue;
        rq_job *j = &jobs[i];
        *j = (rq_job){.t = t, .type = o->type, .enc = &enc, .o = o, .in_scale = in_scale, .done = &done};
        j->size = bn_storage_size(o->type, t->ne[1], t->ne[0]);
        if (!j->size)
            st = bn_fail(BN_ERR_INVALID, "tensor '%s' [%lld x %lld] cannot be stored as %s", t->name,
                         (long long)t->ne[1], (long long)t->ne[0], bn_type_name(o->type));
        for (uint64_t k = 0; sc && k < nt; k++)
            if (bn_gguf_tensor_at(g, k) == sc)
                dropped[k] = 1;
        total++;
    }
    for (uint64_t i = 0; st == BN_OK && i < nt; i++) {
        const bn_gguf_tensor *t = bn_gguf_tensor_at(g, i);
        rq_job *j = &jobs[i];
        j->total = total;
        if (dropped[i])
            continue;
        if (!j->t) {
            st = bn_gguf_writer_add_tensor(w, t->name, t->ggml_type, t->n_dims, t->ne, t->data, t->size);
            continue;
        }
        st = bn_gguf_writer_add_tensor_fill(w, t->name, (uint32_t)o->type, 2, t->ne, j->size, rq_fill, j);
        if (st == BN_OK && bn_wants_scale_tensor(o, o->type)) {
            char name[256];
            int64_t one = 1;
            bn_scale_tensor_name(t->name, name, sizeof name);
            st = bn_gguf_writer_add_tensor_fill(w, name, BN_TYPE_F32, 1, &one, 4, rq_fill_scale, j);
        }
    }
    if (st == BN_OK)
        st = bn_gguf_writer_write(w, out_path);
    for (uint64_t i = 0; jobs && i < nt; i++)
        free(jobs[i].cache);
    free(jobs);
    free(dropped);
    bn_gguf_writer_free(w);
    bn_gguf_close(g);
    return st;
}
