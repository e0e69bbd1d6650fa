/*
 * Entry point of the cpu-avx512 plugin: the vtable, score, init/shutdown,
 * error messages and the capability query.
 *
 * This file is compiled WITHOUT AVX-512 flags: bn_plugin_entry and score()
 * run on any x86-64 before the core knows the CPU can run the rest.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a5_internal.h"

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

/* What every file but this one is compiled for. */
static const struct {
    uint32_t bit;
    const char *name;
} required[] = {
    {BN_ISA_AVX2, "avx2"},         {BN_ISA_FMA, "fma"},           {BN_ISA_F16C, "f16c"},
    {BN_ISA_AVX512F, "avx512f"},   {BN_ISA_AVX512BW, "avx512bw"}, {BN_ISA_AVX512VL, "avx512vl"},
};

static int a5_score(const bn_hw_info *hw, char *why, size_t why_len) {
    char lacks[128] = "";
    size_t used = 0;
    if (why && why_len)
        why[0] = '\0';
    if (!hw) {
        if (why && why_len)
            snprintf(why, why_len, "no hardware description");
        return 0;
    }
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (!(hw->isa & required[i].bit))
            used += (size_t)snprintf(lacks + used, sizeof lacks - used, "%s%s", used ? ", " : "",
                                     required[i].name);
    if (used) {
        if (why && why_len)
            snprintf(why, why_len, "needs AVX-512 F, BW, VL (+AVX2, FMA, F16C); this CPU/OS lacks: %s", lacks);
        return 0;
    }
    return 300 + (hw->isa & BN_ISA_AVX512VNNI ? 20 : 0) + (hw->isa & BN_ISA_AVX512VBMI ? 10 : 0);
}

/* A services slot is usable when the core's struct is large enough to hold it. */
#define SVC_HAS(svc, field)                                                                         \
    ((svc) && offsetof(bn_services, field) + sizeof((svc)->field) <= (svc)->struct_size &&          \
     (svc)->field)

static bn_status a5_init(const bn_services *svc, const bn_hw_info *hw, bn_backend_ctx **out) {
    if (!out)
        return BN_ERR_INVALID;
    *out = NULL;
    if (!svc || !SVC_HAS(svc, aligned_alloc) || !SVC_HAS(svc, aligned_free))
        return BN_ERR_INVALID;
    bn_backend_ctx *ctx = svc->aligned_alloc(svc->core, A5_ALIGN, sizeof *ctx);
    if (!ctx)
        return BN_ERR_NOMEM;
    memset(ctx, 0, sizeof *ctx);
    ctx->svc = svc;
    atomic_flag_clear(&ctx->scratch_busy);
    ctx->n_threads = SVC_HAS(svc, n_threads) ? svc->n_threads(svc->core) : 1;
    if (ctx->n_threads < 1)
        ctx->n_threads = 1;
    uint32_t isa = hw ? hw->isa : 0;
    ctx->has_vnni = (isa & BN_ISA_AVX512VNNI) != 0;
    ctx->has_vbmi = (isa & BN_ISA_AVX512VBMI) != 0;
    /* fp16 -> f32 for the scalar paths, every entry from the one bit-exact function */
    for (uint32_t h = 0; h < 65536; h++)
        ctx->f16_table[h] = pc_f16_to_f32((uint16_t)h);
    *out = ctx;
    return BN_OK;
}

static void a5_shutdown(bn_backend_ctx *ctx) {
    if (!ctx)
        return;
    if (ctx->scratch)
        ctx->svc->aligned_free(ctx->svc->core, ctx->scratch);
    ctx->svc->aligned_free(ctx->svc->core, ctx);
}

static const char *a5_last_error(bn_backend_ctx *ctx) {
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

/* MAD: matmul_ternary.c; TL1 / TL2: the vpermw LUT kernels of lut_matmul.c. */
static int a5_kernel_ready(int32_t k) {
    return k >= BN_KERNEL_AUTO && k <= BN_KERNEL_TL2;
}

static int supports_matmul(const bn_op_desc *d) {
    int w = d->wtype, x = d->xtype, y = d->ytype, k = d->kernel;
    if (is_ternary_storage(w) || is_any(w)) {
        int ok_k = a5_kernel_ready(k);
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

static int a5_supports(bn_backend_ctx *ctx, const bn_op_desc *d) {
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
               (is_any(w) || w == BN_TYPE_F32 || w == BN_TYPE_F16);
    case BN_OP_COPY:
        return (is_any(x) || is_float_act(x)) && (is_any(y) || is_float_act(y));
    case BN_OP_ENCODE:
        return is_any(w) || is_ternary_storage(w) || w == BN_TYPE_F32 || w == BN_TYPE_F16 ||
               w == BN_TYPE_BF16 || w == BN_TYPE_Q8_0;
    default:
        return 0;
    }
}


static const bn_backend a5_backend = {
    .info =
        {
            .abi_major = BN_ABI_MAJOR,
            .abi_minor = BN_ABI_MINOR,
            .struct_size = sizeof(bn_backend),
            .name = "cpu-avx512",
            .version = "0.1.0",
            .description = "x86-64 AVX-512 (F/BW/VL; VNNI where present): ternary MAD GEMV/GEMM, vpermw LUT kernels (TL1/TL2), F16/Q8_0 heads",
            .device = BN_DEVICE_CPU,
        },
    .score = a5_score,
    .init = a5_init,
    .shutdown = a5_shutdown,
    .last_error = a5_last_error,
    .supports = a5_supports,
    .buffer_alloc = a5_buffer_alloc,
    .buffer_free = a5_buffer_free,
    .buffer_base = a5_buffer_base,
    .buffer_is_host = a5_buffer_is_host,
    .upload = a5_upload,
    .download = a5_download,
    .synchronize = a5_synchronize,
    .weight_prepare = a5_weight_prepare,
    .weight_free = a5_weight_free,
    .matmul = a5_matmul,
    .quantize_act = a5_quantize_act,
    .dequantize = a5_dequantize,
    .get_rows = a5_get_rows,
    .rms_norm = a5_rms_norm,
    .rope = a5_rope,
    .softmax = a5_softmax,
    .attention = a5_attention,
    .ffn_act = a5_ffn_act,
    .add = a5_add,
    .copy = a5_copy,
    .encode = pc_encode,
    .attention_paged = a5_attention_paged,
};

BN_PLUGIN_EXPORT const bn_backend *bn_plugin_entry(void);

BN_PLUGIN_EXPORT const bn_backend *bn_plugin_entry(void) {
    return &a5_backend;
}
