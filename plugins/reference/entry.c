/*
 * Entry point of the reference plugin: the vtable, score, init/shutdown,
 * error messages and the capability query.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref_internal.h"

const float *pc_f16_lut(const bn_backend_ctx *ctx) { return ctx->f16_table; }

bn_status pc_fail(bn_backend_ctx *ctx, bn_status st, const char *fmt, ...) {
    if (ctx) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ctx->err, sizeof ctx->err, fmt, ap);
        va_end(ap);
    }
    return st;
}

/* Portable C runs on every machine; 10 (the ABI's convention for the
 * reference) lets any specialised plugin win while it still serves as the
 * fallback. */
static int ref_score(const bn_hw_info *hw, char *why, size_t why_len) {
    (void)hw;
    if (why && why_len)
        why[0] = '\0';
    return 10;
}

/* A services slot is usable when the core's struct is large enough to hold it. */
#define SVC_HAS(svc, field)                                                                         \
    ((svc) && offsetof(bn_services, field) + sizeof((svc)->field) <= (svc)->struct_size &&          \
     (svc)->field)

static bn_status ref_init(const bn_services *svc, const bn_hw_info *hw, bn_backend_ctx **out) {
    (void)hw;
    if (!out)
        return BN_ERR_INVALID;
    *out = NULL;
    if (!svc || !SVC_HAS(svc, aligned_alloc) || !SVC_HAS(svc, aligned_free))
        return BN_ERR_INVALID;
    bn_backend_ctx *ctx = svc->aligned_alloc(svc->core, REF_ALIGN, sizeof *ctx);
    if (!ctx)
        return BN_ERR_NOMEM;
    memset(ctx, 0, sizeof *ctx);
    ctx->svc = svc;
    ctx->n_threads = SVC_HAS(svc, n_threads) ? svc->n_threads(svc->core) : 1;
    if (ctx->n_threads < 1)
        ctx->n_threads = 1;
    /* The table makes fp16 decoding cheap in the hot loops while every
     * entry still comes from the one bit-exact conversion function. */
    for (uint32_t h = 0; h < 65536; h++)
        ctx->f16_table[h] = pc_f16_to_f32((uint16_t)h);
    *out = ctx;
    return BN_OK;
}

static void ref_shutdown(bn_backend_ctx *ctx) {
    if (ctx)
        ctx->svc->aligned_free(ctx->svc->core, ctx);
}

static const char *ref_last_error(bn_backend_ctx *ctx) {
    return ctx ? ctx->err : "";
}

static int is_any(int32_t v) { return v < 0; }

static int is_float_act(int32_t t) {
    return t == BN_TYPE_F32 || t == BN_TYPE_F16 || t == BN_TYPE_BF16;
}

static int is_float_weight(int32_t t) {
    return t == BN_TYPE_F32 || t == BN_TYPE_F16 || t == BN_TYPE_BF16 || t == BN_TYPE_Q8_0 ||
           t == BN_TYPE_Q6_K;
}

static int is_ternary_storage(int32_t t) {
    return t == BN_TYPE_I2_S || t == BN_TYPE_TQ1_0 || t == BN_TYPE_TQ2_0;
}

static int supports_matmul(const bn_op_desc *d) {
    int w = d->wtype, x = d->xtype, y = d->ytype, k = d->kernel;
    if (is_ternary_storage(w) || is_any(w)) {
        int ok_k = k >= BN_KERNEL_AUTO && k <= BN_KERNEL_TL2;
        int ok_x = is_any(x) || x == BN_TYPE_F32 || x == BN_TYPE_I8;
        int ok_y = is_any(y) || y == BN_TYPE_F32 || y == BN_TYPE_I32;
        if (ok_k && ok_x && ok_y)
            return 1;
        if (!is_any(w))
            return 0;
    }
    if (is_float_weight(w) || is_any(w)) {
        int ok_k = k == BN_KERNEL_AUTO || k == BN_KERNEL_MAD;
        int ok_x = is_any(x) || x == BN_TYPE_F32 || (x == BN_TYPE_I8 && w == BN_TYPE_Q8_0);
        int ok_y = is_any(y) || y == BN_TYPE_F32;
        return ok_k && ok_x && ok_y;
    }
    return 0;
}

static int ref_supports(bn_backend_ctx *ctx, const bn_op_desc *d) {
    (void)ctx;
    if (!d)
        return 0;
    int w = d->wtype, x = d->xtype, y = d->ytype;
    switch (d->op) {
    case BN_OP_MATMUL:
        return supports_matmul(d);
    case BN_OP_QUANTIZE_ACT:
        return (is_any(x) || x == BN_TYPE_F32) && (is_any(y) || y == BN_TYPE_I8);
    case BN_OP_DEQUANTIZE:
    case BN_OP_GET_ROWS:
        return (is_any(w) || is_float_weight(w) || is_ternary_storage(w)) &&
               (is_any(y) || y == BN_TYPE_F32);
    case BN_OP_RMS_NORM:
    case BN_OP_ROPE:
    case BN_OP_SOFTMAX:
    case BN_OP_FFN_ACT:
    case BN_OP_ADD:
        return (is_any(x) || x == BN_TYPE_F32) && (is_any(y) || y == BN_TYPE_F32);
    case BN_OP_ATTENTION: /* wtype names the KV cache type */
        return (is_any(x) || x == BN_TYPE_F32) && (is_any(y) || y == BN_TYPE_F32) &&
               (is_any(w) || w == BN_TYPE_F32 || w == BN_TYPE_F16 || w == BN_TYPE_Q8_0);
    case BN_OP_COPY: /* also F32 -> Q8_0 and Q8_0 -> Q8_0, the 8-bit KV cache */
        return ((is_any(x) || is_float_act(x)) && (is_any(y) || is_float_act(y))) ||
               ((is_any(x) || x == BN_TYPE_F32 || x == BN_TYPE_Q8_0) && y == BN_TYPE_Q8_0);
    case BN_OP_ENCODE:
        return is_any(w) || is_ternary_storage(w) || w == BN_TYPE_F32 || w == BN_TYPE_F16 ||
               w == BN_TYPE_BF16 || w == BN_TYPE_Q8_0;
    default:
        return 0;
    }
}

static const bn_backend ref_backend = {
    .info =
        {
            .abi_major = BN_ABI_MAJOR,
            .abi_minor = BN_ABI_MINOR,
            .struct_size = sizeof(bn_backend),
            .name = "reference",
            .version = "0.1.0",
            .description = "portable C11 reference: every op, the numerical oracle",
            .device = BN_DEVICE_CPU,
        },
    .score = ref_score,
    .init = ref_init,
    .shutdown = ref_shutdown,
    .last_error = ref_last_error,
    .supports = ref_supports,
    .buffer_alloc = ref_buffer_alloc,
    .buffer_free = ref_buffer_free,
    .buffer_base = ref_buffer_base,
    .buffer_is_host = ref_buffer_is_host,
    .upload = ref_upload,
    .download = ref_download,
    .synchronize = ref_synchronize,
    .weight_prepare = ref_weight_prepare,
    .weight_free = ref_weight_free,
    .matmul = ref_matmul,
    .quantize_act = ref_quantize_act,
    .dequantize = ref_dequantize,
    .get_rows = ref_get_rows,
    .rms_norm = ref_rms_norm,
    .rope = ref_rope,
    .softmax = ref_softmax,
    .attention = ref_attention,
    .ffn_act = ref_ffn_act,
    .add = ref_add,
    .copy = pc_copy,
    .encode = pc_encode,
    .attention_paged = ref_attention_paged,
};

BN_PLUGIN_EXPORT const bn_backend *bn_plugin_entry(void);

BN_PLUGIN_EXPORT const bn_backend *bn_plugin_entry(void) {
    return &ref_backend;
}
