/* GGUF writer: serialising to a temporary file, then renaming it into
 * place, so readers never see a half-written model. Tensor data goes from
 * the caller's memory (or fill callback) straight to the file. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gguf_writer.h"

#define FILL_CHUNK ((size_t)1 << 20)

typedef struct out_file {
    int fd;
    const char *path; /* final path, for messages */
    uint64_t pos;
    gguf_buf buf; /* small writes are gathered here */
} out_file;

static bn_status write_all(out_file *f, const void *p, size_t n) {
    const uint8_t *c = p;
    while (n) {
        size_t chunk = n > ((size_t)1 << 30) ? ((size_t)1 << 30) : n;
        ssize_t k = write(f->fd, c, chunk);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return bn_fail(BN_ERR_IO, "%s: write failed at offset %" PRIu64 ": %s", f->path, f->pos, strerror(errno));
        }
        c += k;
        n -= (size_t)k;
        f->pos += (uint64_t)k;
    }
    return BN_OK;
}

static bn_status flush(out_file *f) {
    if (f->buf.oom)
        return bn_fail(BN_ERR_NOMEM, "out of memory writing %s", f->path);
    bn_status st = write_all(f, f->buf.p, f->buf.len);
    f->buf.len = 0;
    return st;
}

static bn_status put(out_file *f, const void *p, size_t n) {
    if (n >= (1u << 16)) {
        bn_status st = flush(f);
        return st ? st : write_all(f, p, n);
    }
    gguf_buf_put(&f->buf, p, n);
    return f->buf.len >= (1u << 16) ? flush(f) : (f->buf.oom ? flush(f) : BN_OK);
}

static bn_status pad_to(out_file *f, uint64_t alignment) {
    static const uint8_t zeros[256];
    uint64_t at = f->pos + f->buf.len, to = gguf_align_up(at, alignment);
    bn_status st = BN_OK;
    while (!st && at < to) {
        size_t n = to - at > sizeof zeros ? sizeof zeros : (size_t)(to - at);
        st = put(f, zeros, n);
        at += n;
    }
    return st;
}

static bn_status get_alignment(const bn_gguf_writer *w, uint32_t *alignment) {
    *alignment = BN_GGUF_DEFAULT_ALIGNMENT;
    for (size_t i = 0; i < w->n_kv; i++) {
        if (strcmp(w->kv[i].key, "general.alignment") != 0)
            continue;
        uint32_t type = 0, a = 0;
        memcpy(&type, w->kv[i].val.p, 4);
        if (type != BN_GGUF_U32)
            return bn_fail(BN_ERR_INVALID, "gguf writer: general.alignment must be uint32, is %s",
                           bn_gguf_vtype_name((int)type));
        memcpy(&a, w->kv[i].val.p + 4, 4);
        if (a == 0 || (a & (a - 1)) || a > (1u << 30))
            return bn_fail(BN_ERR_INVALID, "gguf writer: general.alignment %" PRIu32 " is not a power of two", a);
        *alignment = a;
    }
    return BN_OK;
}

static bn_status write_header(out_file *f, bn_gguf_writer *w, uint32_t alignment) {
    gguf_buf *b = &f->buf;
    gguf_buf_put(b, BN_GGUF_MAGIC, 4);
    gguf_buf_u32(b, 3);
    gguf_buf_u64(b, w->n_t);
    gguf_buf_u64(b, w->n_kv);
    bn_status st = BN_OK;
    for (size_t i = 0; i < w->n_kv && !st; i++) {
        gguf_buf_str(b, w->kv[i].key, strlen(w->kv[i].key));
        st = put(f, w->kv[i].val.p, w->kv[i].val.len);
    }
    uint64_t off = 0;
    for (size_t i = 0; i < w->n_t && !st; i++) {
        gguf_wtensor *t = &w->t[i];
        t->offset = off;
        gguf_buf_str(b, t->name, strlen(t->name));
        gguf_buf_u32(b, t->n_dims);
        for (uint32_t d = 0; d < t->n_dims; d++)
            gguf_buf_u64(b, (uint64_t)t->ne[d]);
        gguf_buf_u32(b, t->type);
        gguf_buf_u64(b, t->offset);
        if (t->size > UINT64_MAX - alignment - off)
            return bn_fail(BN_ERR_INVALID, "gguf writer: total tensor size overflows");
        off = gguf_align_up(off + t->size, alignment);
        st = put(f, NULL, 0);
    }
    return st ? st : pad_to(f, alignment);
}

static bn_status write_tensor(out_file *f, const gguf_wtensor *t, uint8_t **chunk) {
    if (t->data)
        return put(f, t->data, (size_t)t->size);
    bn_status st = flush(f);
    if (!st && !*chunk && !(*chunk = malloc(FILL_CHUNK)))
        return bn_fail(BN_ERR_NOMEM, "out of memory");
    for (uint64_t at = 0; !st && at < t->size; at += FILL_CHUNK) {
        size_t n = t->size - at < FILL_CHUNK ? (size_t)(t->size - at) : FILL_CHUNK;
        st = t->fill(t->arg, at, *chunk, n);
        if (st) {
            char why[400];
            snprintf(why, sizeof why, "%s", bn_last_error());
            return bn_fail(st, "gguf writer: tensor '%s': producing bytes at %" PRIu64 " failed: %s", t->name, at,
                           why);
        }
        st = write_all(f, *chunk, n);
    }
    return st;
}

static bn_status write_body(out_file *f, bn_gguf_writer *w) {
    uint32_t alignment = BN_GGUF_DEFAULT_ALIGNMENT;
    bn_status st = get_alignment(w, &alignment);
    if (!st)
        st = write_header(f, w, alignment);
    uint64_t data_start = f->pos + f->buf.len;
    uint8_t *chunk = NULL;
    for (size_t i = 0; i < w->n_t && !st; i++) {
        if (f->pos + f->buf.len != data_start + w->t[i].offset)
            st = bn_fail(BN_ERR_INTERNAL, "gguf writer: tensor '%s' misplaced", w->t[i].name);
        if (!st)
            st = write_tensor(f, &w->t[i], &chunk);
        if (!st)
            st = pad_to(f, alignment);
    }
    free(chunk);
    return st ? st : flush(f);
}

bn_status bn_gguf_writer_write(bn_gguf_writer *w, const char *path) {
    if (!w || !path || !*path)
        return bn_fail(BN_ERR_INVALID, "bn_gguf_writer_write: NULL writer or empty path");
    size_t pl = strlen(path);
    char *tmp = malloc(pl + 16);
    if (!tmp)
        return bn_fail(BN_ERR_NOMEM, "out of memory");
    snprintf(tmp, pl + 16, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        bn_status st = bn_fail(BN_ERR_IO, "%s: cannot create temporary file %s: %s", path, tmp, strerror(errno));
        free(tmp);
        return st;
    }
    out_file f = {.fd = fd, .path = path};
    bn_status st = write_body(&f, w);
    if (!st && fchmod(fd, 0644) != 0)
        st = bn_fail(BN_ERR_IO, "%s: chmod: %s", tmp, strerror(errno));
    if (!st && fsync(fd) != 0)
        st = bn_fail(BN_ERR_IO, "%s: fsync: %s", path, strerror(errno));
    if (close(fd) != 0 && !st)
        st = bn_fail(BN_ERR_IO, "%s: close: %s", path, strerror(errno));
    if (!st && rename(tmp, path) != 0)
        st = bn_fail(BN_ERR_IO, "%s: rename from %s: %s", path, tmp, strerror(errno));
    if (st)
        unlink(tmp);
    free(f.buf.p);
    free(tmp);
    return st;
}
