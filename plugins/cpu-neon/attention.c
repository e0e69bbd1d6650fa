/*
 * Causal grouped-query attention over a KV cache or a paged pool: for query
 * t (position p_t: pos0 + t in a contiguous cache, rows[t].pos in a pool)
 * of head h, with kv head g = h / (n_head / n_head_kv),
 *   s_j = scale * (q . k_j)         for the sequence's positions j in [0, p_t]
 *   out = sum_j softmax(s)_j * v_j
 * cpu-avx2's algorithm on 4-lane NEON, behind the common driver
 * (plugins/common/attention_run.c: work items of a token and up to four
 * query heads sharing a kv head, so each K and V row is loaded, and
 * converted from F16 or Q8_0, once for all of them). Scores come in tiles
 * of up to sixteen dot products (4 heads x 4 keys, 3 x 4, 2 x 8 or 1 x 8;
 * AArch64 has 32 vector registers): the FMA chains are reduced four at a
 * time by a pairwise-add tree instead of one horizontal sum each. exp is a
 * vector polynomial (nn_exp_softmax_ps); the softmax denominator is summed
 * in double. The weighted sum of V rows runs over head_dim in chunks of up
 * to sixteen accumulators (heads x vectors), keys in blocks that stay in
 * L1 across the chunks. In a pool a score tile never straddles two pages
 * (page_size is a multiple of 16) and a V block ends at its page's end.
 */
#include <arm_neon.h>
#include <math.h>
#include <string.h>

#include "neon_internal.h"
#include "neon_vecmath.h"

#define HEADS_MAX PC_ATTN_HEADS_MAX /* query heads per work item */
#define TILE 16                     /* dot products per score tile, accumulators per V chunk */

/* Scale of the Q8_0 block holding element d of a row. */
NN_INLINE float q8_scale(const char *row, int64_t d) {
    uint16_t h;
    memcpy(&h, row + (d / BN_QK_Q8_0) * 34, 2);
    return vgetq_lane_f32(vcvt_f32_f16(vreinterpret_f16_u16(vdup_n_u16(h))), 0);
}

/* 4 floats of a row from d (a multiple of 4); Q8_0 as d_block * q, the
 * reference's product. */
NN_INLINE float32x4_t kv_load4(const char *row, int64_t d, int kind) {
    if (kind == PC_KV_F16)
        return vcvt_f32_f16(vreinterpret_f16_u8(vld1_u8((const uint8_t *)row + 2 * d)));
    if (kind == PC_KV_Q8) {
        int32_t b4; /* four int8, no read past them */
        memcpy(&b4, row + (d / BN_QK_Q8_0) * 34 + 2 + d % BN_QK_Q8_0, 4);
        const int16x8_t w = vmovl_s8(vreinterpret_s8_s32(vdup_n_s32(b4)));
        return vmulq_n_f32(vcvtq_f32_s32(vmovl_s16(vget_low_s16(w))), q8_scale(row, d));
    }
    return vld1q_f32((const float *)row + d);
}

/* Element i (< n, 1..3) of a row from d. */
NN_INLINE float kv_elem(const char *row, int64_t d, int kind) {
    if (kind == PC_KV_Q8) /* not reached: Q8_0 rows are whole blocks of 32 */
        return q8_scale(row, d) * (float)(int8_t)row[(d / BN_QK_Q8_0) * 34 + 2 + d % BN_QK_Q8_0];
    if (kind == PC_KV_F16) {
        uint16_t h;
        memcpy(&h, row + 2 * d, 2);
        return vgetq_lane_f32(vcvt_f32_f16(vreinterpret_f16_u16(vdup_n_u16(h))), 0);
    }
    float f;
    memcpy(&f, row + 4 * d, 4);
    return f;
}

/* The n (1..3) floats of a row from d, zeros above; reads nothing past them
 * (the next row may hold anything, the last one ends the buffer). Set lane
 * by lane, no library call: the tile's accumulators stay in registers. */
NN_INLINE float32x4_t kv_load_part(const char *row, int64_t d, int n, int kind) {
    float32x4_t v = vsetq_lane_f32(kv_elem(row, d, kind), vdupq_n_f32(0.0f), 0);
    if (n > 1)
        v = vsetq_lane_f32(kv_elem(row, d + 1, kind), v, 1);
    if (n > 2)
        v = vsetq_lane_f32(kv_elem(row, d + 2, kind), v, 2);
    return v;
}

/* Lane i of the result = sum of the lanes of v[i]. */
NN_INLINE float32x4_t hsum4(const float32x4_t *v) {
    return vpaddq_f32(vpaddq_f32(v[0], v[1]), vpaddq_f32(v[2], v[3]));
}

/* scores[r * stride + j] = scale * q_r . k_j for r < R, j < n_keys, in
 * tiles of R heads x K keys (K a multiple of 4 dividing 16, R * K <=
 * TILE). Keys past n_keys repeat the tile's first key and are stored too
 * (up to n_keys rounded up to K, inside the slot); the softmax padding
 * then overwrites them. */
NN_INLINE void score_keys_rk(const pc_attn_job *jb, const float *const *qv, const int32_t *pages, int64_t g,
                             int64_t n_keys, float *scores, int64_t stride, const int R, const int K, const int kind) {
    const int64_t hd = jb->a->head_dim, full = hd & ~(int64_t)3;
    const int rem = (int)(hd - full);
    const float scale = jb->a->scale;
    const int64_t ks = jb->k->nb[1], ps = jb->map->page_size;
    for (int64_t j0 = 0; j0 < n_keys; j0 += K) {
        const char *kr[TILE], *k0 = pc_kv_at(jb->k, pages, ps, j0, g); /* the tile is inside one page */
#pragma GCC unroll 16
        for (int kk = 0; kk < K; kk++)
            kr[kk] = k0 + (j0 + kk < n_keys ? kk : 0) * ks;
        float32x4_t acc[TILE];
#pragma GCC unroll 16
        for (int i = 0; i < R * K; i++)
            acc[i] = vdupq_n_f32(0.0f);
        for (int64_t d = 0; d < full; d += 4) {
            float32x4_t qd[HEADS_MAX];
#pragma GCC unroll 4
            for (int r = 0; r < R; r++)
                qd[r] = vld1q_f32(qv[r] + d);
#pragma GCC unroll 16
            for (int kk = 0; kk < K; kk++) {
                const float32x4_t kv = kv_load4(kr[kk], d, kind);
#pragma GCC unroll 4
                for (int r = 0; r < R; r++)
                    acc[r * K + kk] = vfmaq_f32(acc[r * K + kk], qd[r], kv);
            }
        }
        if (rem) {
            float32x4_t qd[HEADS_MAX];
#pragma GCC unroll 4
            for (int r = 0; r < R; r++)
                qd[r] = kv_load_part((const char *)qv[r], full, rem, PC_KV_F32);
#pragma GCC unroll 16
            for (int kk = 0; kk < K; kk++) {
                const float32x4_t kv = kv_load_part(kr[kk], full, rem, kind);
#pragma GCC unroll 4
                for (int r = 0; r < R; r++)
                    acc[r * K + kk] = vfmaq_f32(acc[r * K + kk], qd[r], kv);
            }
        }
        /* accumulators 4i .. 4i + 3: head 4i / K, keys 4i % K .. + 3 */
#pragma GCC unroll 4
        for (int i = 0; i < R * K / 4; i++)
            vst1q_f32(scores + (4 * i / K) * stride + j0 + 4 * i % K, vmulq_n_f32(hsum4(acc + 4 * i), scale));
    }
}

/* Tiles: 4 heads x 4 keys, 3 x 4, 2 x 8 or 1 x 8. */
static void score_keys(const pc_attn_job *jb, const pc_attn_item *it, float *scores) {
    const float *const *qv = it->q;
    const int32_t *pages = it->pages;
    const int64_t g = it->g, n_keys = it->n_keys, stride = jb->slot_len;
#define SCORE(R, K)                                                                                   \
    do {                                                                                              \
        switch (pc_kv_kind(jb->k)) {                                                                  \
        case PC_KV_F16: score_keys_rk(jb, qv, pages, g, n_keys, scores, stride, R, K, PC_KV_F16); break; \
        case PC_KV_Q8: score_keys_rk(jb, qv, pages, g, n_keys, scores, stride, R, K, PC_KV_Q8); break;   \
        default: score_keys_rk(jb, qv, pages, g, n_keys, scores, stride, R, K, PC_KV_F32); break;        \
        }                                                                                             \
    } while (0)
    switch (it->nh) {
    case 4: SCORE(4, 4); break;
    case 3: SCORE(3, 4); break;
    case 2: SCORE(2, 8); break;
    default: SCORE(1, 8); break;
    }
#undef SCORE
}

/* s[j] <- exp(s[j] - max) for j < n, returns their sum (in double). The
 * scores are padded with -inf to a multiple of 4 (they fit: the slot is
 * a multiple of 16 >= max_keys >= n), which exp turns into 0. */
static double softmax_numerators(float *s, int64_t n) {
    const int64_t n4 = (n + 3) & ~(int64_t)3;
    for (int64_t j = n; j < n4; j++)
        s[j] = -INFINITY;
    float32x4_t mx = vdupq_n_f32(-INFINITY);
    for (int64_t j = 0; j < n4; j += 4)
        mx = vmaxq_f32(mx, vld1q_f32(s + j));
    const float32x4_t m = vdupq_n_f32(vmaxvq_f32(mx));
    float64x2_t acc0 = vdupq_n_f64(0.0), acc1 = acc0;
    for (int64_t j = 0; j < n4; j += 4) {
        const float32x4_t p = nn_exp_softmax_ps(vsubq_f32(vld1q_f32(s + j), m));
        vst1q_f32(s + j, p);
        acc0 = vaddq_f64(acc0, vcvt_f64_f32(vget_low_f32(p)));
        acc1 = vaddq_f64(acc1, vcvt_high_f64_f32(p));
    }
    return vaddvq_f64(vaddq_f64(acc0, acc1));
}

/* Keys [j0, j1) of out_r[d0 + 4i ..] = inv_r * sum_j p_r[j] v_j[d0 + 4i ..]
 * for R heads and i < DV full vectors (R * DV <= TILE accumulators).
 * out_r holds the partial sums between key blocks; the last block scales
 * them by inv_r. */
NN_INLINE void weigh_chunk(const pc_attn_job *jb, float *const *out, const float *const *p, const float *inv,
                           const char *vr, int64_t j0, int64_t j1, int last, int64_t d0, const int R, const int DV,
                           const int kind) {
    float32x4_t acc[TILE];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 16
        for (int i = 0; i < DV; i++)
            acc[r * DV + i] = j0 ? vld1q_f32(out[r] + d0 + 4 * i) : vdupq_n_f32(0.0f);
    const int64_t vs = jb->v->nb[1];
    for (int64_t j = j0; j < j1; j++, vr += vs) {
        float pj[HEADS_MAX];
#pragma GCC unroll 4
        for (int r = 0; r < R; r++)
            pj[r] = p[r][j];
#pragma GCC unroll 16
        for (int i = 0; i < DV; i++) {
            const float32x4_t vv = kv_load4(vr, d0 + 4 * i, kind);
#pragma GCC unroll 4
            for (int r = 0; r < R; r++)
                acc[r * DV + i] = vfmaq_n_f32(acc[r * DV + i], vv, pj[r]);
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
        const float s = last ? inv[r] : 1.0f;
#pragma GCC unroll 16
        for (int i = 0; i < DV; i++)
            vst1q_f32(out[r] + d0 + 4 * i, vmulq_n_f32(acc[r * DV + i], s));
    }
}

/* The last head_dim % 4 dimensions (not seen in practice: kept simple). */
static void weigh_part(const pc_attn_job *jb, float *const *out, const float *const *p, const float *inv, int nh,
                       const int32_t *pages, int64_t g, int64_t n_keys, int64_t d0, int n, int kind) {
    float32x4_t acc[HEADS_MAX];
    for (int r = 0; r < nh; r++)
        acc[r] = vdupq_n_f32(0.0f);
    for (int64_t j = 0; j < n_keys; j++) {
        const float32x4_t vv = kv_load_part(pc_kv_at(jb->v, pages, jb->map->page_size, j, g), d0, n, kind);
        for (int r = 0; r < nh; r++)
            acc[r] = vfmaq_n_f32(acc[r], vv, p[r][j]);
    }
    for (int r = 0; r < nh; r++) {
        float f[4];
        vst1q_f32(f, vmulq_n_f32(acc[r], inv[r]));
        memcpy(out[r] + d0, f, sizeof(float) * (size_t)n);
    }
}

/* Keys in blocks of about 16 KiB of V rows, so that the head_dim chunks
 * after the first find the block in L1 instead of streaming the whole V
 * cache once per chunk (it outgrows L2 at long contexts). */
NN_INLINE void weigh_values_r(const pc_attn_job *jb, float *const *out, const float *const *p, const float *inv,
                              const int32_t *pages, int64_t g, int64_t n_keys, const int R, const int kind) {
    /* a Q8_0 vector takes five registers to decode: half the accumulators */
    const int DV = (kind == PC_KV_Q8 ? TILE / 2 : TILE) / R;
    const int64_t hd = jb->a->head_dim, full = hd & ~(int64_t)3;
    int64_t kb = 16384 / (hd * (kind == PC_KV_F16 ? 2 : kind == PC_KV_Q8 ? 1 : 4));
    kb = kb < 16 ? 16 : kb;
    for (int64_t j0 = 0, j1; j0 < n_keys; j0 = j1) {
        const int64_t span = pc_kv_span_end(pages, jb->map->page_size, j0, n_keys);
        j1 = span - j0 < kb ? span : j0 + kb;
        const int last = j1 == n_keys;
        const char *vr = pc_kv_at(jb->v, pages, jb->map->page_size, j0, g);
        int64_t d0 = 0;
        for (; d0 + 4 * DV <= full; d0 += 4 * DV)
            weigh_chunk(jb, out, p, inv, vr, j0, j1, last, d0, R, DV, kind);
        for (; d0 + 16 <= full; d0 += 16) /* what is short of a whole chunk */
            weigh_chunk(jb, out, p, inv, vr, j0, j1, last, d0, R, 4, kind);
        for (; d0 < full; d0 += 4)
            weigh_chunk(jb, out, p, inv, vr, j0, j1, last, d0, R, 1, kind);
    }
    if (full < hd)
        weigh_part(jb, out, p, inv, R, pages, g, n_keys, full, (int)(hd - full), kind);
}

/* Chunks of 4 heads x 4 vectors, 3 x 5, 2 x 8 or 1 x 16 (Q8_0: half as
 * many vectors). */
static void weigh_values(const pc_attn_job *jb, const pc_attn_item *it, const float *inv) {
    float *const *out = it->out;
    const float *const *p = it->p;
    const int32_t *pages = it->pages;
    const int64_t g = it->g, n_keys = it->n_keys;
#define WEIGH(R)                                                                               \
    do {                                                                                       \
        switch (pc_kv_kind(jb->v)) {                                                           \
        case PC_KV_F16: weigh_values_r(jb, out, p, inv, pages, g, n_keys, R, PC_KV_F16); break; \
        case PC_KV_Q8: weigh_values_r(jb, out, p, inv, pages, g, n_keys, R, PC_KV_Q8); break;   \
        default: weigh_values_r(jb, out, p, inv, pages, g, n_keys, R, PC_KV_F32); break;        \
        }                                                                                      \
    } while (0)
    switch (it->nh) {
    case 4: WEIGH(4); break;
    case 3: WEIGH(3); break;
    case 2: WEIGH(2); break;
    default: WEIGH(1); break;
    }
#undef WEIGH
}

static const pc_attn_kernels nn_attn_kernels = {
    .score = score_keys, .softmax = softmax_numerators, .weigh = weigh_values};

bn_status nn_attention_run(bn_backend_ctx *ctx, const bn_tensor *q, const bn_tensor *k, const bn_tensor *v,
                           const bn_attn_args *a, const pc_attn_map *map, bn_tensor *out) {
    return pc_attn_drive(ctx, NN_SCR_ATTN, &nn_attn_kernels, q, k, v, a, map, out);
}
