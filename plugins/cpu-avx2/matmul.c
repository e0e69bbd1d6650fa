/*
 * y = W x for ternary weights (MAD family), and the matmul entry point
 * that routes float weights to matmul_float.c.
 *
 * Per call the activations of all tokens are quantised once (or copied
 * when given as I8) into a zero-padded int8 buffer, with per token and
 * per scale segment the lane sums of q (see below). Then rows are split
 * over the pool. For each row the 32 bytes of a 128-column block become
 * four vectors of 2-bit codes c = t + 1 (shift, mask), and
 * _mm256_maddubs_epi16(c, q) sums c*q in 16-bit pairs (|pair| <= 512);
 * up to 16 blocks add up in 16 bits before madd widens to 32 bits. At the end of
 * a segment (the whole row for I2_S, a 256-block for TQ) subtracting the
 * same lanes' sum of q leaves the exact integer sum of t*q in 8 lanes.
 *   I2_S:  y = (float)isum * (tensor_scale * extra) / s_x   (as the reference)
 *   TQ:    acc = sum_b d_b * isum_b in 8 float lanes, y = acc * extra / s_x
 *   I32:   the integer total.
 * For several tokens a tile of rows is swept once per group of up to 8
 * tokens, so each decoded weight vector feeds 8 tokens and the tile stays
 * in L1; the group's activations are interleaved block by block so one
 * pointer with constant offsets reaches all of them (the token loops are
 * unrolled, the sums stay in registers). From LANES_MIN_TOKENS_* tokens
 * on, matmul_lanes.c takes over.
 */
#include <string.h>

#include "avx2_internal.h"
#include "simd_util.h"

#define ROW_TILE 16 /* rows per tile; also the parallel_for grain */
#define TOK_GROUP 8
/* Blocks summed in 16 bits before widening: a block adds at most
 * 4 * 2 * (2 * 128) = 2048 in magnitude, and 16 * -2048 = -32768 still fits. */
#define I16_BLOCKS 16
/* From here on matmul_lanes.c is faster (its 8-lane pass): `bench-kernels
 * -t 1 --only matmul --tokens 4,5`, Zen 1, 6912x2560: I2_S 2.54 (MAD) vs
 * 2.76 ms at 4 tokens, 3.14 vs 2.77 at 5; TQ2_0 3.37 vs 2.87 at 4 (its
 * per-block scales cost MAD more). */
#define LANES_MIN_TOKENS_I2S 5
#define LANES_MIN_TOKENS_TQ 4

typedef struct tm_job {
    const bn_weight *w;
    bn_tensor *y;
    int64_t n_tok;
    const int8_t *q;      /* per group of TOK_GROUP tokens: [block][token][AX_BLOCK] */
    const float *s;       /* [n_tok] */
    const int32_t *qlane; /* [n_tok][n_seg][8] */
    int64_t n_seg, seg_blocks;
    int out_i32;
} tm_job;

AX_INLINE void tern_row(const tm_job *jb, int64_t j, int64_t t0, const int NT) {
    const bn_weight *w = jb->w;
    const uint8_t *wr = w->codes + (size_t)j * w->row_bytes;
    const __m256i m3 = _mm256_set1_epi8(3), ones = _mm256_set1_epi16(1);
    const float *d = w->block_d ? w->block_d + j * w->blocks_per_row : NULL;
    const int8_t *qg = jb->q + t0 * w->k_pad;
    __m256i tot[TOK_GROUP];
    __m256 accf[TOK_GROUP];
#pragma GCC unroll 8
    for (int t = 0; t < NT; t++) {
        tot[t] = _mm256_setzero_si256();
        accf[t] = _mm256_setzero_ps();
    }
    int64_t b = 0;
    for (int64_t sg = 0; sg < jb->n_seg; sg++) {
        __m256i acc[TOK_GROUP];
#pragma GCC unroll 8
        for (int t = 0; t < NT; t++)
            acc[t] = _mm256_setzero_si256();
        for (int64_t be = b + jb->seg_blocks; b < be;) {
            int64_t bc = be - b < I16_BLOCKS ? be : b + I16_BLOCKS;
            __m256i a16[TOK_GROUP];
#pragma GCC unroll 8
            for (int t = 0; t < NT; t++)
                a16[t] = _mm256_setzero_si256();
            for (; b < bc; b++) {
                __m256i v = _mm256_loadu_si256((const __m256i *)(wr + b * AX_BLOCK_BYTES));
                __m256i c0 = _mm256_and_si256(v, m3);
                __m256i c1 = _mm256_and_si256(_mm256_srli_epi16(v, 2), m3);
                __m256i c2 = _mm256_and_si256(_mm256_srli_epi16(v, 4), m3);
                __m256i c3 = _mm256_and_si256(_mm256_srli_epi16(v, 6), m3);
#pragma GCC unroll 8
                for (int t = 0; t < NT; t++) {
                    const __m256i *qp = (const __m256i *)(qg + (b * NT + t) * AX_BLOCK);
                    __m256i s0 = _mm256_maddubs_epi16(c0, _mm256_load_si256(qp));
                    __m256i s1 = _mm256_maddubs_epi16(c1, _mm256_load_si256(qp + 1));
                    __m256i s2 = _mm256_maddubs_epi16(c2, _mm256_load_si256(qp + 2));
                    __m256i s3 = _mm256_maddubs_epi16(c3, _mm256_load_si256(qp + 3));
                    a16[t] = _mm256_add_epi16(a16[t], _mm256_add_epi16(_mm256_add_epi16(s0, s1),
                                                                       _mm256_add_epi16(s2, s3)));
                }
            }
#pragma GCC unroll 8
            for (int t = 0; t < NT; t++)
                acc[t] = _mm256_add_epi32(acc[t], _mm256_madd_epi16(a16[t], ones));
        }
#pragma GCC unroll 8
        for (int t = 0; t < NT; t++) {
            const __m256i *ql = (const __m256i *)(jb->qlane + ((t0 + t) * jb->n_seg + sg) * 8);
            acc[t] = _mm256_sub_epi32(acc[t], _mm256_load_si256(ql));
            tot[t] = _mm256_add_epi32(tot[t], acc[t]);
            if (d)
                accf[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc[t]), _mm256_set1_ps(d[sg]), accf[t]);
        }
    }
    for (int t = 0; t < NT; t++) {
        char *yrow = pc_row(jb->y, t0 + t);
        if (jb->out_i32)
            ((int32_t *)yrow)[j] = ax_hsum_i32(tot[t]);
        else if (d)
            ((float *)yrow)[j] = ax_hsum_ps(accf[t]) * w->extra_scale / jb->s[t0 + t];
        else
            ((float *)yrow)[j] =
                (float)ax_hsum_i32(tot[t]) * (w->tensor_scale * w->extra_scale) / jb->s[t0 + t];
    }
}

static void tern_work(void *arg, int64_t begin, int64_t end, int thread_index) {
    (void)thread_index;
    const tm_job *jb = arg;
    for (int64_t r0 = begin; r0 < end; r0 += ROW_TILE) {
        int64_t r1 = r0 + ROW_TILE < end ? r0 + ROW_TILE : end;
        for (int64_t t0 = 0; t0 < jb->n_tok; t0 += TOK_GROUP) {
            int64_t nt = jb->n_tok - t0 < TOK_GROUP ? jb->n_tok - t0 : TOK_GROUP;
            for (int64_t j = r0; j < r1; j++) {
                switch (nt) {
                case 8: tern_row(jb, j, t0, 8); break;
                case 7: tern_row(jb, j, t0, 7); break;
                case 6: tern_row(jb, j, t0, 6); break;
                case 5: tern_row(jb, j, t0, 5); break;
                case 4: tern_row(jb, j, t0, 4); break;
                case 3: tern_row(jb, j, t0, 3); break;
                case 2: tern_row(jb, j, t0, 2); break;
                default: tern_row(jb, j, t0, 1); break;
                }
            }
        }
    }
}

/* Lane sums of q over each segment, in the lanes the kernel uses. */
static void q_lane_sums(const int8_t *q, int64_t n_seg, int64_t seg_blocks, int32_t *out) {
    const __m256i one8 = _mm256_set1_epi8(1), ones = _mm256_set1_epi16(1);
    for (int64_t sg = 0; sg < n_seg; sg++) {
        __m256i acc = _mm256_setzero_si256();
        for (int64_t b = sg * seg_blocks; b < (sg + 1) * seg_blocks; b++) {
            const __m256i *qp = (const __m256i *)(q + b * AX_BLOCK);
            __m256i s = _mm256_add_epi16(
                _mm256_add_epi16(_mm256_maddubs_epi16(one8, _mm256_load_si256(qp)),
                                 _mm256_maddubs_epi16(one8, _mm256_load_si256(qp + 1))),
                _mm256_add_epi16(_mm256_maddubs_epi16(one8, _mm256_load_si256(qp + 2)),
                                 _mm256_maddubs_epi16(one8, _mm256_load_si256(qp + 3))));
            acc = _mm256_add_epi32(acc, _mm256_madd_epi16(s, ones));
        }
        _mm256_store_si256((__m256i *)(out + sg * 8), acc);
    }
}

static bn_status matmul_ternary(bn_backend_ctx *ctx, const bn_weight *w, const bn_tensor *x,
                                const bn_tensor *x_scale, bn_tensor *y) {
    int64_t n_tok = pc_n_rows(x), kp = w->k_pad;
    tm_job jb = {.w = w, .y = y, .n_tok = n_tok, .out_i32 = y->type == BN_TYPE_I32};
    jb.n_seg = w->blocks_per_row ? w->blocks_per_row : 1;
    jb.seg_blocks = kp / AX_BLOCK / jb.n_seg;
    size_t q_bytes = (size_t)(n_tok * kp), lane_bytes = sizeof(int32_t) * 8 * (size_t)(n_tok * jb.n_seg);
    size_t s_off = q_bytes, lane_off = (s_off + sizeof(float) * (size_t)n_tok + 63) / 64 * 64;
    size_t row_off = (lane_off + lane_bytes + 63) / 64 * 64;
    uint8_t *scr = pc_scratch_get(ctx, AX_SCR_ACT, row_off + (size_t)kp);
    if (!scr)
        return pc_fail(ctx, BN_ERR_NOMEM, "matmul: out of memory for activation scratch");
    int8_t *q = (int8_t *)scr;
    float *s = (float *)(scr + s_off);
    int32_t *qlane = (int32_t *)(scr + lane_off);
    int8_t *row = (int8_t *)(scr + row_off);
    /* with enough tokens the token-lane kernel wins (matmul_lanes.c): it wants q row by row */
    int lanes = n_tok >= (w->block_d ? LANES_MIN_TOKENS_TQ : LANES_MIN_TOKENS_I2S);
    for (int64_t t = 0; t < n_tok; t++) {
        int8_t *qt = lanes ? q + t * kp : row;
        s[t] = pc_mad_token_q(w, x, x_scale, t, qt);
        if (lanes)
            continue;
        q_lane_sums(qt, jb.n_seg, jb.seg_blocks, qlane + t * jb.n_seg * 8);
        /* block b of token t goes where tern_row's group of nt tokens reads it */
        int64_t t0 = t / TOK_GROUP * TOK_GROUP, nt = n_tok - t0 < TOK_GROUP ? n_tok - t0 : TOK_GROUP;
        for (int64_t b = 0; b < kp / AX_BLOCK; b++)
            memcpy(q + t0 * kp + (b * nt + (t - t0)) * AX_BLOCK, qt + b * AX_BLOCK, AX_BLOCK);
    }
    bn_status st = BN_OK;
    if (lanes) {
        st = ax_lanes_matmul(ctx, w, q, s, n_tok, y);
    } else {
        jb.q = q;
        jb.s = s;
        jb.qlane = qlane;
        pc_parallel(ctx, w->n_rows, ROW_TILE, tern_work, &jb);
    }
    pc_scratch_put(ctx, AX_SCR_ACT, scr);
    return st;
}

bn_status ax_matmul(bn_backend_ctx *ctx, const bn_weight *w, const bn_tensor *x,
                    const bn_tensor *x_scale, bn_tensor *y) {
    bn_status st = pc_mad_matmul_check(ctx, w, x, x_scale, y);
    if (st != BN_OK)
        return st;
    if (w->lut_idx)
        return ax_lut_matmul(ctx, w, x, x_scale, y);
    if (w->codes)
        return matmul_ternary(ctx, w, x, x_scale, y);
    return ax_matmul_float(ctx, w, x, x_scale, y);
}
