/* Leveled logging to stderr; level from settings or BITNET_LOG_LEVEL. */
#include <stdatomic.h>
#include <stdio.h>

#include "internal.h"

static atomic_int log_level = BN_LOG_WARN;

void bn_log_set_level(int level) { atomic_store(&log_level, level); }
int bn_log_get_level(void) { return atomic_load(&log_level); }

void bn_vlog(int level, const char *fmt, va_list ap) {
    static const char *const tag[] = {"error", "warning", "info", "debug"};
    if (level > atomic_load(&log_level))
        return;
    if (level < 0)
        level = 0;
    if (level > 3)
        level = 3;
    char line[1024];
    vsnprintf(line, sizeof line, fmt, ap);
    fprintf(stderr, "bitnet: %s: %s\n", tag[level], line);
}

void bn_log(int level, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    bn_vlog(level, fmt, ap);
    va_end(ap);
}
