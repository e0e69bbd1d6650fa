/* Install-relative paths found with dladdr on a symbol of this library. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "paths.h"

bn_status bn_lib_dir(char *out, size_t len) {
    Dl_info info;
    if (!dladdr((void *)&bn_lib_dir, &info) || !info.dli_fname)
        return bn_fail(BN_ERR_NOT_FOUND, "cannot locate libbitnet on disk (dladdr failed)");
    const char *slash = strrchr(info.dli_fname, '/');
    if (!slash) {
        snprintf(out, len, ".");
        return BN_OK;
    }
    size_t n = (size_t)(slash - info.dli_fname);
    if (n + 1 > len)
        return bn_fail(BN_ERR_INVALID, "library path too long");
    memcpy(out, info.dli_fname, n);
    out[n] = 0;
    return BN_OK;
}

bn_status bn_install_relative(const char *rel, char *out, size_t len) {
    char dir[4096];
    bn_status st = bn_lib_dir(dir, sizeof dir);
    if (st != BN_OK)
        return st;
    int n = snprintf(out, len, "%s/%s", dir, rel);
    if (n < 0 || (size_t)n >= len)
        return bn_fail(BN_ERR_INVALID, "path too long: %s/%s", dir, rel);
    return BN_OK;
}

bn_status bn_default_model_path(char *out, size_t len) {
    bn_status st = bn_install_relative("../share/bitnet/models/default.gguf", out, len);
    if (st != BN_OK)
        return st;
    char canon[4096];
    if (!realpath(out, canon))
        return bn_fail(BN_ERR_NOT_FOUND, "no bundled model at %s", out);
    snprintf(out, len, "%s", canon);
    return BN_OK;
}
