/*
 * "test-broken": a deliberately wrong backend, for testing the conformance
 * suite itself. It loads the real reference plugin, reuses all of its slots
 * and gets exactly one thing wrong: matmul on I2_S weights returns a
 * perturbed first output (+1 on the integer sum, +1.0 on a float result).
 * The conformance_catches_broken test requires the suite to report that
 * case, and only that case. Test double: never installed.
 */
#include <dlfcn.h>
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

static bn_status broken_matmul(bn_backend_ctx *ctx, const bn_weight *w, const bn_tensor *x, const bn_tensor *x_scale,
                               bn_tensor *y) {
    bn_status st = ref->matmul(ctx, inner_of(w), x, x_scale, y);
    if (st == BN_OK && ((const wrapped_weight *)w)->type == BN_TYPE_I2_S) {
        if (y->type == BN_TYPE_I32)
            ((int32_t *)y->data)[0] += 1;
        else
            ((float *)y->data)[0] += 1.0f;
    }
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
    broken.info.description = "test double: reference with a wrong I2_S matmul";
    broken.score = broken_score;
    broken.weight_prepare = broken_prepare;
    broken.weight_free = broken_free;
    broken.matmul = r->matmul ? broken_matmul : NULL;
    broken.dequantize = r->dequantize ? broken_dequantize : NULL;
    broken.get_rows = r->get_rows ? broken_get_rows : NULL;
    ref = r;
    return &broken;
}
