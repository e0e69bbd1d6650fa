/* Opening a GGUF file (mmap or caller memory) and the file-level accessors. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gguf_internal.h"

static bn_status finish_open(bn_gguf *g, bn_gguf **out) {
    bn_status st = gguf_parse(g);
    if (st) {
        bn_gguf_close(g);
        return st;
    }
    *out = g;
    return BN_OK;
}

bn_status bn_gguf_open_memory(const void *data, size_t size, bn_gguf **out) {
    if (!out)
        return bn_fail(BN_ERR_INVALID, "bn_gguf_open_memory: out is NULL");
    *out = NULL;
    if (!data && size)
        return bn_fail(BN_ERR_INVALID, "bn_gguf_open_memory: data is NULL");
    bn_gguf *g = calloc(1, sizeof *g);
    if (!g)
        return bn_fail(BN_ERR_NOMEM, "out of memory");
    g->base = data ? data : (const uint8_t *)"";
    g->size = size;
    return finish_open(g, out);
}

bn_status bn_gguf_open(const char *path, bn_gguf **out) {
    if (!out || !path)
        return bn_fail(BN_ERR_INVALID, "bn_gguf_open: NULL argument");
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return bn_fail(errno == ENOENT ? BN_ERR_NOT_FOUND : BN_ERR_IO, "%s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return bn_fail(BN_ERR_IO, "%s: %s", path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return bn_fail(BN_ERR_IO, "%s: not a regular file", path);
    }
    if (sb.st_size < 4 || (uint64_t)sb.st_size > SIZE_MAX) {
        close(fd);
        return bn_fail(BN_ERR_FORMAT, "%s: not a GGUF file (size %lld bytes)", path, (long long)sb.st_size);
    }
    void *p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (p == MAP_FAILED)
        return bn_fail(BN_ERR_IO, "%s: mmap failed: %s", path, strerror(e));
    bn_gguf *g = calloc(1, sizeof *g);
    if (!g) {
        munmap(p, (size_t)sb.st_size);
        return bn_fail(BN_ERR_NOMEM, "out of memory");
    }
    g->base = p;
    g->size = (uint64_t)sb.st_size;
    g->mapped = 1;
    bn_status st = finish_open(g, out);
    if (st) {
        /* Prefix the path so the caller's message says which file. */
        char msg[512];
        snprintf(msg, sizeof msg, "%s", bn_last_error());
        bn_fail(st, "%s: %s", path, msg);
    }
    return st;
}

void bn_gguf_close(bn_gguf *g) {
    if (!g)
        return;
    if (g->mapped)
        munmap((void *)g->base, (size_t)g->size);
    gguf_arena_free(&g->arena);
    free(g);
}

uint32_t bn_gguf_version(const bn_gguf *g) { return g->version; }
uint64_t bn_gguf_file_size(const bn_gguf *g) { return g->size; }
uint32_t bn_gguf_alignment(const bn_gguf *g) { return g->alignment; }
uint64_t bn_gguf_data_offset(const bn_gguf *g) { return g->data_offset; }
const void *bn_gguf_base(const bn_gguf *g) { return g->base; }

uint64_t bn_gguf_kv_count(const bn_gguf *g) { return g->n_kv; }

const char *bn_gguf_kv_key(const bn_gguf *g, uint64_t i) { return i < g->n_kv ? g->keys[i] : NULL; }

const bn_gguf_value *bn_gguf_kv_value(const bn_gguf *g, uint64_t i) {
    return i < g->n_kv ? &g->values[i] : NULL;
}

const bn_gguf_value *bn_gguf_find(const bn_gguf *g, const char *key) {
    int64_t i = gguf_index_find(&g->kv_index, g->keys, sizeof(char *), key);
    return i < 0 ? NULL : &g->values[i];
}

uint64_t bn_gguf_tensor_count(const bn_gguf *g) { return g->n_tensors; }

const bn_gguf_tensor *bn_gguf_tensor_at(const bn_gguf *g, uint64_t i) {
    return i < g->n_tensors ? &g->tensors[i] : NULL;
}

const bn_gguf_tensor *bn_gguf_find_tensor(const bn_gguf *g, const char *name) {
    if (!g->n_tensors)
        return NULL;
    int64_t i = gguf_index_find(&g->tensor_index, &g->tensors[0].name, sizeof(bn_gguf_tensor), name);
    return i < 0 ? NULL : &g->tensors[i];
}

bn_status bn_gguf_require_tensor(const bn_gguf *g, const char *name, const bn_gguf_tensor **out) {
    const bn_gguf_tensor *t = bn_gguf_find_tensor(g, name);
    if (!t)
        return bn_fail(BN_ERR_NOT_FOUND, "tensor '%s' not found in the file", name ? name : "(null)");
    if (!t->supported)
        return bn_fail(BN_ERR_UNSUPPORTED, "%s", t->reason);
    if (out)
        *out = t;
    return BN_OK;
}

bn_status bn_gguf_require_tensors(const bn_gguf *g, const char *const *names, size_t n) {
    for (size_t i = 0; i < n; i++) {
        bn_status st = bn_gguf_require_tensor(g, names[i], NULL);
        if (st)
            return st;
    }
    return BN_OK;
}
