/*
 * The cases of bench-kernels: ternary and float matmuls at the BitNet
 * 2B-4T shapes, and the per-token ops (rms_norm, rope, attention, ffn_act,
 * add, quantize_act). Weight bytes are random but valid for their format
 * and are made once per case, shared by every plugin.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_kernels.h"

static uint16_t f32_to_f16_approx(float f) {
    /* bench data only: normal-range values, truncating conversion */
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u, e = (x >> 23) & 0xff, m = (x >> 13) & 0x3ff;
    if (e < 113)
        return (uint16_t)sign;
    return (uint16_t)(sign | ((e - 112) << 10) | m);
}

/* Random bytes of a valid rows x cols tensor of `type`. */
static uint8_t *make_weight(int32_t type, int64_t rows, int64_t cols, size_t *size) {
    uint64_t seed = (uint64_t)type * 1000003u + (uint64_t)rows * 7 + (uint64_t)cols;
    *size = (size_t)bn_storage_size(type, rows, cols);
    uint8_t *d = malloc(*size);
    if (!d)
        return NULL;
    size_t n = *size;
    if (type == BN_TYPE_I2_S || type == BN_TYPE_TQ2_0) {
        for (size_t i = 0; i < n; i++) { /* four codes in 0..2 per byte */
            uint64_t r = bk_rand(&seed);
            d[i] = (uint8_t)((r % 3) | ((r >> 8) % 3) << 2 | ((r >> 16) % 3) << 4 | ((r >> 24) % 3) << 6);
        }
        if (type == BN_TYPE_I2_S) {
            float sc = 0.7f;
            memset(d + (size_t)(rows * cols / 4), 0, BN_I2S_TRAILER);
            memcpy(d + (size_t)(rows * cols / 4), &sc, 4);
        } else {
            for (size_t b = 0; b < n / 66; b++) {
                uint16_t h = f32_to_f16_approx(0.01f + 0.01f * (bk_randf(&seed) + 1.0f));
                memcpy(d + b * 66 + 64, &h, 2);
            }
        }
    } else if (type == BN_TYPE_TQ1_0) {
        for (size_t i = 0; i < n; i++)
            d[i] = (uint8_t)bk_rand(&seed);
        for (size_t b = 0; b < n / 54; b++) {
            uint16_t h = f32_to_f16_approx(0.02f);
            memcpy(d + b * 54 + 52, &h, 2);
        }
    } else if (type == BN_TYPE_Q8_0) {
        for (size_t b = 0; b < n / 34; b++) {
            uint16_t h = f32_to_f16_approx(0.001f + 0.001f * (bk_randf(&seed) + 1.0f));
            memcpy(d + b * 34, &h, 2);
            for (int i = 0; i < 32; i++)
                d[b * 34 + 2 + i] = (uint8_t)bk_rand(&seed);
        }
    } else { /* F16 */
        for (size_t i = 0; i + 1 < n; i += 2) {
            uint16_t h = f32_to_f16_approx(0.1f * bk_randf(&seed));
            memcpy(d + i, &h, 2);
        }
    }
    return d;
}

/* ---- matmul ---------------------------------------------------------------- */

#define MAX_COPIES 256

typedef struct mm_state {
    bn_weight *w[MAX_COPIES];
    int n_w, next;
    bk_tensor x, y;
} mm_state;

typedef struct mm_src {
    uint8_t *data;
    size_t size;
} mm_src;

static int mm_setup(bk_case *c, bk_plugin *p) {
    mm_src *src = c->shared;
    if (!src) {
        src = calloc(1, sizeof *src);
        if (!src || !(src->data = make_weight(c->wtype, c->rows, c->cols, &src->size))) {
            free(src);
            return 0;
        }
        c->shared = src;
    }
    mm_state *st = calloc(1, sizeof *st);
    if (!st)
        return 0;
    c->state = st;
    bn_weight_src ws = {.name = c->label, .type = c->wtype, .kernel = c->aux, .n_rows = c->rows,
                        .n_cols = c->cols, .data = src->data, .size = src->size, .scale = 1.0f};
    int64_t want = c->cold_mb > 0 ? ((int64_t)c->cold_mb << 20) / (int64_t)src->size + 1 : 1;
    for (st->n_w = 0; st->n_w < (want < MAX_COPIES ? want : MAX_COPIES); st->n_w++)
        if (p->be->weight_prepare(p->ctx, &ws, &st->w[st->n_w]) != BN_OK) {
            fprintf(stderr, "bench-kernels: %s: weight_prepare on %s: %s\n", c->label, p->name,
                    p->be->last_error(p->ctx));
            return 0;
        }
    return bk_tensor_new(p, &st->x, BN_TYPE_F32, c->cols, c->tokens, 1) &&
           bk_tensor_fill(p, &st->x, 42, 2.0f) && bk_tensor_new(p, &st->y, BN_TYPE_F32, c->rows, c->tokens, 1);
}

static int mm_run(bk_case *c, bk_plugin *p) {
    mm_state *st = c->state;
    bn_weight *w = st->w[st->next];
    st->next = (st->next + 1) % st->n_w;
    return p->be->matmul(p->ctx, w, &st->x.t, NULL, &st->y.t) == BN_OK;
}

static void mm_teardown(bk_case *c, bk_plugin *p) {
    mm_state *st = c->state;
    if (!st)
        return;
    for (int i = 0; i < MAX_COPIES && st->w[i]; i++)
        p->be->weight_free(p->ctx, st->w[i]);
    bk_tensor_free(p, &st->x);
    bk_tensor_free(p, &st->y);
    free(st);
    c->state = NULL;
}

static void mm_finish(bk_case *c) {
    mm_src *src = c->shared;
    if (src)
        free(src->data);
    free(src);
    c->shared = NULL;
}

/* ---- per-token ops ------------------------------------------------------------ */

typedef struct op_state {
    bk_tensor a, b, c, d;
} op_state;

enum { OP_RMS, OP_ROPE, OP_ATTN, OP_FFN, OP_ADD, OP_QUANT };

static int op_setup(bk_case *c, bk_plugin *p) {
    op_state *st = calloc(1, sizeof *st);
    if (!st)
        return 0;
    c->state = st;
    int64_t n = c->cols, T = c->tokens;
    switch (c->aux) {
    case OP_RMS:
    case OP_FFN:
    case OP_ADD:
        return bk_tensor_new(p, &st->a, BN_TYPE_F32, n, T, 1) && bk_tensor_fill(p, &st->a, 1, 3.0f) &&
               bk_tensor_new(p, &st->b, BN_TYPE_F32, n, c->aux == OP_RMS ? 1 : T, 1) &&
               bk_tensor_fill(p, &st->b, 2, 1.0f) && bk_tensor_new(p, &st->c, BN_TYPE_F32, n, T, 1);
    case OP_QUANT:
        return bk_tensor_new(p, &st->a, BN_TYPE_F32, n, T, 1) && bk_tensor_fill(p, &st->a, 1, 3.0f) &&
               bk_tensor_new(p, &st->b, BN_TYPE_I8, n, T, 1) && bk_tensor_new(p, &st->c, BN_TYPE_F32, T, 1, 1);
    case OP_ROPE: { /* x [128, 20, T], pos [T] */
        if (!bk_tensor_new(p, &st->a, BN_TYPE_F32, 128, 20, T) || !bk_tensor_fill(p, &st->a, 3, 1.0f) ||
            !bk_tensor_new(p, &st->b, BN_TYPE_I32, T, 1, 1))
            return 0;
        int32_t *pos = st->b.t.data;
        for (int64_t t = 0; t < T; t++)
            pos[t] = (int32_t)(100 + t);
        return 1;
    }
    case OP_ATTN: /* 20/5 heads, head_dim 128, one query at position n - 1; F16 cache */
        return bk_tensor_new(p, &st->a, BN_TYPE_F32, 128, 20, 1) && bk_tensor_fill(p, &st->a, 4, 1.0f) &&
               bk_tensor_new(p, &st->b, BN_TYPE_F16, 128, n, 5) && bk_tensor_fill(p, &st->b, 5, 1.0f) &&
               bk_tensor_new(p, &st->c, BN_TYPE_F16, 128, n, 5) && bk_tensor_fill(p, &st->c, 6, 1.0f) &&
               bk_tensor_new(p, &st->d, BN_TYPE_F32, 128, 20, 1);
    }
    return 0;
}

static int op_run(bk_case *c, bk_plugin *p) {
    op_state *st = c->state;
    const bn_backend *be = p->be;
    switch (c->aux) {
    case OP_RMS: return be->rms_norm(p->ctx, &st->a.t, &st->b.t, 1e-5f, &st->c.t) == BN_OK;
    case OP_FFN: return be->ffn_act(p->ctx, &st->a.t, &st->b.t, BN_ACT_RELU2, &st->c.t) == BN_OK;
    case OP_ADD: return be->add(p->ctx, &st->a.t, &st->b.t, &st->c.t) == BN_OK;
    case OP_QUANT: return be->quantize_act(p->ctx, &st->a.t, &st->b.t, &st->c.t) == BN_OK;
    case OP_ROPE: {
        bn_rope_args a = {.n_dims = 128, .style = BN_ROPE_NEOX, .freq_base = 500000.0f, .freq_scale = 1.0f};
        return be->rope(p->ctx, &st->a.t, &st->b.t, &a) == BN_OK;
    }
    case OP_ATTN: {
        bn_attn_args a = {.n_head = 20, .n_head_kv = 5, .head_dim = 128, .n_tokens = 1,
                          .pos0 = (int32_t)(c->cols - 1), .scale = 0.08838834764f};
        return be->attention(p->ctx, &st->a.t, &st->b.t, &st->c.t, &a, &st->d.t) == BN_OK;
    }
    }
    return 0;
}

static void op_teardown(bk_case *c, bk_plugin *p) {
    op_state *st = c->state;
    if (!st)
        return;
    bk_tensor_free(p, &st->a);
    bk_tensor_free(p, &st->b);
    bk_tensor_free(p, &st->c);
    bk_tensor_free(p, &st->d);
    free(st);
    c->state = NULL;
}

/* ---- the list ------------------------------------------------------------------- */

#define MAX_CASES 256

static void add_mm(bk_case *cs, int *n, int32_t type, int64_t rows, int64_t cols, int64_t T, int32_t kernel,
                   int cold_mb) {
    bk_case *c = &cs[(*n)++];
    memset(c, 0, sizeof *c);
    c->group = bn_type_is_ternary(type) ? "matmul" : "lm_head";
    static const char *kn[] = {"", "/MAD", "/TL1", "/TL2"};
    snprintf(c->label, sizeof c->label, "matmul %s%s %lldx%lld T=%lld", bn_type_name(type), kn[kernel & 3], (long long)rows,
             (long long)cols, (long long)T);
    c->setup = mm_setup;
    c->run = mm_run;
    c->teardown = mm_teardown;
    c->finish = mm_finish;
    c->wtype = type;
    c->rows = rows;
    c->cols = cols;
    c->tokens = T;
    c->aux = kernel;
    c->cold_mb = cold_mb;
}

static void add_op(bk_case *cs, int *n, const char *group, int op, int64_t cols, int64_t T, const char *label) {
    bk_case *c = &cs[(*n)++];
    memset(c, 0, sizeof *c);
    c->group = group;
    snprintf(c->label, sizeof c->label, "%s", label);
    c->setup = op_setup;
    c->run = op_run;
    c->teardown = op_teardown;
    c->cols = cols;
    c->tokens = T;
    c->aux = op;
}

int bk_cases(const bk_opts *o, bk_case **out) {
    static bk_case cs[MAX_CASES];
    static const int32_t tern[] = {BN_TYPE_I2_S, BN_TYPE_TQ2_0, BN_TYPE_TQ1_0};
    /* A/B runs (--kernels) add the K/V projection shape, few rows to share among threads */
    static const int64_t shapes[4][2] = {{2560, 2560}, {6912, 2560}, {2560, 6912}, {640, 2560}};
    int n_shapes = o->kernels ? 4 : 3;
    static const int64_t default_tokens[] = {1, 8};
    const int64_t *toks = o->n_tokens ? o->tokens : default_tokens;
    int n = 0, nt = o->n_tokens ? o->n_tokens : 2;
    unsigned kernels = o->kernels ? o->kernels : 1u << BN_KERNEL_AUTO;
    for (int ti = 0; ti < 3; ti++)
        for (int si = 0; si < n_shapes; si++)
            for (int i = 0; i < nt; i++)
                for (int k = BN_KERNEL_AUTO; k <= BN_KERNEL_TL2; k++)
                    if ((kernels >> k) & 1 && n < MAX_CASES - 16)
                        add_mm(cs, &n, tern[ti], shapes[si][0], shapes[si][1], toks[i], k, o->cold_mb);
    if (!o->kernels)
        for (int k = BN_KERNEL_TL1; k <= BN_KERNEL_TL2; k++)
            add_mm(cs, &n, BN_TYPE_I2_S, 2560, 2560, 1, k, o->cold_mb);
    /* the LM head: one token, and with --tokens every count given (batched decode) */
    for (int i = -1; i < (o->n_tokens ? nt : 0); i++)
        if (i < 0 || toks[i] > 1) {
            add_mm(cs, &n, BN_TYPE_F16, 128256, 2560, i < 0 ? 1 : toks[i], BN_KERNEL_AUTO, 0);
            add_mm(cs, &n, BN_TYPE_Q8_0, 128256, 2560, i < 0 ? 1 : toks[i], BN_KERNEL_AUTO, 0);
        }
    add_op(cs, &n, "rms_norm", OP_RMS, 2560, 8, "rms_norm n=2560 T=8");
    add_op(cs, &n, "rope", OP_ROPE, 128, 8, "rope NEOX 128x20 T=8");
    add_op(cs, &n, "attention", OP_ATTN, 128, 1, "attention 20/5x128 ctx=128 F16");
    add_op(cs, &n, "attention", OP_ATTN, 1024, 1, "attention 20/5x128 ctx=1024 F16");
    add_op(cs, &n, "attention", OP_ATTN, 4096, 1, "attention 20/5x128 ctx=4096 F16");
    add_op(cs, &n, "ffn_act", OP_FFN, 6912, 8, "ffn_act relu2 n=6912 T=8");
    add_op(cs, &n, "add", OP_ADD, 2560, 8, "add n=2560 T=8");
    add_op(cs, &n, "quantize_act", OP_QUANT, 6912, 8, "quantize_act n=6912 T=8");
    *out = cs;
    return n;
}
