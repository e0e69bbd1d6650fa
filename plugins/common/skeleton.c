/*
 * The skeleton every CPU plugin shares: error messages, init / shutdown /
 * last_error over the common context (pc_ctx), the capability query over
 * the plugin's pc_caps, and the two attention slots over its attention
 * implementation. What is the plugin's own comes from pc_this_plugin,
 * which its entry.c defines.
 *
 * Compiled without any target flags: init runs before anything else of
 * the plugin and must not execute an instruction score() did not vouch for.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "plugin_common.h"

const float *pc_f16_lut(const bn_backend_ctx *ctx) { return pc_base_const(ctx)->f16_table; }

bn_status pc_fail(bn_backend_ctx *ctx, bn_status st, const char *fmt, ...) {
    if (ctx) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(pc_base(ctx)->err, sizeof pc_base(ctx)->err, fmt, ap);
        va_end(ap);
    }
    return st;
}

/* A services slot is usable when the core's struct is large enough to hold it. */
#define SVC_HAS(svc, field)                                                                         \
    ((svc) && offsetof(bn_services, field) + sizeof((svc)->field) <= (svc)->struct_size &&          \
     (svc)->field)

static void release_scratch(bn_backend_ctx *ctx) {
    pc_ctx *pc = pc_base(ctx);
    for (int i = 0; i < PC_SCRATCH_SLOTS; i++) {
        pc_free(ctx, pc->scratch[i].p);
        pc->scratch[i].p = NULL;
        pc->scratch[i].size = 0;
    }
}

bn_status pc_init(const bn_services *svc, const bn_hw_info *hw, bn_backend_ctx **out) {
    const pc_plugin *pl = &pc_this_plugin;
    if (!out)
        return BN_ERR_INVALID;
    *out = NULL;
    if (!svc || !SVC_HAS(svc, aligned_alloc) || !SVC_HAS(svc, aligned_free))
        return BN_ERR_INVALID;
    if (pl->init_gate) {
        char why[128];
        if (pl->init_gate(hw, why, sizeof why) == 0)
            return BN_ERR_UNSUPPORTED;
    }
    bn_backend_ctx *ctx = svc->aligned_alloc(svc->core, PC_ALIGN, pl->ctx_size);
    if (!ctx)
        return BN_ERR_NOMEM;
    memset(ctx, 0, pl->ctx_size);
    pc_ctx *pc = pc_base(ctx);
    pc->svc = svc;
    pc->n_threads = SVC_HAS(svc, n_threads) ? svc->n_threads(svc->core) : 1;
    if (pc->n_threads < 1)
        pc->n_threads = 1;
    /* The table makes fp16 decoding cheap in the hot loops while every
     * entry still comes from the one bit-exact conversion function. */
    for (uint32_t h = 0; h < 65536; h++)
        pc->f16_table[h] = pc_f16_to_f32((uint16_t)h);
    for (int i = 0; i < PC_SCRATCH_SLOTS; i++)
        atomic_flag_clear(&pc->scratch[i].busy);
    if (pl->init) {
        bn_status st = pl->init(ctx, hw);
        if (st != BN_OK) {
            release_scratch(ctx);
            svc->aligned_free(svc->core, ctx);
            return st;
        }
    }
    *out = ctx;
    return BN_OK;
}

void pc_shutdown(bn_backend_ctx *ctx) {
    if (!ctx)
        return;
    if (pc_this_plugin.shutdown)
        pc_this_plugin.shutdown(ctx);
    release_scratch(ctx);
    const bn_services *svc = pc_base(ctx)->svc;
    svc->aligned_free(svc->core, ctx);
}

const char *pc_last_error(bn_backend_ctx *ctx) {
    return ctx ? pc_base(ctx)->err : "";
}

/* ---- capability query ------------------------------------------------------------ */

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

static int supports_matmul(const bn_op_desc *d, const pc_caps *caps) {
    int w = d->wtype, x = d->xtype, y = d->ytype, k = d->kernel;
    if (is_ternary_storage(w) || is_any(w)) {
        int ok_k = k >= BN_KERNEL_AUTO && k <= caps->max_kernel;
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

int pc_supports_caps(const bn_op_desc *d, const pc_caps *caps) {
    if (!d)
        return 0;
    int w = d->wtype, x = d->xtype, y = d->ytype;
    switch (d->op) {
    case BN_OP_MATMUL:
        return supports_matmul(d, caps);
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
               (is_any(w) || w == BN_TYPE_F32 || w == BN_TYPE_F16 || (caps->kv_q8 && w == BN_TYPE_Q8_0));
    case BN_OP_COPY: /* with kv_q8 also F32 -> Q8_0 and Q8_0 -> Q8_0, the 8-bit KV cache */
        return ((is_any(x) || is_float_act(x)) && (is_any(y) || is_float_act(y))) ||
               (caps->kv_q8 && (is_any(x) || x == BN_TYPE_F32 || x == BN_TYPE_Q8_0) && y == BN_TYPE_Q8_0);
    case BN_OP_ENCODE:
        return is_any(w) || is_ternary_storage(w) || w == BN_TYPE_F32 || w == BN_TYPE_F16 ||
               w == BN_TYPE_BF16 || w == BN_TYPE_Q8_0;
    default:
        return 0;
    }
}

int pc_supports(bn_backend_ctx *ctx, const bn_op_desc *d) {
    (void)ctx;
    return pc_supports_caps(d, &pc_this_plugin.caps);
}
