/* Helpers shared by the libFuzzer targets that read from a path: a private
 * temporary directory per process (under $BITNET_FUZZ_TMPDIR, else /dev/shm
 * when it exists, so the per-input file write stays cheap, else $TMPDIR or
 * /tmp), removed at a normal exit, and writing an input into it. */
#ifndef BITNET_FUZZ_UTIL_H
#define BITNET_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char fz_dir[256];

static inline void fz_cleanup(void) {
    if (!fz_dir[0])
        return;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fz_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz: could not remove %s\n", fz_dir);
}

/* The directory, made on first use and removed at exit. */
static inline const char *fz_tmpdir(void) {
    if (fz_dir[0])
        return fz_dir;
    const char *base = getenv("BITNET_FUZZ_TMPDIR");
    if (!base || !*base)
        base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
    snprintf(fz_dir, sizeof fz_dir, "%s/bitnet-fuzz-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(fz_dir)) {
        perror("fuzz: mkdtemp");
        abort();
    }
    atexit(fz_cleanup);
    return fz_dir;
}

/* dir/name; the returned buffer is static per call site's `out`. */
static inline void fz_path(char *out, size_t len, const char *name) {
    snprintf(out, len, "%s/%s", fz_tmpdir(), name);
}

/* Write data to dir/name (replacing it); aborts on I/O failure, which is
 * the harness's fault, not the input's. */
static inline void fz_write(const char *name, const void *data, size_t size) {
    char path[512];
    fz_path(path, sizeof path, name);
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        perror(path);
        abort();
    }
}

static inline void fz_remove(const char *name) {
    char path[512];
    fz_path(path, sizeof path, name);
    unlink(path);
}

#endif
