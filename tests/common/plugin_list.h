/*
 * Test helper: whether a plugin name is one entry of a comma list such as
 * BN_BATCH_PLUGINS=cpu-avx2,reference (whole entries only: "cpu-avx512"
 * does not match "cpu-avx512-emul"). A NULL or empty list takes every name.
 */
#ifndef BITNET_TESTS_PLUGIN_LIST_H
#define BITNET_TESTS_PLUGIN_LIST_H

#include <string.h>

static inline int test_plugin_listed(const char *list, const char *name) {
    if (!list || !*list)
        return 1;
    size_t n = strlen(name);
    for (const char *p = strstr(list, name); p; p = strstr(p + 1, name))
        if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == 0))
            return 1;
    return 0;
}

#endif
