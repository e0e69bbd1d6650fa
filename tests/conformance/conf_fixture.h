/*
 * Test weights built on the host: random data in a storage format, plus the
 * oracle's view of it (ternary codes and block scales), and the helper that
 * hands it to a plugin's weight_prepare.
 */
#ifndef BN_CONF_FIXTURE_H
#define BN_CONF_FIXTURE_H

#include "conf_harness.h"
#include "formats_oracle.h"

typedef struct wfix {
    int32_t type;
    int64_t rows, cols;
    uint8_t *data;
    size_t size;
    float scale;    /* bn_weight_src.scale */
    int uniform_d;  /* every block has the same scale: integer sums are defined */
    or_ternary tm;  /* ternary types only */
} wfix;

enum wfix_mode {
    WFIX_RANDOM = 0,
    WFIX_VARY_D = 1,  /* TQ blocks get differing scales */
    WFIX_EXTREME = 2  /* ternary rows all +1, all -1, or alternating */
};

/* Weights of `type` and shape built as `mode` says. Returns 0 if the shape
 * does not fit the type. */
int wfix_make(wfix *f, int32_t type, int64_t rows, int64_t cols, uint64_t seed, int mode, float scale);
/* Whether f's blocks carry differing scales (TQ made with WFIX_VARY_D, Q8_0):
 * what a case label calls "block-scales" (float formats have none). */
static inline int wfix_block_scales(const wfix *f) {
    return !f->uniform_d && (bn_type_is_ternary(f->type) || f->type == BN_TYPE_Q8_0);
}
void wfix_free(wfix *f);

/* weight_prepare on plugin p with kernel; NULL (and a failure) on error. */
bn_weight *wfix_prepare(conf_case *c, conf_plugin *p, const wfix *f, int32_t kernel);

int conf_supports(conf_plugin *p, int op, int wtype, int xtype, int ytype, int kernel);
const char *conf_kernel_name(int kernel);

#endif
