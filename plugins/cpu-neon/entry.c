/*
 * Entry point of the cpu-neon plugin: its score, the kernel paths this CPU
 * allows, and its table of ops. Context, errors, capability query and host
 * memory: the skeleton (plugins/common/plugin_common.h).
 *
 * Compiled for plain armv8-a like every file but matmul_dot.c and
 * matmul_mmla.c: score() runs on any AArch64 CPU.
 */
#include <stdio.h>

#include "neon_internal.h"

/* 100 with NEON, +50 with dotprod (sdot kernels), +20 with i8mm (smmla
 * GEMM), so a better-equipped CPU ranks this plugin higher against a
 * vendor's. The reason names the paths in use and those not available. */
static int nn_score(const bn_hw_info *hw, char *why, size_t why_len) {
    if (why && why_len)
        why[0] = '\0';
    if (!hw || !(hw->isa & BN_ISA_NEON)) {
        if (why && why_len)
            snprintf(why, why_len, "needs AArch64 Advanced SIMD (NEON); %s",
                     hw ? "this CPU/OS does not report it" : "no hardware description");
        return 0;
    }
    int dot = (hw->isa & BN_ISA_DOTPROD) != 0, mmla = (hw->isa & BN_ISA_I8MM) != 0;
    if (why && why_len)
        snprintf(why, why_len, "ternary kernels: %s; dotprod (sdot) path: %s; i8mm (smmla) path: %s",
                 mmla ? "smmla + sdot" : dot ? "sdot" : "base NEON (int16, no dotprod)",
                 dot ? "available" : "unavailable", mmla ? "available" : "unavailable");
    return 100 + 50 * dot + 20 * mmla;
}

static bn_status nn_init(bn_backend_ctx *ctx, const bn_hw_info *hw) {
    ctx->has_dot = (hw->isa & BN_ISA_DOTPROD) != 0;
    ctx->has_mmla = ctx->has_dot && (hw->isa & BN_ISA_I8MM) != 0;
    return BN_OK;
}

/* AUTO resolves to MAD; TL1 / TL2 are the tbl LUT kernels of lut.c. */
const pc_plugin pc_this_plugin = {
    .ctx_size = sizeof(bn_backend_ctx),
    .init_gate = nn_score,
    .init = nn_init,
    .caps = {.max_kernel = BN_KERNEL_TL2, .kv_q8 = 1},
    .attention = nn_attention_run,
    .quantize_row = nn_quantize_row,
};

static const bn_backend nn_backend = {
    .info = PC_BACKEND_INFO("cpu-neon", "0.1.0",
                            "AArch64 NEON: sdot / base-NEON ternary GEMV, smmla GEMM, tbl LUT kernels",
                            BN_DEVICE_CPU),
    PC_SKELETON_SLOTS,
    PC_HOST_MEMORY_SLOTS,
    .score = nn_score,
    .supports = pc_supports,
    .weight_prepare = pc_mad_weight_prepare,
    .weight_free = pc_mad_weight_free,
    .matmul = nn_matmul,
    .quantize_act = pc_quantize_act,
    .dequantize = pc_mad_dequantize,
    .get_rows = pc_mad_get_rows,
    .rms_norm = nn_rms_norm,
    .rope = nn_rope,
    .softmax = pc_softmax,
    .attention = pc_attention,
    .ffn_act = nn_ffn_act,
    .add = nn_add,
    .copy = pc_copy,
    .encode = pc_encode,
    .attention_paged = pc_attention_paged,
};

PC_PLUGIN_ENTRY(nn_backend)
