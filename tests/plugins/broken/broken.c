/*
 * "test-broken": a deliberately wrong backend, for testing the conformance
 * suite itself. It loads the real reference plugin, reuses all of its slots
 * and gets exactly one thing wrong, chosen by BN_BROKEN (the control table
 * in tests/conformance/CMakeLists.txt runs each and requires the suite to
 * blame exactly that op):
 *   i2s-plus-one (default)  I2_S matmul: +1 on the first integer sum / output
 *   f16-scale-1pct          F16 matmul outputs * 1.01
 *   q8-scale-1pct           Q8_0 matmul outputs * 1.01
 *   tq2-scale-1pct          TQ2_0 matmul outputs * 1.01
 *   bf16-drop-col           BF16 matmul without its first input column
 *   rope-base               RoPE with freq_base 10000 where 500000 was asked
 *                           (and 500000 for 10000)
 *   rope-pos                RoPE one position late
 *   rms-eps                 RMSNorm with eps * 10
 *   attn-swap-heads         attention output heads 0 and 1 swapped
 *   softmax-scale           softmax of x * scale * 1.01
 *   tq1-scale-1pct          TQ1_0 matmul outputs * 1.01
 *   quant-plus-one          quantize_act: +1 on the first code of each row
 *   encode-flip             encode: the first byte of a TQ2_0 encoding flipped
 *   copy-f16-ulp            copy to F16: the first value one step off
 *   ffn-scale-1pct          ffn_act outputs * 1.01
 *   add-drop-last           add leaves the last element as a
 *   paged-swap-pages        attention_paged with pages 0 and 1 of every
 *                           sequence swapped in its page table
 *   copy-q8-step            copy to Q8_0: the first q one step off
 *   attn-q8-scale           attention over a Q8_0 K cache whose block
 *                           scales read about 1 % high
 * Test double: never installed.
 */
#include <dlfcn.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "bitnet/backend.h"

#ifndef REFERENCE_PLUGIN_PATH
#error "REFERENCE_PLUGIN_PATH must name the reference plugin module"
#endif

static const bn_backend *ref;
static bn_backend broken;

/* The weight handle remembers the storage type so matmul knows when to
 * misbehave. */
typedef struct wrapped_weight {
    bn_weight *inner;
    int32_t type;
} wrapped_weight;

static bn_weight *inner_of(const bn_weight *w) { return ((const wrapped_weight *)w)->inner; }

static int broken_score(const bn_hw_info *hw, char *why, size_t why_len) {
    (void)hw;
    (void)why;
    (void)why_len;
    return 1; /* never preferred over a real plugin */
}

static bn_status broken_prepare(bn_backend_ctx *ctx, const bn_weight_src *src, bn_weight **out) {
    wrapped_weight *w = calloc(1, sizeof *w);
    if (!w)
        return BN_ERR_NOMEM;
    bn_status st = ref->weight_prepare(ctx, src, &w->inner);
    if (st != BN_OK) {
        free(w);
        return st;
    }
    w->type = src->type;
    *out = (bn_weight *)w;
    return BN_OK;
}

static void broken_free(bn_backend_ctx *ctx, bn_weight *w) {
    if (!w)
        return;
    ref->weight_free(ctx, inner_of(w));
    free(w);
}

static const char *mutation(void) {
    const char *m = getenv("BN_BROKEN");
    return m && *m ? m : "i2s-plus-one";
}
static int is(const char *name) { return strcmp(mutation(), name) == 0; }

/* Element (i0, row) of a 2-D F32 view with strides. */
static float *f32_at(const bn_tensor *t, int64_t i0, int64_t row) {
    return (float *)((char *)t->data + i0 * t->nb[0] + row * t->nb[1]);
}

static void scale_rows(bn_tensor *y, float f) {
    for (int64_t r = 0; r < y->ne[1]; r++)
        for (int64_t i = 0; i < y->ne[0]; i++)
            *f32_at(y, i, r) *= f;
}

static bn_status broken_matmul(bn_backend_ctx *ctx, const bn_weight *w, const bn_tensor *x, const bn_tensor *x_scale,
                               bn_tensor *y) {
    int32_t type = ((const wrapped_weight *)w)->type;
    if (is("bf16-drop-col") && type == BN_TYPE_BF16 && x->type == BN_TYPE_F32) {
        /* x with its first column zeroed: the weight's column 0 drops out */
        size_t bytes = (size_t)(x->nb[1] * x->ne[1]);
        bn_tensor x2 = *x;
        x2.data = malloc(bytes);
        if (!x2.data)
            return BN_ERR_NOMEM;
        memcpy(x2.data, x->data, bytes);
        for (int64_t r = 0; r < x->ne[1]; r++)
            *f32_at(&x2, 0, r) = 0.0f;
        bn_status st = ref->matmul(ctx, inner_of(w), &x2, x_scale, y);
        free(x2.data);
        return st;
    }
    bn_status st = ref->matmul(ctx, inner_of(w), x, x_scale, y);
    if (st != BN_OK)
        return st;
    if (is("i2s-plus-one") && type == BN_TYPE_I2_S) {
        if (y->type == BN_TYPE_I32)
            ((int32_t *)y->data)[0] += 1;
        else
            ((float *)y->data)[0] += 1.0f;
    }
    if (y->type == BN_TYPE_F32 && ((is("f16-scale-1pct") && type == BN_TYPE_F16) ||
                                   (is("q8-scale-1pct") && type == BN_TYPE_Q8_0) ||
                                   (is("tq2-scale-1pct") && type == BN_TYPE_TQ2_0) ||
                                   (is("tq1-scale-1pct") && type == BN_TYPE_TQ1_0)))
        scale_rows(y, 1.01f);
    return st;
}

static bn_status broken_quantize_act(bn_backend_ctx *ctx, const bn_tensor *x, bn_tensor *q, bn_tensor *s) {
    bn_status st = ref->quantize_act(ctx, x, q, s);
    if (st == BN_OK && is("quant-plus-one"))
        for (int64_t r = 0; r < q->ne[1]; r++) {
            int8_t *c = (int8_t *)q->data + r * q->nb[1];
            *c = (int8_t)(*c == 127 ? 126 : *c + 1);
        }
    return st;
}

static bn_status broken_encode(bn_backend_ctx *ctx, int32_t type, const float *src, int64_t n_rows, int64_t n_cols,
                               void *dst, size_t dst_size, size_t *written) {
    bn_status st = ref->encode(ctx, type, src, n_rows, n_cols, dst, dst_size, written);
    if (st == BN_OK && is("encode-flip") && type == BN_TYPE_TQ2_0)
        ((unsigned char *)dst)[0] ^= 0x01;
    return st;
}

static bn_status broken_copy(bn_backend_ctx *ctx, const bn_tensor *src, bn_tensor *dst) {
    bn_status st = ref->copy(ctx, src, dst);
    if (st == BN_OK && is("copy-f16-ulp") && dst->type == BN_TYPE_F16)
        *(uint16_t *)dst->data ^= 1u;
    if (st == BN_OK && is("copy-q8-step") && dst->type == BN_TYPE_Q8_0)
        ((int8_t *)dst->data)[2] = (int8_t)(((int8_t *)dst->data)[2] == 127 ? 126 : ((int8_t *)dst->data)[2] + 1);
    return st;
}

static bn_status broken_ffn_act(bn_backend_ctx *ctx, const bn_tensor *gate, const bn_tensor *up, int32_t act,
                                bn_tensor *dst) {
    bn_status st = ref->ffn_act(ctx, gate, up, act, dst);
    if (st == BN_OK && is("ffn-scale-1pct"))
        scale_rows(dst, 1.01f);
    return st;
}

static bn_status broken_add(bn_backend_ctx *ctx, const bn_tensor *a, const bn_tensor *b, bn_tensor *dst) {
    if (!is("add-drop-last"))
        return ref->add(ctx, a, b, dst);
    int64_t n = a->ne[0], r = a->ne[1] - 1;
    float keep = *f32_at(a, n - 1, r);
    bn_status st = ref->add(ctx, a, b, dst);
    if (st == BN_OK)
        *f32_at(dst, n - 1, r) = keep;
    return st;
}

static bn_status broken_rope(bn_backend_ctx *ctx, bn_tensor *x, const bn_tensor *pos, const bn_rope_args *args) {
    bn_rope_args a = *args;
    if (is("rope-base"))
        a.freq_base = a.freq_base == 10000.0f ? 500000.0f : 10000.0f;
    if (!is("rope-pos"))
        return ref->rope(ctx, x, pos, &a);
    bn_tensor p2 = *pos;
    int32_t *late = malloc(sizeof *late * (size_t)pos->ne[0]);
    if (!late)
        return BN_ERR_NOMEM;
    for (int64_t i = 0; i < pos->ne[0]; i++)
        late[i] = *(const int32_t *)((const char *)pos->data + i * pos->nb[0]) + 1;
    p2.data = late;
    p2.nb[0] = sizeof *late;
    p2.nb[1] = p2.nb[2] = p2.nb[3] = sizeof *late * (size_t)pos->ne[0];
    bn_status st = ref->rope(ctx, x, &p2, &a);
    free(late);
    return st;
}

static bn_status broken_rms_norm(bn_backend_ctx *ctx, const bn_tensor *x, const bn_tensor *weight, float eps,
                                 bn_tensor *dst) {
    return ref->rms_norm(ctx, x, weight, is("rms-eps") ? eps * 10.0f : eps, dst);
}

static bn_status broken_softmax(bn_backend_ctx *ctx, const bn_tensor *x, float scale, bn_tensor *dst) {
    return ref->softmax(ctx, x, is("softmax-scale") ? scale * 1.01f : scale, dst);
}

static bn_status broken_attention(bn_backend_ctx *ctx, const bn_tensor *q, const bn_tensor *k, const bn_tensor *v,
                                  const bn_attn_args *args, bn_tensor *out) {
    if (is("attn-q8-scale") && k && k->type == BN_TYPE_Q8_0 && k->nb[1] == k->ne[0] / 32 * 34) {
        /* a copy of the (contiguous) K cache with every block scale's f16
         * bits + 10: about 1 % larger */
        size_t bytes = (size_t)(k->nb[2] * k->ne[2]);
        unsigned char *c = malloc(bytes);
        if (!c)
            return BN_ERR_NOMEM;
        memcpy(c, k->data, bytes);
        for (size_t b = 0; b + 34 <= bytes; b += 34) {
            unsigned h = (unsigned)(c[b] | c[b + 1] << 8) + 10u;
            c[b] = (unsigned char)h;
            c[b + 1] = (unsigned char)(h >> 8);
        }
        bn_tensor kk = *k;
        kk.data = c;
        bn_status st = ref->attention(ctx, q, &kk, v, args, out);
        free(c);
        return st;
    }
    bn_status st = ref->attention(ctx, q, k, v, args, out);
    if (st != BN_OK || !is("attn-swap-heads") || args->n_head < 2)
        return st;
    for (int64_t t = 0; t < args->n_tokens; t++) /* out is [head_dim, n_head, n_tokens] */
        for (int64_t i = 0; i < args->head_dim; i++) {
            float *a = (float *)((char *)out->data + i * out->nb[0] + t * out->nb[2]);
            float *b = (float *)((char *)a + out->nb[1]);
            float tmp = *a;
            *a = *b;
            *b = tmp;
        }
    return st;
}

static bn_status broken_attention_paged(bn_backend_ctx *ctx, const bn_tensor *q, const bn_tensor *k,
                                        const bn_tensor *v, const bn_tensor *rows, const bn_tensor *pt,
                                        const bn_paged_attn_args *args, bn_tensor *out) {
    if (!is("paged-swap-pages") || !pt || !args || args->max_pages < 2 || args->n_seqs < 1)
        return ref->attention_paged(ctx, q, k, v, rows, pt, args, out);
    size_t n = (size_t)args->max_pages * (size_t)args->n_seqs;
    int32_t *swapped = malloc(n * sizeof *swapped);
    if (!swapped)
        return BN_ERR_NOMEM;
    memcpy(swapped, pt->data, n * sizeof *swapped);
    for (int32_t s = 0; s < args->n_seqs; s++) {
        int32_t *row = swapped + (size_t)s * (size_t)args->max_pages, tmp = row[0];
        row[0] = row[1];
        row[1] = tmp;
    }
    bn_tensor t = *pt;
    t.data = swapped;
    bn_status st = ref->attention_paged(ctx, q, k, v, rows, &t, args, out);
    free(swapped);
    return st;
}

static bn_status broken_dequantize(bn_backend_ctx *ctx, const bn_weight *w, int64_t row0, bn_tensor *dst) {
    return ref->dequantize(ctx, inner_of(w), row0, dst);
}

static bn_status broken_get_rows(bn_backend_ctx *ctx, const bn_weight *w, const bn_tensor *ids, bn_tensor *dst) {
    return ref->get_rows(ctx, inner_of(w), ids, dst);
}

BN_PLUGIN_EXPORT const bn_backend *bn_plugin_entry(void) {
    if (ref)
        return &broken;
    void *h = dlopen(REFERENCE_PLUGIN_PATH, RTLD_NOW | RTLD_LOCAL);
    if (!h)
        return NULL;
    bn_plugin_entry_fn entry;
    void *sym = dlsym(h, BN_PLUGIN_ENTRY_SYMBOL);
    if (!sym)
        return NULL;
    memcpy(&entry, &sym, sizeof entry);
    const bn_backend *r = entry();
    if (!r || r->info.abi_major != BN_ABI_MAJOR)
        return NULL;
    size_t n = r->info.struct_size < sizeof broken ? r->info.struct_size : sizeof broken;
    memcpy(&broken, r, n);
    broken.info.struct_size = (uint32_t)n;
    broken.info.name = "test-broken";
    broken.info.description = "test double: reference with one deliberate mistake (BN_BROKEN)";
    broken.score = broken_score;
    broken.weight_prepare = broken_prepare;
    broken.weight_free = broken_free;
    broken.matmul = r->matmul ? broken_matmul : NULL;
    broken.dequantize = r->dequantize ? broken_dequantize : NULL;
    broken.get_rows = r->get_rows ? broken_get_rows : NULL;
    broken.rope = r->rope ? broken_rope : NULL;
    broken.rms_norm = r->rms_norm ? broken_rms_norm : NULL;
    broken.softmax = r->softmax ? broken_softmax : NULL;
    broken.attention = r->attention ? broken_attention : NULL;
    broken.quantize_act = r->quantize_act ? broken_quantize_act : NULL;
    broken.encode = r->encode ? broken_encode : NULL;
    broken.copy = r->copy ? broken_copy : NULL;
    broken.ffn_act = r->ffn_act ? broken_ffn_act : NULL;
    broken.add = r->add ? broken_add : NULL;
    if (BN_BACKEND_HAS(r, attention_paged) && n >= offsetof(bn_backend, attention_paged) + sizeof(void *))
        broken.attention_paged = broken_attention_paged;
    ref = r;
    return &broken;
}
