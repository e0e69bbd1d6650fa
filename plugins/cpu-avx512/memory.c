/*
 * Host memory: every buffer of this plugin is plain host memory
 * from the core's aligned allocator, so upload/download are bounded
 * memcpy calls and synchronize has nothing to wait for.
 */
#include <string.h>

#include "a5_internal.h"

void *a5_alloc(bn_backend_ctx *ctx, size_t size) {
    return ctx->svc->aligned_alloc(ctx->svc->core, A5_ALIGN, size ? size : 1);
}

void a5_free(bn_backend_ctx *ctx, void *p) {
    if (p)
        ctx->svc->aligned_free(ctx->svc->core, p);
}

void a5_parallel(bn_backend_ctx *ctx, int64_t n, int64_t grain, bn_range_fn fn, void *arg) {
    const bn_services *svc = ctx->svc;
    if (n <= 0)
        return;
    if (offsetof(bn_services, parallel_for) + sizeof svc->parallel_for <= svc->struct_size &&
        svc->parallel_for)
        svc->parallel_for(svc->core, n, grain, fn, arg);
    else
        fn(arg, 0, n, 0);
}

/* The context's scratch area is reused across calls (no allocation on the
 * hot path once it has grown); a second, concurrent user gets its own. */
void *a5_scratch_get(bn_backend_ctx *ctx, size_t size) {
    if (atomic_flag_test_and_set(&ctx->scratch_busy))
        return a5_alloc(ctx, size);
    if (ctx->scratch_size < size) {
        a5_free(ctx, ctx->scratch);
        ctx->scratch = a5_alloc(ctx, size);
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
        a5_free(ctx, p);
}

bn_status a5_buffer_alloc(bn_backend_ctx *ctx, size_t size, bn_buffer **out) {
    if (!ctx || !out)
        return pc_fail(ctx, BN_ERR_INVALID, "buffer_alloc: NULL argument");
    *out = NULL;
    bn_buffer *b = a5_alloc(ctx, sizeof *b);
    if (!b)
        return pc_fail(ctx, BN_ERR_NOMEM, "buffer_alloc: out of memory");
    b->size = size;
    b->data = a5_alloc(ctx, size);
    if (!b->data) {
        a5_free(ctx, b);
        return pc_fail(ctx, BN_ERR_NOMEM, "buffer_alloc: cannot allocate %zu bytes", size);
    }
    *out = b;
    return BN_OK;
}

void a5_buffer_free(bn_backend_ctx *ctx, bn_buffer *buf) {
    if (!ctx || !buf)
        return;
    a5_free(ctx, buf->data);
    a5_free(ctx, buf);
}

void *a5_buffer_base(bn_backend_ctx *ctx, bn_buffer *buf) {
    (void)ctx;
    return buf ? buf->data : NULL;
}

int a5_buffer_is_host(bn_backend_ctx *ctx, bn_buffer *buf) {
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

bn_status a5_upload(bn_backend_ctx *ctx, bn_buffer *dst, size_t offset, const void *src, size_t n) {
    bn_status st = check_range(ctx, "upload", dst, offset, src, n);
    if (st == BN_OK && n)
        memcpy((char *)dst->data + offset, src, n);
    return st;
}

bn_status a5_download(bn_backend_ctx *ctx, bn_buffer *src, size_t offset, void *dst, size_t n) {
    bn_status st = check_range(ctx, "download", src, offset, dst, n);
    if (st == BN_OK && n)
        memcpy(dst, (const char *)src->data + offset, n);
    return st;
}

bn_status a5_synchronize(bn_backend_ctx *ctx) {
    (void)ctx;
    return BN_OK;
}
