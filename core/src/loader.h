/* Plugin discovery: search path, dlopen, ABI checks, scoring. */
#ifndef BITNET_LOADER_H
#define BITNET_LOADER_H

#include "internal.h"

typedef struct bn_plugin {
    bn_plugin_report rep; /* strings point into the fields below */
    char *name, *path, *version, *reason;
    void *handle;         /* dlopen handle, NULL if it could not load */
    const bn_backend *be; /* valid when rep.usable or rejected after load */
    bn_backend_ctx *ctx;  /* set once initialised */
} bn_plugin;

typedef struct bn_plugin_set {
    bn_plugin *items;
    size_t n, cap;
    char *search_path; /* ':'-joined directories, in search order */
} bn_plugin_set;

/* Look at every bitnet-plugin-*.so on the search path: BITNET_PLUGIN_PATH,
 * settings plugin_path, the directory next to libbitnet (build tree and
 * install: <libdir>/bitnet/plugins). Never fails because of a bad plugin:
 * each gets a report with its reason. */
bn_status bn_plugins_discover(bn_plugin_set *set, const bn_settings *s, const bn_hw_info *hw);
void bn_plugins_free(bn_plugin_set *set);

/* Minimum struct size of an ABI 1.x vtable (every 1.0 slot present). */
#define BN_BACKEND_MIN_SIZE (offsetof(bn_backend, encode) + sizeof(void *))

#endif
