/*
 * y = W x for float-family weights (the LM head, embeddings used as the
 * head, and any non-ternary linear layer); cpu-avx2's algorithms on
 * 4-lane NEON.
 *  F16 / BF16 / F32 with x F32: f32 FMA dot products (F16 through fcvtl,
 *      BF16 by a 16-bit shift), 4 independent accumulators; float error
 *      far inside the suite's bound. F16 rows feed two tokens per pass.
 *  Q8_0: x F32 is quantised per row to absmax int8 with nn_quantize_row
 *      (allowed: no coarser than per-row absmax int8), I8 x is used as
 *      given. Per block the int8 products (smull, |w q| <= 128 * 128 fits
 *      int16) are pairwise widened into int32 lanes (sadalp), so the block
 *      sum is exact; then acc += d_b * isum_b in float lanes and
 *      y = acc * extra / s_x.
 *  Q6_K: 256-blocks decoded with the scalar decoder, then FMA.
 * Rows are split over the pool; every token of a call reuses a row while
 * it is in L1.
 */
#include <arm_neon.h>
#include <string.h>

#include "neon_internal.h"

#define ROWS_PER_GRAIN 16
#define Q6K_TOK_GROUP 8
#define Q8_0_BLOCK_BYTES 34 /* fp16 d, 32 int8 */

typedef struct fm_job {
    const bn_backend_ctx *ctx;
    const bn_weight *w;
    const bn_tensor *x;
    bn_tensor *y;
    int64_t n_tok;
    const int8_t *q; /* Q8_0: [n_tok][n_cols] */
    const float *s;  /* Q8_0: [n_tok] */
} fm_job;

/* 4 fp16 (little-endian bytes, any alignment) as f32 */
static inline float32x4_t f16x4(const uint8_t *p) {
    return vcvt_f32_f16(vreinterpret_f16_u8(vld1_u8(p)));
}

/* 4 bf16 as f32: the 16 bits are the top half of the f32 */
static inline float32x4_t bf16x4(const uint8_t *p) {
    return vreinterpretq_f32_u32(vshll_n_u16(vreinterpret_u16_u8(vld1_u8(p)), 16));
}

static inline float sum4(float32x4_t a0, float32x4_t a1, float32x4_t a2, float32x4_t a3) {
    return vaddvq_f32(vaddq_f32(vaddq_f32(a0, a1), vaddq_f32(a2, a3)));
}

static float dot_f16(const bn_backend_ctx *ctx, const uint8_t *row, const float *x, int64_t n) {
    float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0, a2 = a0, a3 = a0;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        a0 = vfmaq_f32(a0, f16x4(row + 2 * i), vld1q_f32(x + i));
        a1 = vfmaq_f32(a1, f16x4(row + 2 * i + 8), vld1q_f32(x + i + 4));
        a2 = vfmaq_f32(a2, f16x4(row + 2 * i + 16), vld1q_f32(x + i + 8));
        a3 = vfmaq_f32(a3, f16x4(row + 2 * i + 24), vld1q_f32(x + i + 12));
    }
    for (; i + 4 <= n; i += 4)
        a0 = vfmaq_f32(a0, f16x4(row + 2 * i), vld1q_f32(x + i));
    float sum = sum4(a0, a1, a2, a3);
    for (; i < n; i++)
        sum += ctx->pc.f16_table[pc_rd16(row + 2 * i)] * x[i];
    return sum;
}

/* dot_f16 for two tokens at once: each weight vector is converted once
 * and feeds both; per token the same operations in the same order as
 * dot_f16, so each result is bit-equal to it. */
static void dot_f16_x2(const bn_backend_ctx *ctx, const uint8_t *row, const float *x, const float *z,
                       int64_t n, float *out_x, float *out_z) {
    float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const float32x4_t w0 = f16x4(row + 2 * i), w1 = f16x4(row + 2 * i + 8);
        const float32x4_t w2 = f16x4(row + 2 * i + 16), w3 = f16x4(row + 2 * i + 24);
        a0 = vfmaq_f32(a0, w0, vld1q_f32(x + i));
        b0 = vfmaq_f32(b0, w0, vld1q_f32(z + i));
        a1 = vfmaq_f32(a1, w1, vld1q_f32(x + i + 4));
        b1 = vfmaq_f32(b1, w1, vld1q_f32(z + i + 4));
        a2 = vfmaq_f32(a2, w2, vld1q_f32(x + i + 8));
        b2 = vfmaq_f32(b2, w2, vld1q_f32(z + i + 8));
        a3 = vfmaq_f32(a3, w3, vld1q_f32(x + i + 12));
        b3 = vfmaq_f32(b3, w3, vld1q_f32(z + i + 12));
    }
    for (; i + 4 <= n; i += 4) {
        const float32x4_t w0 = f16x4(row + 2 * i);
        a0 = vfmaq_f32(a0, w0, vld1q_f32(x + i));
        b0 = vfmaq_f32(b0, w0, vld1q_f32(z + i));
    }
    float sx = sum4(a0, a1, a2, a3), sz = sum4(b0, b1, b2, b3);
    for (; i < n; i++) {
        const float wv = ctx->pc.f16_table[pc_rd16(row + 2 * i)];
        sx += wv * x[i];
        sz += wv * z[i];
    }
    *out_x = sx;
    *out_z = sz;
}

static float dot_bf16(const uint8_t *row, const float *x, int64_t n) {
    float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0, a2 = a0, a3 = a0;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        a0 = vfmaq_f32(a0, bf16x4(row + 2 * i), vld1q_f32(x + i));
        a1 = vfmaq_f32(a1, bf16x4(row + 2 * i + 8), vld1q_f32(x + i + 4));
        a2 = vfmaq_f32(a2, bf16x4(row + 2 * i + 16), vld1q_f32(x + i + 8));
        a3 = vfmaq_f32(a3, bf16x4(row + 2 * i + 24), vld1q_f32(x + i + 12));
    }
    for (; i + 4 <= n; i += 4)
        a0 = vfmaq_f32(a0, bf16x4(row + 2 * i), vld1q_f32(x + i));
    float sum = sum4(a0, a1, a2, a3);
    for (; i < n; i++)
        sum += pc_bf16_to_f32(pc_rd16(row + 2 * i)) * x[i];
    return sum;
}

/* Rows are 4-byte aligned (pc_alloc'd, 4 n bytes each); loaded as bytes
 * all the same, like the other types. */
static float dot_f32(const uint8_t *row, const float *x, int64_t n) {
    float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0, a2 = a0, a3 = a0;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        a0 = vfmaq_f32(a0, vreinterpretq_f32_u8(vld1q_u8(row + 4 * i)), vld1q_f32(x + i));
        a1 = vfmaq_f32(a1, vreinterpretq_f32_u8(vld1q_u8(row + 4 * i + 16)), vld1q_f32(x + i + 4));
        a2 = vfmaq_f32(a2, vreinterpretq_f32_u8(vld1q_u8(row + 4 * i + 32)), vld1q_f32(x + i + 8));
        a3 = vfmaq_f32(a3, vreinterpretq_f32_u8(vld1q_u8(row + 4 * i + 48)), vld1q_f32(x + i + 12));
    }
    for (; i + 4 <= n; i += 4)
        a0 = vfmaq_f32(a0, vreinterpretq_f32_u8(vld1q_u8(row + 4 * i)), vld1q_f32(x + i));
    float sum = sum4(a0, a1, a2, a3);
    for (; i < n; i++)
        sum += pc_rdf32(row + 4 * i) * x[i];
    return sum;
}

/* sum_b d_b * sum(w q over block b), the block sums exact in int32. */
static float dot_q8_0(const bn_backend_ctx *ctx, const uint8_t *row, const int8_t *q, int64_t n) {
    float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0;
    const int64_t nb = n / BN_QK_Q8_0;
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *blk = row + b * Q8_0_BLOCK_BYTES;
        const int8_t *qb = q + b * BN_QK_Q8_0;
        const int8x16_t w0 = vld1q_s8((const int8_t *)blk + 2), w1 = vld1q_s8((const int8_t *)blk + 18);
        const int8x16_t q0 = vld1q_s8(qb), q1 = vld1q_s8(qb + 16);
        int32x4_t p = vpaddlq_s16(vmull_s8(vget_low_s8(w0), vget_low_s8(q0)));
        p = vpadalq_s16(p, vmull_high_s8(w0, q0));
        p = vpadalq_s16(p, vmull_s8(vget_low_s8(w1), vget_low_s8(q1)));
        p = vpadalq_s16(p, vmull_high_s8(w1, q1));
        const float d = ctx->pc.f16_table[pc_rd16(blk)];
        if (b & 1)
            a1 = vfmaq_n_f32(a1, vcvtq_f32_s32(p), d);
        else
            a0 = vfmaq_n_f32(a0, vcvtq_f32_s32(p), d);
    }
    return vaddvq_f32(vaddq_f32(a0, a1));
}

/* Row j for every token: each 256-block decoded once, then used by up to
 * Q6K_TOK_GROUP tokens (two FMA chains each). */
static void q6k_row(const fm_job *jb, int64_t j) {
    const bn_weight *w = jb->w;
    const uint8_t *row = w->raw + (size_t)j * w->raw_row_bytes;
    const size_t blk_bytes = pc_row_bytes(BN_TYPE_Q6_K, BN_QK_K);
    float buf[BN_QK_K] __attribute__((aligned(16)));
    for (int64_t t0 = 0; t0 < jb->n_tok; t0 += Q6K_TOK_GROUP) {
        const int64_t nt = jb->n_tok - t0 < Q6K_TOK_GROUP ? jb->n_tok - t0 : Q6K_TOK_GROUP;
        float32x4_t acc[Q6K_TOK_GROUP][2];
        for (int64_t t = 0; t < nt; t++)
            acc[t][0] = acc[t][1] = vdupq_n_f32(0.0f);
        for (int64_t b = 0; b < w->n_cols / BN_QK_K; b++) {
            pc_decode_float_row(jb->ctx, BN_TYPE_Q6_K, row + b * blk_bytes, BN_QK_K, buf);
            for (int64_t t = 0; t < nt; t++) {
                const float *x = (const float *)pc_row(jb->x, t0 + t) + b * BN_QK_K;
                for (int i = 0; i < BN_QK_K; i += 8) {
                    acc[t][0] = vfmaq_f32(acc[t][0], vld1q_f32(buf + i), vld1q_f32(x + i));
                    acc[t][1] = vfmaq_f32(acc[t][1], vld1q_f32(buf + i + 4), vld1q_f32(x + i + 4));
                }
            }
        }
        for (int64_t t = 0; t < nt; t++)
            ((float *)pc_row(jb->y, t0 + t))[j] = vaddvq_f32(vaddq_f32(acc[t][0], acc[t][1])) * w->extra_scale;
    }
}

static void fm_work(void *arg, int64_t begin, int64_t end, int thread_index) {
    (void)thread_index;
    const fm_job *jb = arg;
    const bn_weight *w = jb->w;
    const int64_t n = w->n_cols;
    const float extra = w->extra_scale;
    for (int64_t j = begin; j < end; j++) {
        if (w->type == BN_TYPE_Q6_K) {
            q6k_row(jb, j);
            continue;
        }
        const uint8_t *row = w->raw + (size_t)j * w->raw_row_bytes;
        int64_t t = 0;
        if (w->type == BN_TYPE_F16)
            for (; t + 2 <= jb->n_tok; t += 2) {
                float *y0 = (float *)pc_row(jb->y, t), *y1 = (float *)pc_row(jb->y, t + 1);
                float s0, s1;
                dot_f16_x2(jb->ctx, row, (const float *)pc_row(jb->x, t), (const float *)pc_row(jb->x, t + 1), n,
                           &s0, &s1);
                y0[j] = s0 * extra;
                y1[j] = s1 * extra;
            }
        for (; t < jb->n_tok; t++) {
            float *yrow = (float *)pc_row(jb->y, t);
            const float *x = jb->q ? NULL : (const float *)pc_row(jb->x, t);
            switch (w->type) {
            case BN_TYPE_F16: yrow[j] = dot_f16(jb->ctx, row, x, n) * extra; break;
            case BN_TYPE_BF16: yrow[j] = dot_bf16(row, x, n) * extra; break;
            case BN_TYPE_F32: yrow[j] = dot_f32(row, x, n) * extra; break;
            default: /* Q8_0 */
                yrow[j] = dot_q8_0(jb->ctx, row, jb->q + t * n, n) * extra / jb->s[t];
                break;
            }
        }
    }
}

/* The caller (nn_matmul) has checked the arguments (pc_mad_matmul_check). */
bn_status nn_matmul_float(bn_backend_ctx *ctx, const bn_weight *w, const bn_tensor *x,
                          const bn_tensor *x_scale, bn_tensor *y) {
    const int64_t n_tok = pc_n_rows(x), n = w->n_cols;
    fm_job jb = {.ctx = ctx, .w = w, .x = x, .y = y, .n_tok = n_tok};
    uint8_t *scr = NULL;
    if (w->type == BN_TYPE_Q8_0) {
        const size_t s_off = ((size_t)(n_tok * n) + 63) / 64 * 64;
        scr = pc_scratch_get(ctx, NN_SCR_ACT, s_off + sizeof(float) * (size_t)n_tok);
        if (!scr)
            return pc_fail(ctx, BN_ERR_NOMEM, "matmul: out of memory for activation scratch");
        int8_t *q = (int8_t *)scr;
        float *s = (float *)(scr + s_off);
        for (int64_t t = 0; t < n_tok; t++) {
            const char *xr = pc_row(x, t);
            if (x->type == BN_TYPE_I8) {
                memcpy(q + t * n, xr, (size_t)n);
                s[t] = *pc_row_scale(x_scale, x, t);
            } else {
                s[t] = nn_quantize_row((const float *)xr, n, q + t * n);
            }
        }
        jb.q = q;
        jb.s = s;
    } else if (x->type != BN_TYPE_F32) {
        return pc_fail(ctx, BN_ERR_UNSUPPORTED, "matmul: %s weights need F32 activations ('%s')",
                       bn_type_name(w->type), w->name);
    }
    pc_parallel(ctx, w->n_rows, ROWS_PER_GRAIN, fm_work, &jb);
    pc_scratch_put(ctx, NN_SCR_ACT, scr);
    return BN_OK;
}
