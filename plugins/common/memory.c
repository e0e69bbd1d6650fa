/*
 * Host memory of the CPU plugins: buffers are plain host memory from the
 * core's aligned allocator, so upload/download are bounded memcpy calls and
 * synchronize has nothing to wait for. Also the context's grow-only scratch
 * areas, so the hot ops allocate nothing per call.
 */
#include <string.h>

#include "plugin_common.h"

/* A host-memory plugin's buffer: nothing outside this file looks inside. */
struct bn_buffer {
    void *data;
    size_t size;
};

void *pc_alloc(bn_backend_ctx *ctx, size_t size) {
    const bn_services *svc = pc_base(ctx)->svc;
    return svc->aligned_alloc(svc->core, PC_ALIGN, size ? size : 1);
}

void pc_free(bn_backend_ctx *ctx, void *p) {
    const bn_services *svc = pc_base(ctx)->svc;
    if (p)
        svc->aligned_free(svc->core, p);
}

void pc_parallel(bn_backend_ctx *ctx, int64_t n, int64_t grain, bn_range_fn fn, void *arg) {
    const bn_services *svc = pc_base(ctx)->svc;
    if (n <= 0)
        return;
    if (offsetof(bn_services, parallel_for) + sizeof svc->parallel_for <= svc->struct_size &&
        svc->parallel_for)
        svc->parallel_for(svc->core, n, grain, fn, arg);
    else
        fn(arg, 0, n, 0);
}

bn_status pc_buffer_alloc(bn_backend_ctx *ctx, size_t size, bn_buffer **out) {
    if (!ctx || !out)
        return pc_fail(ctx, BN_ERR_INVALID, "buffer_alloc: NULL argument");
    *out = NULL;
    bn_buffer *b = pc_alloc(ctx, sizeof *b);
    if (!b)
        return pc_fail(ctx, BN_ERR_NOMEM, "buffer_alloc: out of memory");
    b->size = size;
    b->data = pc_alloc(ctx, size);
    if (!b->data) {
        pc_free(ctx, b);
        return pc_fail(ctx, BN_ERR_NOMEM, "buffer_alloc: cannot allocate %zu bytes", size);
    }
    *out = b;
    return BN_OK;
}

void pc_buffer_free(bn_backend_ctx *ctx, bn_buffer *buf) {
    if (!ctx || !buf)
        return;
    pc_free(ctx, buf->data);
    pc_free(ctx, buf);
}

void *pc_buffer_base(bn_backend_ctx *ctx, bn_buffer *buf) {
    (void)ctx;
    return buf ? buf->data : NULL;
}

int pc_buffer_is_host(bn_backend_ctx *ctx, bn_buffer *buf) {
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

bn_status pc_upload(bn_backend_ctx *ctx, bn_buffer *dst, size_t offset, const void *src, size_t n) {
    bn_status st = check_range(ctx, "upload", dst, offset, src, n);
    if (st == BN_OK && n)
        memcpy((char *)dst->data + offset, src, n);
    return st;
}

bn_status pc_download(bn_backend_ctx *ctx, bn_buffer *src, size_t offset, void *dst, size_t n) {
    bn_status st = check_range(ctx, "download", src, offset, dst, n);
    if (st == BN_OK && n)
        memcpy(dst, (const char *)src->data + offset, n);
    return st;
}

bn_status pc_synchronize(bn_backend_ctx *ctx) {
    (void)ctx;
    return BN_OK;
}

void *pc_scratch_get(bn_backend_ctx *ctx, int slot, size_t size) {
    pc_scratch *sc = &pc_base(ctx)->scratch[slot];
    if (atomic_flag_test_and_set(&sc->busy))
        return pc_alloc(ctx, size); /* someone else holds the area: private block */
    if (sc->size < size) {
        pc_free(ctx, sc->p);
        sc->size = 0;
        /* grow with headroom so a slowly rising size does not reallocate each call */
        size_t want = size + size / 4;
        sc->p = pc_alloc(ctx, want);
        if (!sc->p) {
            atomic_flag_clear(&sc->busy);
            return NULL;
        }
        sc->size = want;
    }
    return sc->p;
}

void pc_scratch_put(bn_backend_ctx *ctx, int slot, void *p) {
    pc_scratch *sc = &pc_base(ctx)->scratch[slot];
    if (!p)
        return;
    if (p == sc->p)
        atomic_flag_clear(&sc->busy);
    else
        pc_free(ctx, p);
}
