/*
 * "test-abi10": the reference plugin as a plugin built against ABI 1.0
 * would present it - abi_minor 0 and a vtable that ends at `encode`, so no
 * attention_paged. The batch tests run the core's path for old plugins
 * (one page per sequence, the contiguous attention slot) through it.
 * Test double: never installed.
 */
#include <dlfcn.h>
#include <stddef.h>
#include <string.h>

#include "bitnet/backend.h"

#ifndef REFERENCE_PLUGIN_PATH
#error "REFERENCE_PLUGIN_PATH must name the reference plugin module"
#endif

static bn_backend old;
static int ready;

static int abi10_score(const bn_hw_info *hw, char *why, size_t why_len) {
    (void)hw;
    (void)why;
    (void)why_len;
    return 1; /* never preferred over a real plugin */
}

BN_PLUGIN_EXPORT const bn_backend *bn_plugin_entry(void);

BN_PLUGIN_EXPORT const bn_backend *bn_plugin_entry(void) {
    if (ready)
        return &old;
    void *h = dlopen(REFERENCE_PLUGIN_PATH, RTLD_NOW | RTLD_LOCAL);
    if (!h)
        return NULL;
    void *sym = dlsym(h, BN_PLUGIN_ENTRY_SYMBOL);
    if (!sym)
        return NULL;
    bn_plugin_entry_fn entry;
    memcpy(&entry, &sym, sizeof entry);
    const bn_backend *r = entry();
    size_t n = offsetof(bn_backend, attention_paged); /* the ABI 1.0 vtable */
    if (!r || r->info.abi_major != BN_ABI_MAJOR || r->info.struct_size < n)
        return NULL;
    memcpy(&old, r, n);
    old.info.abi_minor = 0;
    old.info.struct_size = (uint32_t)n;
    old.info.name = "test-abi10";
    old.info.description = "test double: the reference plugin as an ABI 1.0 plugin (no paged attention)";
    old.score = abi10_score;
    ready = 1;
    return &old;
}
