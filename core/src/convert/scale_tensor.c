/* Separate per-tensor scales: a ternary weight "blk.N.attn_q.weight" may
 * keep its scale as a one-value F32 tensor "blk.N.attn_q.scale" (the
 * convention of llama.cpp's bitnet architecture; "<name>.scale" is read
 * too). The loader multiplies it into the matmul; the converter writes it
 * for TQ1_0/TQ2_0 so the scale stays exact instead of rounded to fp16. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "convert_internal.h"

static int ends_with_weight(const char *name, size_t n) { return n > 7 && !strcmp(name + n - 7, ".weight"); }

void bn_scale_tensor_name(const char *name, char *out, size_t len) {
    size_t n = strlen(name);
    if (ends_with_weight(name, n))
        n -= 7;
    snprintf(out, len, "%.*s.scale", (int)n, name);
}

bn_status bn_scale_tensor_find(const bn_gguf *g, const char *name, float *scale, const bn_gguf_tensor **found) {
    char alt[256];
    *scale = 1.0f;
    if (found)
        *found = NULL;
    snprintf(alt, sizeof alt, "%s.scale", name);
    const bn_gguf_tensor *t = bn_gguf_find_tensor(g, alt);
    if (!t && ends_with_weight(name, strlen(name))) {
        bn_scale_tensor_name(name, alt, sizeof alt);
        t = bn_gguf_find_tensor(g, alt);
    }
    if (!t)
        return BN_OK;
    if (t->type != BN_TYPE_F32 || t->n_elems != 1)
        return bn_fail(BN_ERR_FORMAT, "tensor '%s' must be a single F32 value", alt);
    memcpy(scale, t->data, 4);
    if (!isfinite(*scale) || *scale == 0.0f)
        return bn_fail(BN_ERR_FORMAT, "tensor '%s' holds an unusable scale (%g)", alt, (double)*scale);
    if (found)
        *found = t;
    return BN_OK;
}

int bn_wants_scale_tensor(const bn_convert_opts *o, int32_t type) {
    return (type == BN_TYPE_TQ1_0 || type == BN_TYPE_TQ2_0) && !o->tq_scale_in_blocks;
}
