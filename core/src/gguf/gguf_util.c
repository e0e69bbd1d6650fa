/* Arena allocation and the name index used by the GGUF reader. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf_internal.h"

struct gguf_chunk {
    gguf_chunk *next;
    size_t cap, used;
    _Alignas(16) unsigned char mem[];
};

#define GGUF_CHUNK_SIZE ((size_t)64 << 10)

void *gguf_arena_alloc(gguf_arena *a, size_t size) {
    size_t need = (size + 15) & ~(size_t)15;
    if (need < size)
        return NULL;
    gguf_chunk *c = a->head;
    if (!c || c->cap - c->used < need) {
        /* Large requests get a chunk of their own behind the current one so
         * the current chunk's free space is not wasted. */
        size_t cap = need > GGUF_CHUNK_SIZE / 4 ? need : GGUF_CHUNK_SIZE;
        if (cap > SIZE_MAX - sizeof(gguf_chunk))
            return NULL;
        gguf_chunk *n = malloc(sizeof(gguf_chunk) + cap);
        if (!n)
            return NULL;
        n->cap = cap;
        n->used = 0;
        if (c && cap != GGUF_CHUNK_SIZE) {
            n->next = c->next;
            c->next = n;
        } else {
            n->next = c;
            a->head = n;
        }
        c = n;
    }
    void *p = c->mem + c->used;
    c->used += need;
    memset(p, 0, size);
    return p;
}

char *gguf_arena_strndup(gguf_arena *a, const char *s, size_t len) {
    if (len == SIZE_MAX)
        return NULL;
    char *d = gguf_arena_alloc(a, len + 1);
    if (d) {
        if (len)
            memcpy(d, s, len);
        d[len] = 0;
    }
    return d;
}

char *gguf_arena_printf(gguf_arena *a, const char *fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof buf)
        n = sizeof buf - 1;
    return gguf_arena_strndup(a, buf, (size_t)n);
}

void gguf_arena_free(gguf_arena *a) {
    gguf_chunk *c = a->head;
    while (c) {
        gguf_chunk *n = c->next;
        free(c);
        c = n;
    }
    a->head = NULL;
}

size_t gguf_vtype_size(uint32_t vtype) {
    switch (vtype) {
    case BN_GGUF_U8: case BN_GGUF_I8: case BN_GGUF_BOOL: return 1;
    case BN_GGUF_U16: case BN_GGUF_I16: return 2;
    case BN_GGUF_U32: case BN_GGUF_I32: case BN_GGUF_F32: return 4;
    case BN_GGUF_U64: case BN_GGUF_I64: case BN_GGUF_F64: return 8;
    default: return 0;
    }
}

const char *bn_gguf_vtype_name(int vtype) {
    static const char *const names[BN_GGUF_VTYPE_COUNT] = {
        "uint8", "int8", "uint16", "int16", "uint32", "int32", "float32",
        "bool", "string", "array", "uint64", "int64", "float64"};
    return vtype >= 0 && vtype < BN_GGUF_VTYPE_COUNT ? names[vtype] : "?";
}

/* FNV-1a: short keys, no adversarial-collision concern worth more code
 * (counts are bounded by the file size). */
uint64_t gguf_hash(const char *s) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

static const char *name_at(const char *const *names, size_t stride, uint64_t i) {
    return *(const char *const *)((const char *)names + i * stride);
}

bn_status gguf_index_build(gguf_arena *a, gguf_index *ix, const char *const *names, size_t stride,
                           uint64_t n, const char *what) {
    uint64_t cap = 16;
    while (cap < 2 * n)
        cap <<= 1;
    if (cap > SIZE_MAX / sizeof(uint64_t))
        return bn_fail(BN_ERR_NOMEM, "too many %ss to index (%llu)", what, (unsigned long long)n);
    ix->slots = gguf_arena_alloc(a, (size_t)cap * sizeof(uint64_t));
    if (!ix->slots)
        return bn_fail(BN_ERR_NOMEM, "out of memory indexing %llu %ss", (unsigned long long)n, what);
    ix->mask = cap - 1;
    for (uint64_t i = 0; i < n; i++) {
        const char *name = name_at(names, stride, i);
        uint64_t h = gguf_hash(name) & ix->mask;
        while (ix->slots[h]) {
            if (strcmp(name_at(names, stride, ix->slots[h] - 1), name) == 0)
                return bn_fail(BN_ERR_FORMAT, "duplicate %s '%s' (entries %llu and %llu)", what, name,
                               (unsigned long long)(ix->slots[h] - 1), (unsigned long long)i);
            h = (h + 1) & ix->mask;
        }
        ix->slots[h] = i + 1;
    }
    return BN_OK;
}

int64_t gguf_index_find(const gguf_index *ix, const char *const *names, size_t stride, const char *name) {
    if (!ix->slots || !name)
        return -1;
    uint64_t h = gguf_hash(name) & ix->mask;
    while (ix->slots[h]) {
        uint64_t i = ix->slots[h] - 1;
        if (strcmp(name_at(names, stride, i), name) == 0)
            return (int64_t)i;
        h = (h + 1) & ix->mask;
    }
    return -1;
}
