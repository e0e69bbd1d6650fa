/*
 * Entry point of the cpu-avx2 plugin: the vtable, score, init/shutdown,
 * error messages and the capability query.
 *
 * This file is compiled WITHOUT -mavx2/-mfma/-mf16c: the core calls
 * score() on any x86-64 (or other) machine, so nothing here may execute an
 * AVX instruction. AVX2 code lives in the other files and only runs after
 * score() said yes and the core called init().
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avx2_internal.h"

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

static const struct {
    uint32_t bit;
    const char *name;
} needed[] = {{BN_ISA_AVX2, "avx2"}, {BN_ISA_FMA, "fma"}, {BN_ISA_F16C, "f16c"}};

/* 200 when AVX2 + FMA + F16C are usable (CPU and OS), else 0 naming what
 * is missing. No AVX-VNNI kernel exists yet, so VNNI adds nothing. */
static int ax_score(const bn_hw_info *hw, char *why, size_t why_len) {
    char missing[64] = "";
    if (why && why_len)
        why[0] = '\0';
    if (!hw) {
        if (why && why_len)
            snprintf(why, why_len, "no hardware description");
        return 0;
    }
    for (size_t i = 0; i < sizeof needed / sizeof needed[0]; i++)
        if (!(hw->isa & needed[i].bit)) {
            if (missing[0])
                strncat(missing, ", ", sizeof missing - strlen(missing) - 1);
            strncat(missing, needed[i].name, sizeof missing - strlen(missing) - 1);
        }
    if (missing[0]) {
        if (why && why_len)
            snprintf(why, why_len, "needs AVX2, FMA, F16C; this CPU/OS lacks: %s", missing);
        return 0;
    }
    return 200;
}

#define SVC_HAS(svc, field)                                                                         \
    ((svc) && offsetof(bn_services, field) + sizeof((svc)->field) <= (svc)->struct_size &&          \
     (svc)->field)

static bn_status ax_init(const bn_services *svc, const bn_hw_info *hw, bn_backend_ctx **out) {
    if (!out)
        return BN_ERR_INVALID;
    *out = NULL;
    if (!svc || !SVC_HAS(svc, aligned_alloc) || !SVC_HAS(svc, aligned_free))
        return BN_ERR_INVALID;
    char why[128];
    if (ax_score(hw, why, sizeof why) == 0)
        return BN_ERR_UNSUPPORTED;
    bn_backend_ctx *ctx = svc->aligned_alloc(svc->core, AX_ALIGN, sizeof *ctx);
    if (!ctx)
        return BN_ERR_NOMEM;
    memset(ctx, 0, sizeof *ctx);
    ctx->svc = svc;
    ctx->n_threads = SVC_HAS(svc, n_threads) ? svc->n_threads(svc->core) : 1;
    if (ctx->n_threads < 1)
        ctx->n_threads = 1;
    ax_init_tables(ctx);
    *out = ctx;
    return BN_OK;
}

static void ax_shutdown(bn_backend_ctx *ctx) {
    if (!ctx)
        return;
    ax_scratch_release_all(ctx);
    ctx->svc->aligned_free(ctx->svc->core, ctx);
}

static const char *ax_last_error(bn_backend_ctx *ctx) {
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

/* AUTO resolves to MAD; TL1 / TL2 are the pshufb LUT kernels of lut.c. */
static int kernel_ok(int32_t k) {
    return k >= BN_KERNEL_AUTO && k <= BN_KERNEL_TL2;
}

static int supports_matmul(const bn_op_desc *d) {
    int w = d->wtype, x = d->xtype, y = d->ytype, k = d->kernel;
    if (is_ternary_storage(w) || is_any(w)) {
        int ok_x = is_any(x) || x == BN_TYPE_F32 || x == BN_TYPE_I8;
        int ok_y = is_any(y) || y == BN_TYPE_F32 || y == BN_TYPE_I32;
        if (kernel_ok(k) && ok_x && ok_y)
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

static int ax_supports(bn_backend_ctx *ctx, const bn_op_desc *d) {
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

static const bn_backend ax_backend = {
    .info =
        {
            .abi_major = BN_ABI_MAJOR,
            .abi_minor = BN_ABI_MINOR,
            .struct_size = sizeof(bn_backend),
            .name = "cpu-avx2",
            .version = "0.1.0",
            .description = "x86-64 AVX2 + FMA + F16C: maddubs ternary GEMV/GEMM, pshufb LUT kernels",
            .device = BN_DEVICE_CPU,
        },
    .score = ax_score,
    .init = ax_init,
    .shutdown = ax_shutdown,
    .last_error = ax_last_error,
    .supports = ax_supports,
    .buffer_alloc = ax_buffer_alloc,
    .buffer_free = ax_buffer_free,
    .buffer_base = ax_buffer_base,
    .buffer_is_host = ax_buffer_is_host,
    .upload = ax_upload,
    .download = ax_download,
    .synchronize = ax_synchronize,
    .weight_prepare = ax_weight_prepare,
    .weight_free = ax_weight_free,
    .matmul = ax_matmul,
    .quantize_act = ax_quantize_act,
    .dequantize = ax_dequantize,
    .get_rows = ax_get_rows,
    .rms_norm = ax_rms_norm,
    .rope = ax_rope,
    .softmax = ax_softmax,
    .attention = ax_attention,
    .ffn_act = ax_ffn_act,
    .add = ax_add,
    .copy = pc_copy,
    .encode = pc_encode,
    .attention_paged = ax_attention_paged,
};

BN_PLUGIN_EXPORT const bn_backend *bn_plugin_entry(void);

BN_PLUGIN_EXPORT const bn_backend *bn_plugin_entry(void) {
    return &ax_backend;
}
