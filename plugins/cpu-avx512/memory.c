/*
 * This plugin's one scratch area for activation staging (buffers, upload,
 * download and the rest of host memory: plugins/common/memory.c).
 */
#include "a5_internal.h"

/* The context's scratch area is reused across calls (no allocation on the
 * hot path once it has grown); a second, concurrent user gets its own. */
void *a5_scratch_get(bn_backend_ctx *ctx, size_t size) {
    if (atomic_flag_test_and_set(&ctx->scratch_busy))
        return pc_alloc(ctx, size);
    if (ctx->scratch_size < size) {
        pc_free(ctx, ctx->scratch);
        ctx->scratch = pc_alloc(ctx, size);
        ctx->scratch_size = ctx->scratch ? size : 0;
        if (!ctx->scratch) {
            atomic_flag_clear(&ctx->scratch_busy);
            return NULL;
        }
    }
    return ctx->scratch;
}

void a5_scratch_put(bn_backend_ctx *ctx, void *p) {
    if (!p)
        return;
    if (p == ctx->scratch)
        atomic_flag_clear(&ctx->scratch_busy);
    else
        pc_free(ctx, p);
}
