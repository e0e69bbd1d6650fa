/* Status strings and the per-thread "last error" message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static _Thread_local char last_error[512];

const char *bn_version(void) { return BITNET_VERSION; }

const char *bn_status_str(bn_status st) {
    switch (st) {
    case BN_OK: return "ok";
    case BN_ERR_INVALID: return "invalid argument";
    case BN_ERR_NOMEM: return "out of memory";
    case BN_ERR_UNSUPPORTED: return "unsupported";
    case BN_ERR_IO: return "I/O error";
    case BN_ERR_FORMAT: return "malformed data";
    case BN_ERR_DEVICE: return "device error";
    case BN_ERR_ABI: return "incompatible plugin ABI";
    case BN_ERR_NOT_FOUND: return "not found";
    case BN_ERR_INTERNAL: return "internal error";
    }
    return "unknown status";
}

const char *bn_last_error(void) { return last_error; }

bn_status bn_fail(bn_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return st;
}

char *bn_strdup(const char *s) {
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}
