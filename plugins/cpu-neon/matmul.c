/*
 * y = W x: the matmul slot. Float weights go to matmul_float.c, LUT
 * weights to lut.c; ternary MAD weights come here.
 *
 * Per call every token is quantised once (or copied when x is I8) into a
 * zero-padded int8 row, with the sum of q per scale segment (the kernels
 * sum c q with c = t + 1). Rows are split over the pool in tiles; per tile
 * and group of up to NN_MAX_TOK tokens one kernel call per row (two rows
 * for smmla) gives the exact integer sums per segment, and the scales are
 * applied here, the same way for every kernel:
 *   I2_S:  y = (float)isum * (tensor_scale * extra) / s_x   (as the reference)
 *   TQ:    acc = sum_b d_b * isum_b in block order, y = acc * extra / s_x
 *   I32:   the integer total.
 * Kernel choice (init, from HWCAP): smmla for two or more tokens when the
 * CPU has i8mm, else sdot when it has dotprod, else base NEON.
 */
#include <string.h>

#include "neon_internal.h"

#define ROW_TILE 16 /* rows per parallel_for item */

typedef void (*tern_kernel)(const nn_tern_args *a, int64_t j, int32_t *isum);

typedef struct tm_job {
    const bn_weight *w;
    bn_tensor *y;
    int64_t n_tok, n_seg, seg_blocks;
    const int8_t *q;     /* [n_tok][k_pad], or the mmla pairs */
    const int32_t *qsum; /* [n_tok][n_seg] */
    const float *s;      /* [n_tok] */
    tern_kernel kernel;
    int rows_per_call;   /* 1, or 2 for smmla */
    int32_t *isum;       /* per thread slot: [rows_per_call][NN_MAX_TOK][n_seg] */
    int n_slots;
} tm_job;

void nn_mmla_interleave(const int8_t *q, int64_t nt, int64_t k_pad, int8_t *out) {
    for (int64_t p = 0; p < (nt + 1) / 2; p++)
        for (int64_t m = 0; m < k_pad / 8; m++)
            for (int u = 0; u < 2; u++) {
                int8_t *dst = out + (p * (k_pad / 8) + m) * 16 + 8 * u;
                if (2 * p + u < nt)
                    memcpy(dst, q + (2 * p + u) * k_pad + 8 * m, 8);
                else
                    memset(dst, 0, 8);
            }
}

/* y[t][j] from the segment sums is[0 .. n_seg). */
static void store(const tm_job *jb, int64_t j, int64_t t, const int32_t *is) {
    const bn_weight *w = jb->w;
    char *yrow = pc_row(jb->y, t);
    if (jb->y->type == BN_TYPE_I32) {
        uint32_t tot = 0; /* the total fits int32; partial sums add without overflow in unsigned */
        for (int64_t sg = 0; sg < jb->n_seg; sg++)
            tot += (uint32_t)is[sg];
        ((int32_t *)yrow)[j] = (int32_t)tot;
    } else if (w->block_d) {
        const float *d = w->block_d + j * w->blocks_per_row;
        float acc = 0.0f;
        for (int64_t sg = 0; sg < jb->n_seg; sg++)
            acc += d[sg] * (float)is[sg];
        ((float *)yrow)[j] = acc * w->extra_scale / jb->s[t];
    } else {
        ((float *)yrow)[j] = (float)is[0] * (w->tensor_scale * w->extra_scale) / jb->s[t];
    }
}

static void tern_work(void *arg, int64_t begin, int64_t end, int thread_index) {
    const tm_job *jb = arg;
    const bn_weight *w = jb->w;
    if (thread_index < 0 || thread_index >= jb->n_slots)
        thread_index = 0; /* cannot happen with the core's pool; stay in bounds regardless */
    int32_t *isum = jb->isum + (int64_t)thread_index * jb->rows_per_call * NN_MAX_TOK * jb->n_seg;
    /* mmla reads pairs of tokens: a group's q starts at token t0 either way */
    for (int64_t tile = begin; tile < end; tile++) {
        int64_t j_end = (tile + 1) * ROW_TILE < w->n_rows ? (tile + 1) * ROW_TILE : w->n_rows;
        for (int64_t t0 = 0; t0 < jb->n_tok; t0 += NN_MAX_TOK) {
            int64_t nt = jb->n_tok - t0 < NN_MAX_TOK ? jb->n_tok - t0 : NN_MAX_TOK;
            nn_tern_args a = {.w = w, .n_seg = jb->n_seg, .seg_blocks = jb->seg_blocks,
                              .q = jb->q + t0 * w->k_pad, .qsum = jb->qsum + t0 * jb->n_seg, .nt = nt};
            for (int64_t j = tile * ROW_TILE; j < j_end; j += jb->rows_per_call) {
                jb->kernel(&a, j, isum);
                for (int r = 0; r < jb->rows_per_call && j + r < j_end; r++)
                    for (int64_t t = 0; t < nt; t++)
                        store(jb, j + r, t0 + t, isum + (r * nt + t) * jb->n_seg);
            }
        }
    }
}

static size_t align64(size_t n) { return (n + 63) / 64 * 64; }

static bn_status matmul_ternary(bn_backend_ctx *ctx, const bn_weight *w, const bn_tensor *x,
                                const bn_tensor *x_scale, bn_tensor *y) {
    int64_t n_tok = pc_n_rows(x), kp = w->k_pad;
    tm_job jb = {.w = w, .y = y, .n_tok = n_tok, .kernel = nn_tern_base, .rows_per_call = 1};
    jb.n_seg = w->blocks_per_row ? w->blocks_per_row : 1;
    jb.seg_blocks = kp / PC_MAD_BLOCK / jb.n_seg;
    if (ctx->has_mmla && n_tok >= 2) {
        jb.kernel = nn_tern_mmla;
        jb.rows_per_call = NN_MMLA_ROWS;
    } else if (ctx->has_dot) {
        jb.kernel = nn_tern_dot;
    }
    int mmla = jb.kernel == nn_tern_mmla;
    jb.n_slots = ctx->pc.n_threads;
    size_t q_bytes = align64((size_t)((n_tok + 1) / 2 * 2 * kp)); /* room for a zero last token of a pair */
    size_t qs_off = q_bytes * (mmla ? 2 : 1);
    size_t s_off = qs_off + align64(sizeof(int32_t) * (size_t)(n_tok * jb.n_seg));
    size_t is_off = s_off + align64(sizeof(float) * (size_t)n_tok);
    size_t total = is_off + sizeof(int32_t) * (size_t)(jb.n_slots * jb.rows_per_call * NN_MAX_TOK * jb.n_seg);
    uint8_t *scr = pc_scratch_get(ctx, NN_SCR_ACT, total);
    if (!scr)
        return pc_fail(ctx, BN_ERR_NOMEM, "matmul: out of memory for activation scratch");
    int8_t *q = (int8_t *)scr;
    int32_t *qsum = (int32_t *)(scr + qs_off);
    float *s = (float *)(scr + s_off);
    for (int64_t t = 0; t < n_tok; t++) {
        int8_t *qt = q + t * kp;
        s[t] = pc_mad_token_q(w, x, x_scale, t, qt);
        for (int64_t sg = 0; sg < jb.n_seg; sg++) {
            int64_t sum = 0, len = jb.seg_blocks * PC_MAD_BLOCK;
            for (int64_t c = 0; c < len; c++)
                sum += qt[sg * len + c];
            qsum[t * jb.n_seg + sg] = (int32_t)sum; /* |sum| <= 128 * 2^24 = 2^31: fits */
        }
    }
    if (mmla) {
        /* pairs of each group of NN_MAX_TOK tokens (even-sized) land where the group's q starts */
        nn_mmla_interleave(q, n_tok, kp, (int8_t *)(scr + q_bytes));
        jb.q = (const int8_t *)(scr + q_bytes);
    } else {
        jb.q = q;
    }
    jb.qsum = qsum;
    jb.s = s;
    jb.isum = (int32_t *)(scr + is_off);
    pc_parallel(ctx, (w->n_rows + ROW_TILE - 1) / ROW_TILE, 1, tern_work, &jb);
    pc_scratch_put(ctx, NN_SCR_ACT, scr);
    return BN_OK;
}

bn_status nn_matmul(bn_backend_ctx *ctx, const bn_weight *w, const bn_tensor *x, const bn_tensor *x_scale,
                    bn_tensor *y) {
    bn_status st = pc_mad_matmul_check(ctx, w, x, x_scale, y);
    if (st != BN_OK)
        return st;
    if (w->lut_idx)
        return nn_lut_matmul(ctx, w, x, x_scale, y);
    if (w->codes)
        return matmul_ternary(ctx, w, x, x_scale, y);
    return nn_matmul_float(ctx, w, x, x_scale, y);
}
