/* Shared pieces of bench-kernels (see bench_kernels.c). */
#ifndef BITNET_BENCH_KERNELS_H
#define BITNET_BENCH_KERNELS_H

#include <stdint.h>

#include "bitnet/bitnet.h"

typedef struct bk_plugin {
    const char *name;
    const bn_backend *be;
    bn_backend_ctx *ctx;
} bk_plugin;

/* A tensor in plugin memory (host plugins: buffer_base is host memory). */
typedef struct bk_tensor {
    bn_buffer *buf;
    bn_tensor t;
} bk_tensor;

/* One benchmark case: set up on a plugin, run once, tear down. */
typedef struct bk_case {
    const char *group; /* "matmul", "rms_norm", ... (for --only) */
    char label[96];
    void *state; /* owned by the case while set up */
    int (*setup)(struct bk_case *c, bk_plugin *p);
    int (*run)(struct bk_case *c, bk_plugin *p);
    void (*teardown)(struct bk_case *c, bk_plugin *p);
    void (*finish)(struct bk_case *c); /* after the last plugin: frees shared data */
    void *shared; /* host data shared by all plugins (e.g. weight bytes) */
    int32_t wtype;
    int64_t rows, cols, tokens; /* meaning depends on the op */
    int32_t aux;
    int cold_mb; /* matmul: cycle over weight copies of >= this many MB */
} bk_case;

uint64_t bk_rand(uint64_t *s);
float bk_randf(uint64_t *s); /* [-1, 1) */
int bk_tensor_new(bk_plugin *p, bk_tensor *t, int32_t type, int64_t ne0, int64_t ne1, int64_t ne2);
int bk_tensor_fill(bk_plugin *p, bk_tensor *t, uint64_t seed, float amp);
void bk_tensor_free(bk_plugin *p, bk_tensor *t);

/* What the command line asks of the ternary matmul cases. */
typedef struct bk_opts {
    unsigned kernels;  /* bit k: bn_kernel k; 0 = AUTO plus TL1/TL2 at one shape */
    int64_t tokens[8]; /* token counts; n_tokens 0 = 1 and 8 */
    int n_tokens;
    int cold_mb; /* > 0: cycle each matmul over copies of its weight >= this many MB (DRAM-bound decode) */
} bk_opts;

/* The list of cases (bench_ops.c). */
int bk_cases(const bk_opts *o, bk_case **out);

#endif
