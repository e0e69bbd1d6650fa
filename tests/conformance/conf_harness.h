/*
 * Plumbing shared by the conformance tests: the plugins under test, tensors
 * in a plugin's own memory (buffer_alloc / upload / download, so GPU
 * plugins work too), comparisons that record the largest errors per op,
 * and failure lines of one fixed shape:
 *   FAIL plugin=<name> op=<op> <case label>: <what>
 * (the conformance_catches_broken test greps for them).
 */
#ifndef BN_CONF_HARNESS_H
#define BN_CONF_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "bitnet/bitnet.h"

#define CONF_MAX_PLUGINS 16

typedef struct conf_plugin {
    const char *name;
    const bn_backend *be;
    bn_backend_ctx *ctx;
    int is_reference;
} conf_plugin;

typedef struct conf_stats {
    double max_abs, max_rel; /* vs the scalar oracle */
    double max_rel_ref;      /* vs the reference plugin */
    long checks, fails, skipped;
} conf_stats;

extern conf_plugin conf_plugins[CONF_MAX_PLUGINS];
extern int conf_n_plugins;
extern conf_plugin *conf_ref; /* the "reference" plugin */
extern conf_stats conf_stats_tab[CONF_MAX_PLUGINS][BN_OP_COUNT];
extern long conf_total_fails; /* all failures so far, every plugin */
/* Per plugin, bit k set when ternary matmul ran with bn_kernel k. */
extern unsigned conf_kernels_seen[CONF_MAX_PLUGINS];

const char *conf_op_name(int op);

/* One test case: which plugin, which op, a label naming format/shape. */
typedef struct conf_case {
    conf_plugin *p;
    int plugin_index;
    int op;
    char label[200];
    int fails;
} conf_case;

void cc_init(conf_case *c, int plugin_index, int op, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void cc_fail(conf_case *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cc_skip(conf_case *c);
/* Slot check: a NULL slot is a skip, except for the reference (which must
 * implement every op): then it is a failure. Returns non-zero if present. */
int cc_has(conf_case *c, const void *slot, const char *slot_name);
/* Whether the plugin attends over a cache of kv_type (Q8_0 is optional
 * except for the reference); skips the case when not. */
int conf_kv_supported(conf_case *c, conf_plugin *p, int32_t kv_type);
/* st must be BN_OK; otherwise a failure naming the plugin's last_error. */
int cc_ok(conf_case *c, conf_plugin *p, bn_status st, const char *what);

/* |got - exp| <= tol * scale, scale = mag[i] if mag else |exp[i]|, with
 * scale >= floor. vs_ref: the expected values come from the reference
 * plugin (tracked separately). Returns the number of mismatches. */
long cc_cmp_f32(conf_case *c, const char *what, const float *got, const float *exp, const float *mag,
                int64_t n, double tol, double floor, int vs_ref);
long cc_cmp_i32(conf_case *c, const char *what, const int32_t *got, const int32_t *exp, int64_t n);
long cc_cmp_i8(conf_case *c, const char *what, const int8_t *got, const int8_t *exp, int64_t n);
long cc_cmp_bytes(conf_case *c, const char *what, const void *got, const void *exp, size_t n);
long cc_cmp_u16(conf_case *c, const char *what, const uint16_t *got, const uint16_t *exp, int64_t n);

/* ---- tensors in plugin memory ------------------------------------------ */

typedef struct dev_tensor {
    bn_buffer *buf;
    bn_tensor t;
    size_t bytes;
} dev_tensor;

size_t conf_type_size(int32_t type);
/* ne0 x ne1 x ne2, rows padded by pad0 extra elements (strided view). */
int dt_new(conf_case *c, conf_plugin *p, dev_tensor *d, int32_t type, int64_t ne0, int64_t ne1, int64_t ne2,
           int64_t pad0);
/* host holds the elements densely (no padding). */
int dt_put(conf_case *c, conf_plugin *p, dev_tensor *d, const void *host);
int dt_get(conf_case *c, conf_plugin *p, dev_tensor *d, void *host);
void dt_del(conf_plugin *p, dev_tensor *d);

/* ---- deterministic random data --------------------------------------------- */

typedef struct conf_rng {
    uint64_t s;
} conf_rng;

void rng_seed(conf_rng *r, uint64_t seed);
uint64_t rng_u64(conf_rng *r);
float rng_f(conf_rng *r); /* uniform [-1, 1) */
void rng_fill(conf_rng *r, float *x, int64_t n, float amp);

void *xmalloc(size_t n); /* never NULL for the tests: aborts the test run */

#endif
