/*
 * Ternary matmul driver: stage a pass of up to A5_TOK_PASS tokens (int8
 * activations permuted to the unit order of the weights, minus their lane
 * sums), then run the VNNI or BW kernel over row groups in parallel.
 *
 * Permutation: in a 256-column block, code group n of unit byte 32h + m is
 * column 128h + 32n + m, so activation vector n (64 bytes at 64n) is
 * q[32n .. 32n+32) followed by q[128 + 32n .. 128 + 32n + 32).
 */
#include <immintrin.h>
#include <stdatomic.h>
#include <string.h>

#include "a5_internal.h"

#define GROUPS_PER_GRAIN 4 /* 16 rows */

typedef struct stage_buf {
    int8_t *qp, *qtmp;
    int32_t *nsumq, *nsumq_tot;
    float *s;
} stage_buf;

static size_t stage_bytes(const bn_weight *w, int64_t pass, int n_threads) {
    return (size_t)(pass * w->k_pad) + (size_t)w->k_pad * (size_t)n_threads + sizeof(int32_t) * (size_t)(pass * w->n_blk * 16) +
           sizeof(int32_t) * (size_t)pass + sizeof(float) * (size_t)pass + 4 * A5_ALIGN;
}

static void stage_layout(const bn_weight *w, int64_t pass, int n_threads, uint8_t *base, stage_buf *sb) {
    size_t off = 0;
    sb->qp = (int8_t *)base;
    off += (size_t)(pass * w->k_pad);
    sb->nsumq = (int32_t *)(base + off);
    off += sizeof(int32_t) * (size_t)(pass * w->n_blk * 16);
    sb->qtmp = (int8_t *)(base + off); /* one k_pad row per pool thread */
    off += (size_t)w->k_pad * (size_t)n_threads;
    sb->nsumq_tot = (int32_t *)(base + off);
    off += sizeof(int32_t) * (size_t)pass;
    sb->s = (float *)(base + off);
}

/* Permute one token's padded q into qp and record minus its lane sums. */
static void stage_token(const bn_weight *w, const int8_t *q, int8_t *qp, int32_t *nsumq, int32_t *nsumq_tot) {
    const __m512i ones8 = _mm512_set1_epi8(1), ones16 = _mm512_set1_epi16(1);
    __m512i tot = _mm512_setzero_si512();
    for (int64_t b = 0; b < w->n_blk; b++) {
        const int8_t *src = q + b * A5_BLK;
        int8_t *dst = qp + b * A5_BLK;
        __m512i lanes = _mm512_setzero_si512();
        for (int g = 0; g < 4; g++) {
            __m256i lo = _mm256_loadu_si256((const void *)(src + 32 * g));
            __m256i hi = _mm256_loadu_si256((const void *)(src + 128 + 32 * g));
            __m512i v = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
            _mm512_store_si512((void *)(dst + 64 * g), v);
            lanes = _mm512_add_epi32(lanes, _mm512_madd_epi16(_mm512_maddubs_epi16(ones8, v), ones16));
        }
        _mm512_store_si512((void *)(nsumq + b * 16), _mm512_sub_epi32(_mm512_setzero_si512(), lanes));
        tot = _mm512_add_epi32(tot, lanes);
    }
    *nsumq_tot = -_mm512_reduce_add_epi32(tot);
}

typedef struct run_arg {
    const a5_tjob *jb;
    int vnni;
    /* staging */
    const bn_tensor *x, *x_scale;
    stage_buf *sb;
    int n_threads;
    atomic_int bad_thread;
} run_arg;

static void run_rows(void *arg, int64_t begin, int64_t end, int thread_index) {
    (void)thread_index;
    const run_arg *ra = arg;
    if (ra->vnni)
        a5_ternary_rows_vnni(ra->jb, begin, end);
    else
        a5_ternary_rows_bw(ra->jb, begin, end);
}

/* Quantise (or copy) and stage tokens [begin, end) of the current pass,
 * across the pool for prompts: serial staging capped 2-thread scaling. */
static void stage_tokens(void *arg, int64_t begin, int64_t end, int thread_index) {
    run_arg *ra = arg;
    const a5_tjob *jb = ra->jb;
    const bn_weight *w = jb->w;
    stage_buf *sb = ra->sb;
    if (thread_index < 0 || thread_index >= ra->n_threads) {
        atomic_store(&ra->bad_thread, 1);
        return;
    }
    int8_t *qtmp = sb->qtmp + (int64_t)thread_index * w->k_pad;
    for (int64_t t = begin; t < end; t++) {
        const char *xr = pc_row(ra->x, jb->tok0 + t);
        memset(qtmp + w->n_cols, 0, (size_t)(w->k_pad - w->n_cols));
        if (ra->x->type == BN_TYPE_I8) {
            memcpy(qtmp, xr, (size_t)w->n_cols);
            sb->s[t] = *pc_row_scale(ra->x_scale, ra->x, jb->tok0 + t);
        } else {
            sb->s[t] = a5_quantize_row((const float *)xr, w->n_cols, qtmp);
        }
        stage_token(w, qtmp, sb->qp + t * w->k_pad, sb->nsumq + t * w->n_blk * 16, sb->nsumq_tot + t);
    }
}

bn_status a5_matmul_ternary(bn_backend_ctx *ctx, const bn_weight *w, const bn_tensor *x,
                            const bn_tensor *x_scale, bn_tensor *y) {
    int64_t n_tok = pc_n_rows(x), pass = n_tok < A5_TOK_PASS ? n_tok : A5_TOK_PASS;
    int n_threads = ctx->pc.n_threads > 0 ? ctx->pc.n_threads : 1;
    uint8_t *base = pc_scratch_get(ctx, A5_SCR_STAGE, stage_bytes(w, pass, n_threads));
    if (!base)
        return pc_fail(ctx, BN_ERR_NOMEM, "matmul: out of memory for activation scratch");
    stage_buf sb;
    stage_layout(w, pass, n_threads, base, &sb);
    a5_tjob jb = {.w = w, .qp = sb.qp, .nsumq = sb.nsumq, .nsumq_tot = sb.nsumq_tot, .s = sb.s, .y = y};
    jb.out_i32 = y->type == BN_TYPE_I32;
    jb.blockwise = !jb.out_i32 && w->block_d != NULL;
    run_arg ra = {.jb = &jb, .vnni = ctx->has_vnni, .x = x, .x_scale = x_scale, .sb = &sb, .n_threads = n_threads};
    atomic_init(&ra.bad_thread, 0);
    for (int64_t t0 = 0; t0 < n_tok; t0 += pass) {
        jb.tok0 = t0;
        jb.n_tok = n_tok - t0 < pass ? n_tok - t0 : pass;
        if (jb.n_tok > 1)
            pc_parallel(ctx, jb.n_tok, 1, stage_tokens, &ra);
        else
            stage_tokens(&ra, 0, 1, 0);
        pc_parallel(ctx, w->rows_pad / A5_RG, GROUPS_PER_GRAIN, run_rows, &ra);
    }
    pc_scratch_put(ctx, A5_SCR_STAGE, base);
    if (atomic_load(&ra.bad_thread))
        return pc_fail(ctx, BN_ERR_INTERNAL, "matmul: pool thread index beyond n_threads = %d", n_threads);
    return BN_OK;
}
