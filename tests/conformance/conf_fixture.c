/* Host-side test weights (see conf_fixture.h). */
#include "conf_fixture.h"

#include <stdlib.h>
#include <string.h>

static void put_u16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)(v & 0xff);
    p[1] = (uint8_t)(v >> 8);
}

int wfix_make(wfix *f, int32_t type, int64_t rows, int64_t cols, uint64_t seed, int mode, float scale) {
    conf_rng r;
    memset(f, 0, sizeof *f);
    f->type = type;
    f->rows = rows;
    f->cols = cols;
    f->scale = scale;
    f->size = or_storage_size(type, rows, cols);
    if (!f->size)
        return 0;
    f->data = xmalloc(f->size);
    rng_seed(&r, seed);
    int64_t n = rows * cols;
    if (bn_type_is_ternary(type)) {
        float *w = xmalloc(sizeof(float) * (size_t)n);
        rng_fill(&r, w, n, 0.02f + 0.1f * (float)(seed % 7));
        if (mode == WFIX_EXTREME)
            for (int64_t i = 0; i < n; i++) {
                int64_t row = i / cols;
                w[i] = row % 3 == 0 ? 1.0f : row % 3 == 1 ? -1.0f : (i & 1 ? 1.0f : -1.0f);
            }
        or_encode(type, w, rows, cols, f->data);
        free(w);
        f->uniform_d = 1;
        if (mode == WFIX_VARY_D && type != BN_TYPE_I2_S) {
            size_t bb = type == BN_TYPE_TQ1_0 ? 54 : 66;
            for (size_t b = 0; b < f->size / bb; b++)
                put_u16(f->data + b * bb + bb - 2, or_f32_to_f16(0.01f + 0.05f * (rng_f(&r) + 1.0f)));
            f->uniform_d = 0;
        }
        or_ternary_unpack(type, f->data, rows, cols, &f->tm);
    } else if (type == BN_TYPE_Q8_0) {
        for (size_t b = 0; b < f->size / 34; b++) {
            put_u16(f->data + b * 34, or_f32_to_f16(0.001f + 0.01f * (rng_f(&r) + 1.0f)));
            for (int i = 0; i < 32; i++)
                f->data[b * 34 + 2 + i] = (uint8_t)(rng_u64(&r) >> 56); /* -128 included */
        }
    } else {
        for (int64_t i = 0; i < n; i++) {
            float v = rng_f(&r) * 0.5f;
            if (type == BN_TYPE_F32)
                memcpy(f->data + 4 * i, &v, 4);
            else
                put_u16(f->data + 2 * i, type == BN_TYPE_F16 ? or_f32_to_f16(v) : or_f32_to_bf16(v));
        }
    }
    return 1;
}

void wfix_free(wfix *f) {
    free(f->data);
    or_ternary_free(&f->tm);
    memset(f, 0, sizeof *f);
}

bn_weight *wfix_prepare(conf_case *c, conf_plugin *p, const wfix *f, int32_t kernel) {
    bn_weight_src src = {.name = "conformance.weight",
                         .type = f->type,
                         .kernel = kernel,
                         .n_rows = f->rows,
                         .n_cols = f->cols,
                         .data = f->data,
                         .size = f->size,
                         .scale = f->scale};
    bn_weight *w = NULL;
    char what[64];
    snprintf(what, sizeof what, "weight_prepare(kernel=%s)", conf_kernel_name(kernel));
    if (!cc_ok(c, p, p->be->weight_prepare(p->ctx, &src, &w), what))
        return NULL;
    if (!w)
        cc_fail(c, "weight_prepare returned BN_OK but no weight");
    return w;
}

int conf_supports(conf_plugin *p, int op, int wtype, int xtype, int ytype, int kernel) {
    bn_op_desc d = {.op = op, .wtype = wtype, .xtype = xtype, .ytype = ytype, .kernel = kernel};
    return p->be->supports ? p->be->supports(p->ctx, &d) != 0 : 0;
}

const char *conf_kernel_name(int kernel) {
    switch (kernel) {
    case BN_KERNEL_AUTO: return "AUTO";
    case BN_KERNEL_MAD: return "MAD";
    case BN_KERNEL_TL1: return "TL1";
    case BN_KERNEL_TL2: return "TL2";
    default: return "?";
    }
}
