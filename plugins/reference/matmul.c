/*
 * y = W x for every token row of x, split over output rows with the
 * core's parallel_for.
 *
 * Ternary weights (W1.58 A8): x is quantised per token (or given as I8
 * with its s_x), the integer sum of t*q is exact in int32 (lut.c), then
 *   I2_S:        y = (float)isum * (tensor_scale * extra) / s_x
 *   TQ1_0/TQ2_0: acc = sum over 256-blocks in order of d_b * (float)isum_b
 *                (float), y = acc * extra / s_x
 *   y I32:       the raw integer sum over the whole row, no scales.
 * Float weights with F32 x: a dot product in natural column order,
 * accumulated in double.
 * Q8_0: x F32 is quantised per token exactly as for ternary weights (the
 * ABI's contract, which every plugin meets), or given as I8;
 * acc = sum_b d_b * (float)isum_b (float), y = acc * extra / s_x.
 */
#include <string.h>

#include "ref_internal.h"

#define TOKENS_PER_PASS 32 /* bounds the per-call scratch of q and tables */
#define ROWS_PER_GRAIN 16

typedef struct mm_job {
    bn_backend_ctx *ctx;
    const bn_weight *w;
    const bn_tensor *x;
    bn_tensor *y;
    int64_t tok0, n_tok;
    const int8_t *q;       /* [n_tok][n_cols] int8 activations (ternary, Q8_0 + I8) */
    const float *s;        /* [n_tok] s_x */
    const int16_t *tables; /* [n_tok][n_seg][seg_entries] LUT tables */
    size_t seg_entries;
} mm_job;

static int is_ternary(const bn_weight *w) { return w->packed != NULL; }

static void ternary_row(const mm_job *jb, int64_t j) {
    const bn_weight *w = jb->w;
    int out_i32 = jb->y->type == BN_TYPE_I32;
    for (int64_t t = 0; t < jb->n_tok; t++) {
        const int8_t *q = jb->q + t * w->n_cols;
        const int16_t *tab = jb->tables + (size_t)t * (size_t)w->n_seg * jb->seg_entries;
        int32_t total = 0;
        float acc = 0.0f;
        for (int64_t sg = 0; sg < w->n_seg; sg++) {
            const uint8_t *p = w->packed + (size_t)(j * w->n_seg + sg) * w->seg_bytes;
            int32_t isum = ref_dot(w->kernel, p, w->seg_len, q + sg * w->seg_len,
                                   tab + (size_t)sg * jb->seg_entries);
            total += isum;
            if (w->block_d)
                acc += w->block_d[j * w->blocks_per_row + sg] * (float)isum;
        }
        char *yrow = pc_row(jb->y, jb->tok0 + t);
        if (out_i32)
            ((int32_t *)yrow)[j] = total;
        else if (w->block_d)
            ((float *)yrow)[j] = acc * w->extra_scale / jb->s[t];
        else
            ((float *)yrow)[j] = (float)total * (w->tensor_scale * w->extra_scale) / jb->s[t];
    }
}

static float dot_q8_0_i8(const bn_backend_ctx *ctx, const uint8_t *row, int64_t n, const int8_t *q) {
    float acc = 0.0f;
    for (int64_t b = 0; b < n / BN_QK_Q8_0; b++) {
        const uint8_t *blk = row + b * 34;
        int32_t isum = 0;
        for (int i = 0; i < BN_QK_Q8_0; i++)
            isum += (int8_t)blk[2 + i] * q[b * BN_QK_Q8_0 + i];
        acc += ctx->pc.f16_table[pc_rd16(blk)] * (float)isum;
    }
    return acc;
}

static double dot_float(const bn_backend_ctx *ctx, int32_t type, const uint8_t *row, int64_t n,
                        const float *x) {
    double acc = 0.0;
    switch (type) {
    case BN_TYPE_F32:
        for (int64_t i = 0; i < n; i++)
            acc += (double)pc_rdf32(row + 4 * i) * (double)x[i];
        break;
    case BN_TYPE_F16:
        for (int64_t i = 0; i < n; i++)
            acc += (double)ctx->pc.f16_table[pc_rd16(row + 2 * i)] * (double)x[i];
        break;
    case BN_TYPE_BF16:
        for (int64_t i = 0; i < n; i++)
            acc += (double)pc_bf16_to_f32(pc_rd16(row + 2 * i)) * (double)x[i];
        break;
    case BN_TYPE_Q6_K:
        for (int64_t b = 0; b < n / BN_QK_K; b++) {
            float v[BN_QK_K];
            pc_decode_float_row(ctx, type, row + b * 210, BN_QK_K, v);
            for (int i = 0; i < BN_QK_K; i++)
                acc += (double)v[i] * (double)x[b * BN_QK_K + i];
        }
        break;
    default:
        break;
    }
    return acc;
}

static void float_row(const mm_job *jb, int64_t j) {
    const bn_weight *w = jb->w;
    const uint8_t *row = w->raw + (size_t)j * w->raw_row_bytes;
    for (int64_t t = 0; t < jb->n_tok; t++) {
        float *yrow = (float *)pc_row(jb->y, jb->tok0 + t);
        if (jb->q) /* Q8_0: int8 activations */
            yrow[j] = dot_q8_0_i8(jb->ctx, row, w->n_cols, jb->q + t * w->n_cols) * w->extra_scale /
                      jb->s[t];
        else
            yrow[j] = (float)dot_float(jb->ctx, w->type, row, w->n_cols,
                                       (const float *)pc_row(jb->x, jb->tok0 + t)) *
                      w->extra_scale;
    }
}

static void mm_work(void *arg, int64_t begin, int64_t end, int thread_index) {
    (void)thread_index;
    const mm_job *jb = arg;
    for (int64_t j = begin; j < end; j++) {
        if (is_ternary(jb->w))
            ternary_row(jb, j);
        else
            float_row(jb, j);
    }
}

static bn_status check_args(bn_backend_ctx *ctx, const bn_weight *w, const bn_tensor *x,
                            const bn_tensor *x_scale, const bn_tensor *y) {
    pc_weight_dims d = {w ? w->name : "", w ? w->n_rows : 0, w ? w->n_cols : 0};
    return pc_matmul_check(ctx, w ? &d : NULL, w ? w->type : BN_TYPE_F32, x, x_scale, y);
}

/* Quantise (or copy) the activations of tokens [tok0, tok0 + n) and build
 * their LUT tables. */
static void stage_tokens(const bn_weight *w, const bn_tensor *x, const bn_tensor *x_scale, mm_job *jb,
                         int8_t *q, float *s, int16_t *tables) {
    int64_t n = w->n_cols;
    for (int64_t t = 0; t < jb->n_tok; t++) {
        const char *xr = pc_row(x, jb->tok0 + t);
        if (x->type == BN_TYPE_I8) {
            memcpy(q + t * n, xr, (size_t)n);
            s[t] = *pc_row_scale(x_scale, x, jb->tok0 + t);
        } else {
            s[t] = ref_quantize_row((const float *)xr, n, q + t * n);
        }
        if (jb->seg_entries)
            for (int64_t sg = 0; sg < w->n_seg; sg++)
                ref_lut_build(w->kernel, q + t * n + sg * w->seg_len, w->seg_len,
                              tables + ((size_t)t * (size_t)w->n_seg + (size_t)sg) * jb->seg_entries);
    }
}

bn_status ref_matmul(bn_backend_ctx *ctx, const bn_weight *w, const bn_tensor *x,
                     const bn_tensor *x_scale, bn_tensor *y) {
    bn_status st = check_args(ctx, w, x, x_scale, y);
    if (st != BN_OK)
        return st;
    int need_q = is_ternary(w) || w->type == BN_TYPE_Q8_0 || x->type == BN_TYPE_I8;
    mm_job jb = {.ctx = ctx, .w = w, .x = x, .y = y};
    jb.seg_entries = is_ternary(w) ? ref_lut_entries(w->kernel, w->seg_len) : 0;
    int64_t n_tok = pc_n_rows(x), pass = n_tok < TOKENS_PER_PASS ? n_tok : TOKENS_PER_PASS;
    int8_t *q = NULL;
    float *s = NULL;
    int16_t *tables = NULL;
    if (need_q) {
        q = pc_alloc(ctx, (size_t)(pass * w->n_cols));
        s = pc_alloc(ctx, sizeof(float) * (size_t)pass);
        if (jb.seg_entries)
            tables = pc_alloc(ctx, sizeof(int16_t) * (size_t)pass * (size_t)w->n_seg * jb.seg_entries);
        if (!q || !s || (jb.seg_entries && !tables)) {
            pc_free(ctx, q);
            pc_free(ctx, s);
            pc_free(ctx, tables);
            return pc_fail(ctx, BN_ERR_NOMEM, "matmul: out of memory for activation scratch");
        }
    }
    for (int64_t t0 = 0; t0 < n_tok; t0 += pass) {
        jb.tok0 = t0;
        jb.n_tok = n_tok - t0 < pass ? n_tok - t0 : pass;
        if (need_q)
            stage_tokens(w, x, x_scale, &jb, q, s, tables);
        jb.q = q;
        jb.s = s;
        jb.tables = tables;
        pc_parallel(ctx, w->n_rows, ROWS_PER_GRAIN, mm_work, &jb);
    }
    pc_free(ctx, q);
    pc_free(ctx, s);
    pc_free(ctx, tables);
    return BN_OK;
}
