/* Conformance plumbing (see conf_harness.h). */
#include "conf_harness.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

conf_plugin conf_plugins[CONF_MAX_PLUGINS];
int conf_n_plugins;
conf_plugin *conf_ref;
conf_stats conf_stats_tab[CONF_MAX_PLUGINS][BN_OP_COUNT];
long conf_total_fails;
unsigned conf_kernels_seen[CONF_MAX_PLUGINS];

/* Failure lines printed per case; the rest are only counted. */
#define MAX_LINES_PER_CASE 4

const char *conf_op_name(int op) {
    static const char *names[BN_OP_COUNT] = {"matmul", "quantize_act", "dequantize", "get_rows",
                                             "rms_norm", "rope", "softmax", "attention",
                                             "ffn_act", "add", "copy", "encode"};
    return op >= 0 && op < BN_OP_COUNT ? names[op] : "?";
}

static conf_stats *stats_of(conf_case *c) { return &conf_stats_tab[c->plugin_index][c->op]; }

void cc_init(conf_case *c, int plugin_index, int op, const char *fmt, ...) {
    va_list ap;
    memset(c, 0, sizeof *c);
    c->p = &conf_plugins[plugin_index];
    c->plugin_index = plugin_index;
    c->op = op;
    va_start(ap, fmt);
    vsnprintf(c->label, sizeof c->label, fmt, ap);
    va_end(ap);
}

void cc_fail(conf_case *c, const char *fmt, ...) {
    va_list ap;
    if (c->fails++ < MAX_LINES_PER_CASE) {
        char msg[512];
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        printf("FAIL plugin=%s op=%s %s: %s\n", c->p->name, conf_op_name(c->op), c->label, msg);
        fflush(stdout);
    }
    stats_of(c)->fails++;
    conf_total_fails++;
}

void cc_skip(conf_case *c) { stats_of(c)->skipped++; }

int cc_has(conf_case *c, const void *slot, const char *slot_name) {
    if (slot)
        return 1;
    if (c->p->is_reference)
        cc_fail(c, "the reference plugin must implement slot %s", slot_name);
    else
        cc_skip(c);
    return 0;
}

int conf_kv_supported(conf_case *c, conf_plugin *p, int32_t kv_type) {
    bn_op_desc d = {.op = BN_OP_ATTENTION, .wtype = kv_type, .xtype = BN_TYPE_F32, .ytype = BN_TYPE_F32, .kernel = 0};
    if (kv_type != BN_TYPE_Q8_0 || !p->be->supports || p->be->supports(p->ctx, &d))
        return 1;
    if (p->is_reference) {
        cc_fail(c, "the reference plugin must attend over a Q8_0 cache");
        return 0;
    }
    printf("SKIP plugin=%s op=attention %s: supports() says no\n", p->name, c->label);
    cc_skip(c);
    return 0;
}

int cc_ok(conf_case *c, conf_plugin *p, bn_status st, const char *what) {
    if (st == BN_OK)
        return 1;
    const char *(*le)(bn_backend_ctx *) = BN_BACKEND_SLOT(p->be, last_error);
    cc_fail(c, "%s%s%s failed: %s (%s)", p != c->p ? p->name : "", p != c->p ? " " : "", what,
            bn_status_str(st), le ? le(p->ctx) : "");
    return 0;
}

long cc_cmp_f32(conf_case *c, const char *what, const float *got, const float *exp, const float *mag,
                int64_t n, double tol, double floor, int vs_ref) {
    conf_stats *s = stats_of(c);
    long bad = 0;
    for (int64_t i = 0; i < n; i++) {
        double e = exp[i], g = got[i], err = fabs(g - e);
        double scale = mag ? fabs((double)mag[i]) : fabs(e);
        if (scale < floor)
            scale = floor;
        double rel = err / scale;
        if (isnan(g) || isnan(e) || isinf(g) || isinf(e)) /* only equal specials match */
            rel = (isnan(g) && isnan(e)) || g == e ? 0.0 : INFINITY;
        if (vs_ref) {
            if (rel > s->max_rel_ref)
                s->max_rel_ref = rel;
        } else {
            if (err > s->max_abs && !isnan(err))
                s->max_abs = err;
            if (rel > s->max_rel)
                s->max_rel = rel;
        }
        if (rel > tol) {
            if (bad == 0)
                cc_fail(c, "%s [%lld]: got %.9g, expected %.9g%s (err %.3g, scale %.3g, tol %.3g)", what,
                        (long long)i, g, e, vs_ref ? " from reference" : "", err, scale, tol);
            bad++;
        }
    }
    s->checks++;
    if (bad > 1)
        cc_fail(c, "%s: %ld of %lld values out of tolerance", what, bad, (long long)n);
    return bad;
}

#define CMP_EXACT(STORAGE, NAME, T, FMT, CAST)                                                         \
    STORAGE long NAME(conf_case *c, const char *what, const T *got, const T *exp, int64_t n) {                 \
        long bad = 0;                                                                                  \
        for (int64_t i = 0; i < n; i++) {                                                              \
            if (got[i] != exp[i]) {                                                                    \
                if (bad == 0)                                                                          \
                    cc_fail(c, "%s [%lld]: got " FMT ", expected " FMT, what, (long long)i,            \
                            (CAST)got[i], (CAST)exp[i]);                                               \
                bad++;                                                                                 \
            }                                                                                          \
        }                                                                                              \
        stats_of(c)->checks++;                                                                         \
        if (bad > 1)                                                                                   \
            cc_fail(c, "%s: %ld of %lld values differ (exact match required)", what, bad,               \
                    (long long)n);                                                                     \
        return bad;                                                                                    \
    }

CMP_EXACT(, cc_cmp_i32, int32_t, "%ld", long)
CMP_EXACT(, cc_cmp_i8, int8_t, "%d", int)
CMP_EXACT(, cc_cmp_u16, uint16_t, "0x%04x", unsigned)
CMP_EXACT(static, cmp_u8, uint8_t, "0x%02x", unsigned)

long cc_cmp_bytes(conf_case *c, const char *what, const void *got, const void *exp, size_t n) {
    return cmp_u8(c, what, got, exp, (int64_t)n);
}

/* ---- tensors in plugin memory ------------------------------------------ */

size_t conf_type_size(int32_t type) {
    switch (type) {
    case BN_TYPE_F32:
    case BN_TYPE_I32: return 4;
    case BN_TYPE_F16:
    case BN_TYPE_BF16: return 2;
    case BN_TYPE_I8: return 1;
    default: return 0;
    }
}

int dt_new(conf_case *c, conf_plugin *p, dev_tensor *d, int32_t type, int64_t ne0, int64_t ne1, int64_t ne2,
           int64_t pad0) {
    size_t es = conf_type_size(type);
    memset(d, 0, sizeof *d);
    d->t.type = type;
    d->t.ne[0] = ne0;
    d->t.ne[1] = ne1;
    d->t.ne[2] = ne2;
    d->t.ne[3] = 1;
    d->t.nb[0] = (int64_t)es;
    d->t.nb[1] = (ne0 + pad0) * (int64_t)es;
    if (type == BN_TYPE_Q8_0) { /* rows of 32-element blocks of 34 bytes; pad0 a multiple of 32 */
        d->t.nb[0] = 34;
        d->t.nb[1] = (ne0 + pad0) / 32 * 34;
    }
    d->t.nb[2] = d->t.nb[1] * ne1;
    d->t.nb[3] = d->t.nb[2] * ne2;
    d->bytes = (size_t)d->t.nb[3];
    if (!cc_ok(c, p, p->be->buffer_alloc(p->ctx, d->bytes, &d->buf), "buffer_alloc"))
        return 0;
    d->t.data = p->be->buffer_base(p->ctx, d->buf);
    if (pad0) { /* poison the padding so reads of it show up */
        unsigned char *junk = xmalloc(d->bytes);
        memset(junk, 0x7f, d->bytes);
        bn_status st = p->be->upload(p->ctx, d->buf, 0, junk, d->bytes);
        free(junk);
        if (!cc_ok(c, p, st, "upload"))
            return 0;
    }
    return 1;
}

/* Packed bytes of one row (Q8_0: whole blocks). */
static size_t dt_row_bytes(const dev_tensor *d) {
    if (d->t.type == BN_TYPE_Q8_0)
        return (size_t)d->t.ne[0] / 32 * 34;
    return (size_t)d->t.ne[0] * (size_t)d->t.nb[0];
}

int dt_put(conf_case *c, conf_plugin *p, dev_tensor *d, const void *host) {
    size_t row = dt_row_bytes(d);
    int64_t rows = d->t.ne[1] * d->t.ne[2];
    for (int64_t r = 0; r < rows; r++)
        if (!cc_ok(c, p, p->be->upload(p->ctx, d->buf, (size_t)(r * d->t.nb[1]), (const char *)host + r * row, row),
                   "upload"))
            return 0;
    return 1;
}

int dt_get(conf_case *c, conf_plugin *p, dev_tensor *d, void *host) {
    size_t row = dt_row_bytes(d);
    int64_t rows = d->t.ne[1] * d->t.ne[2];
    if (p->be->synchronize && !cc_ok(c, p, p->be->synchronize(p->ctx), "synchronize"))
        return 0;
    for (int64_t r = 0; r < rows; r++)
        if (!cc_ok(c, p, p->be->download(p->ctx, d->buf, (size_t)(r * d->t.nb[1]), (char *)host + r * row, row),
                   "download"))
            return 0;
    return 1;
}

void dt_del(conf_plugin *p, dev_tensor *d) {
    if (d->buf)
        p->be->buffer_free(p->ctx, d->buf);
    d->buf = NULL;
}

/* ---- random data ---------------------------------------------------------- */

void rng_seed(conf_rng *r, uint64_t seed) { r->s = seed * 0x9E3779B97F4A7C15ull + 0x1234567ull; }

uint64_t rng_u64(conf_rng *r) { /* xorshift64* */
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545F4914F6CDD1Dull;
}

float rng_f(conf_rng *r) { return (float)((double)(rng_u64(r) >> 40) / 8388608.0 - 1.0); }

void rng_fill(conf_rng *r, float *x, int64_t n, float amp) {
    for (int64_t i = 0; i < n; i++)
        x[i] = rng_f(r) * amp;
}

void *xmalloc(size_t n) {
    void *p = calloc(1, n ? n : 1);
    if (!p) {
        fprintf(stderr, "conformance: out of memory (%zu bytes)\n", n);
        abort();
    }
    return p;
}

int conf_quick_skip(int64_t rows, int64_t cols, int extreme) {
    const char *q = getenv("BN_CONFORMANCE_QUICK");
    return q && *q && strcmp(q, "0") != 0 && !extreme && rows * cols > (INT64_C(1) << 21);
}
