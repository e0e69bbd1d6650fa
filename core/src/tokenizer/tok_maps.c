/* Hash maps of the vocabulary: token text -> id, and merge pair -> rank.
 * Open addressing with linear probing at load factor <= 1/2: lookups are
 * the inner loop of encoding, so they touch as few cache lines as possible. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "tok_internal.h"

/* Tables are megabytes and filled in random order: back them with huge
 * pages where the kernel offers them (THP "madvise" mode), which saves
 * most of the page faults of building a 128k vocab. */
static void *alloc_table(size_t bytes) {
    const size_t huge = (size_t)2 << 20;
    void *p = NULL;
    if (bytes < huge)
        return malloc(bytes);
    if (posix_memalign(&p, huge, (bytes + huge - 1) & ~(huge - 1)) != 0)
        return NULL;
#ifdef MADV_HUGEPAGE
    madvise(p, (bytes + huge - 1) & ~(huge - 1), MADV_HUGEPAGE);
#endif
    return p;
}

/* Power of two with load factor <= 2/3. */
static size_t table_size(size_t n_expected) {
    size_t size = 16;
    while (size < n_expected + n_expected / 2 + 1)
        size <<= 1;
    return size;
}

/* 64-bit hash reading 8 bytes at a time (tokens are short). */
uint64_t bn_hash_bytes(const char *p, size_t n) {
    const uint64_t m = 0x9E3779B97F4A7C15ull;
    uint64_t h = 0x243F6A8885A308D3ull ^ (n * m);
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * m;
        h ^= h >> 29;
        p += 8;
        n -= 8;
    }
    if (n) {
        uint64_t w = 0;
        memcpy(&w, p, n);
        h = (h ^ w) * m;
        h ^= h >> 29;
    }
    h *= 0xBF58476D1CE4E5B9ull;
    return h ^ (h >> 31);
}

bn_status bn_strmap_init(bn_strmap *m, const char *base, size_t n_expected) {
    size_t size = table_size(n_expected);
    m->slots = alloc_table(size * sizeof *m->slots);
    if (m->slots)
        memset(m->slots, 0, size * sizeof *m->slots);
    m->base = base;
    m->mask = size - 1;
    if (!m->slots)
        return bn_fail(BN_ERR_NOMEM, "tokenizer: out of memory for a hash table of %zu", size);
    return BN_OK;
}

void bn_strmap_free(bn_strmap *m) {
    free(m->slots);
    memset(m, 0, sizeof *m);
}

static int same_key(const char *a, const char *b, size_t n) {
    /* Tokens are short: an inline loop beats a call to memcmp. */
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

void bn_strmap_put_h(bn_strmap *m, uint32_t off, uint32_t len, int32_t value, uint64_t h) {
    const char *key = m->base + off;
    uint32_t tag = (uint32_t)(h >> 32);
    uint64_t i = h & m->mask;
    for (; m->slots[i].value1; i = (i + 1) & m->mask) {
        const bn_strslot *s = &m->slots[i];
        if (s->tag == tag && s->len == len && same_key(m->base + s->off, key, len))
            return;
    }
    m->slots[i] = (bn_strslot){tag, value + 1, off, len};
}

int32_t bn_strmap_get_h(const bn_strmap *m, const char *key, size_t len, uint64_t h) {
    uint32_t tag = (uint32_t)(h >> 32);
    for (uint64_t i = h & m->mask; m->slots[i].value1; i = (i + 1) & m->mask) {
        const bn_strslot *s = &m->slots[i];
        if (s->tag == tag && s->len == len && same_key(m->base + s->off, key, len))
            return s->value1 - 1;
    }
    return -1;
}

bn_status bn_pairmap_init(bn_pairmap *m, size_t n_expected) {
    size_t size = table_size(n_expected);
    int bits = 0;
    while ((size_t)1 << bits < size)
        bits++;
    m->slots = alloc_table(size * sizeof *m->slots);
    m->mask = size - 1;
    m->shift = 64 - bits;
    if (!m->slots)
        return bn_fail(BN_ERR_NOMEM, "tokenizer: out of memory for %zu merges", n_expected);
    for (size_t i = 0; i < size; i++)
        m->slots[i].key = UINT64_MAX;
    return BN_OK;
}

void bn_pairmap_free(bn_pairmap *m) {
    free(m->slots);
    memset(m, 0, sizeof *m);
}

void bn_pairmap_put(bn_pairmap *m, int32_t left, int32_t right, int32_t rank, int32_t merged) {
    uint64_t key = bn_pair_key(left, right);
    uint64_t i = bn_pairmap_slot(m, key);
    for (; m->slots[i].key != UINT64_MAX; i = (i + 1) & m->mask)
        if (m->slots[i].key == key)
            return; /* the first (lowest) rank wins */
    m->slots[i] = (bn_pairslot){key, rank, merged};
}
