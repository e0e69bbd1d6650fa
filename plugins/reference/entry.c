/*
 * Entry point of the reference plugin: its score and its table of ops.
 * Context, errors, capability query and host memory: the skeleton
 * (plugins/common/plugin_common.h).
 */
#include "ref_internal.h"

/* Portable C runs on every machine; 10 (the ABI's convention for the
 * reference) lets any specialised plugin win while it still serves as the
 * fallback. */
static int ref_score(const bn_hw_info *hw, char *why, size_t why_len) {
    (void)hw;
    if (why && why_len)
        why[0] = '\0';
    return 10;
}

const pc_plugin pc_this_plugin = {
    .ctx_size = sizeof(bn_backend_ctx),
    .caps = {.max_kernel = BN_KERNEL_TL2, .kv_q8 = 1},
    .attention = ref_attention_run,
    .quantize_row = ref_quantize_row,
};

static const bn_backend ref_backend = {
    .info = PC_BACKEND_INFO("reference", "0.1.0", "portable C11 reference: every op, the numerical oracle",
                            BN_DEVICE_CPU),
    PC_SKELETON_SLOTS,
    PC_HOST_MEMORY_SLOTS,
    .score = ref_score,
    .supports = pc_supports,
    .weight_prepare = ref_weight_prepare,
    .weight_free = ref_weight_free,
    .matmul = ref_matmul,
    .quantize_act = pc_quantize_act,
    .dequantize = ref_dequantize,
    .get_rows = ref_get_rows,
    .rms_norm = ref_rms_norm,
    .rope = ref_rope,
    .softmax = pc_softmax,
    .attention = pc_attention,
    .ffn_act = ref_ffn_act,
    .add = ref_add,
    .copy = pc_copy,
    .encode = pc_encode,
    .attention_paged = pc_attention_paged,
};

PC_PLUGIN_ENTRY(ref_backend)
