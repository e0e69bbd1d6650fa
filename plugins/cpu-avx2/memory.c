/*
 * Host memory: buffers are plain host memory from the core's aligned
 * allocator, so upload/download are bounded memcpy calls and synchronize
 * has nothing to wait for. Also the context's grow-only scratch areas, so
 * the hot ops allocate nothing per call.
 */
#include <string.h>

#include "avx2_internal.h"

void *ax_alloc(bn_backend_ctx *ctx, size_t size) {
    return ctx->svc->aligned_alloc(ctx->svc->core, AX_ALIGN, size ? size : 1);
}

void ax_free(bn_backend_ctx *ctx, void *p) {
    if (p)
        ctx->svc->aligned_free(ctx->svc->core, p);
}

void ax_parallel(bn_backend_ctx *ctx, int64_t n, int64_t grain, bn_range_fn fn, void *arg) {
    const bn_services *svc = ctx->svc;
    if (n <= 0)
        return;
    if (offsetof(bn_services, parallel_for) + sizeof svc->parallel_for <= svc->struct_size &&
        svc->parallel_for)
        svc->parallel_for(svc->core, n, grain, fn, arg);
    else
        fn(arg, 0, n, 0);
}

bn_status ax_buffer_alloc(bn_backend_ctx *ctx, size_t size, bn_buffer **out) {
    if (!ctx || !out)
        return pc_fail(ctx, BN_ERR_INVALID, "buffer_alloc: NULL argument");
    *out = NULL;
    bn_buffer *b = ax_alloc(ctx, sizeof *b);
    if (!b)
        return pc_fail(ctx, BN_ERR_NOMEM, "buffer_alloc: out of memory");
    b->size = size;
    b->data = ax_alloc(ctx, size);
    if (!b->data) {
        ax_free(ctx, b);
        return pc_fail(ctx, BN_ERR_NOMEM, "buffer_alloc: cannot allocate %zu bytes", size);
    }
    *out = b;
    return BN_OK;
}

void ax_buffer_free(bn_backend_ctx *ctx, bn_buffer *buf) {
    if (!ctx || !buf)
        return;
    ax_free(ctx, buf->data);
    ax_free(ctx, buf);
}

void *ax_buffer_base(bn_backend_ctx *ctx, bn_buffer *buf) {
    (void)ctx;
    return buf ? buf->data : NULL;
}

int ax_buffer_is_host(bn_backend_ctx *ctx, bn_buffer *buf) {
    (void)ctx;
    (void)buf;
    return 1;
}

static bn_status check_range(bn_backend_ctx *ctx, const char *op, const bn_buffer *b, size_t offset,
                             const void *p, size_t n) {
    if (!b || (!p && n))
        return pc_fail(ctx, BN_ERR_INVALID, "%s: NULL buffer or pointer", op);
    if (offset > b->size || n > b->size - offset)
        return pc_fail(ctx, BN_ERR_INVALID, "%s: range [%zu, %zu + %zu) exceeds buffer of %zu bytes", op,
                        offset, offset, n, b->size);
    return BN_OK;
}

bn_status ax_upload(bn_backend_ctx *ctx, bn_buffer *dst, size_t offset, const void *src, size_t n) {
    bn_status st = check_range(ctx, "upload", dst, offset, src, n);
    if (st == BN_OK && n)
        memcpy((char *)dst->data + offset, src, n);
    return st;
}

bn_status ax_download(bn_backend_ctx *ctx, bn_buffer *src, size_t offset, void *dst, size_t n) {
    bn_status st = check_range(ctx, "download", src, offset, dst, n);
    if (st == BN_OK && n)
        memcpy(dst, (const char *)src->data + offset, n);
    return st;
}

bn_status ax_synchronize(bn_backend_ctx *ctx) {
    (void)ctx;
    return BN_OK;
}

void *ax_scratch_get(bn_backend_ctx *ctx, int slot, size_t size) {
    ax_scratch *sc = &ctx->scratch[slot];
    if (atomic_flag_test_and_set(&sc->busy))
        return ax_alloc(ctx, size); /* someone else holds the area: private block */
    if (sc->size < size) {
        ax_free(ctx, sc->p);
        sc->size = 0;
        /* grow with headroom so a slowly rising size does not reallocate each call */
        size_t want = size + size / 4;
        sc->p = ax_alloc(ctx, want);
        if (!sc->p) {
            atomic_flag_clear(&sc->busy);
            return NULL;
        }
        sc->size = want;
    }
    return sc->p;
}

void ax_scratch_put(bn_backend_ctx *ctx, int slot, void *p) {
    ax_scratch *sc = &ctx->scratch[slot];
    if (!p)
        return;
    if (p == sc->p)
        atomic_flag_clear(&sc->busy);
    else
        ax_free(ctx, p);
}

void ax_scratch_release_all(bn_backend_ctx *ctx) {
    for (int i = 0; i < AX_SCR_COUNT; i++) {
        ax_free(ctx, ctx->scratch[i].p);
        ctx->scratch[i].p = NULL;
        ctx->scratch[i].size = 0;
    }
}

void ax_init_tables(bn_backend_ctx *ctx) {
    for (uint32_t h = 0; h < 65536; h++)
        ctx->f16_table[h] = pc_f16_to_f32((uint16_t)h);
    for (int i = 0; i < AX_SCR_COUNT; i++)
        atomic_flag_clear(&ctx->scratch[i].busy);
}
