/*
 * Entry point of the cpu-avx512 plugin: its score, its part of the context
 * and its table of ops. Errors, capability query and host memory: the
 * skeleton (plugins/common/plugin_common.h).
 *
 * This file is compiled WITHOUT AVX-512 flags: bn_plugin_entry and score()
 * run on any x86-64 before the core knows the CPU can run the rest.
 */
#include <stdio.h>

#include "a5_internal.h"

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

static bn_status a5_init(bn_backend_ctx *ctx, const bn_hw_info *hw) {
    uint32_t isa = hw ? hw->isa : 0;
    ctx->has_vnni = (isa & BN_ISA_AVX512VNNI) != 0;
    ctx->has_vbmi = (isa & BN_ISA_AVX512VBMI) != 0;
    return BN_OK;
}

/* MAD: matmul_ternary.c; TL1 / TL2: the vpermw LUT kernels of lut_matmul.c.
 * KV cache F32, F16 or Q8_0 (attention.c; copy to Q8_0 in plugins/common). */
const pc_plugin pc_this_plugin = {
    .ctx_size = sizeof(bn_backend_ctx),
    .init = a5_init,
    .caps = {.max_kernel = BN_KERNEL_TL2, .kv_q8 = 1},
    .attention = a5_attention_run,
    .quantize_row = a5_quantize_row,
};

static const bn_backend a5_backend = {
    .info = PC_BACKEND_INFO("cpu-avx512", "0.1.0",
                            "x86-64 AVX-512 (F/BW/VL; VNNI where present): ternary MAD GEMV/GEMM, vpermw LUT kernels (TL1/TL2), F16/Q8_0 heads",
                            BN_DEVICE_CPU),
    PC_SKELETON_SLOTS,
    PC_HOST_MEMORY_SLOTS,
    .score = a5_score,
    .supports = pc_supports,
    .weight_prepare = a5_weight_prepare,
    .weight_free = a5_weight_free,
    .matmul = a5_matmul,
    .quantize_act = pc_quantize_act,
    .dequantize = a5_dequantize,
    .get_rows = a5_get_rows,
    .rms_norm = a5_rms_norm,
    .rope = a5_rope,
    .softmax = pc_softmax,
    .attention = pc_attention,
    .ffn_act = a5_ffn_act,
    .add = a5_add,
    .copy = a5_copy,
    .encode = pc_encode,
    .attention_paged = pc_attention_paged,
};

PC_PLUGIN_ENTRY(a5_backend)
