/*
 * Entry point of the cpu-avx2 plugin: its score and its table of ops.
 * Context, errors, capability query and host memory: the skeleton
 * (plugins/common/plugin_common.h).
 *
 * This file is compiled WITHOUT -mavx2/-mfma/-mf16c: the core calls
 * score() on any x86-64 (or other) machine, so nothing here may execute an
 * AVX instruction. AVX2 code lives in the other files and only runs after
 * score() said yes and the core called init().
 */
#include <stdio.h>
#include <string.h>

#include "avx2_internal.h"

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

/* init refuses on a CPU score() turns down; AUTO resolves to MAD; TL1 / TL2
 * are the pshufb LUT kernels of lut.c. */
const pc_plugin pc_this_plugin = {
    .ctx_size = sizeof(bn_backend_ctx),
    .init_gate = ax_score,
    .caps = {.max_kernel = BN_KERNEL_TL2, .kv_q8 = 1},
    .attention = ax_attention_run,
    .quantize_row = ax_quantize_row,
};

static const bn_backend ax_backend = {
    .info = PC_BACKEND_INFO("cpu-avx2", "0.1.0",
                            "x86-64 AVX2 + FMA + F16C: maddubs ternary GEMV/GEMM, pshufb LUT kernels",
                            BN_DEVICE_CPU),
    PC_SKELETON_SLOTS,
    PC_HOST_MEMORY_SLOTS,
    .score = ax_score,
    .supports = pc_supports,
    .weight_prepare = pc_mad_weight_prepare,
    .weight_free = pc_mad_weight_free,
    .matmul = ax_matmul,
    .quantize_act = pc_quantize_act,
    .dequantize = pc_mad_dequantize,
    .get_rows = pc_mad_get_rows,
    .rms_norm = ax_rms_norm,
    .rope = ax_rope,
    .softmax = pc_softmax,
    .attention = pc_attention,
    .ffn_act = ax_ffn_act,
    .add = ax_add,
    .copy = pc_copy,
    .encode = pc_encode,
    .attention_paged = pc_attention_paged,
};

PC_PLUGIN_ENTRY(ax_backend)
