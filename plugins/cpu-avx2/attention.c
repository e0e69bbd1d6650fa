/*
 * Causal grouped-query attention over a KV cache or a paged pool: for query
 * t (position p_t: pos0 + t in a contiguous cache, rows[t].pos in a pool)
 * of head h, with kv head g = h / (n_head / n_head_kv),
 *   s_j = scale * (q . k_j)         for the sequence's positions j in [0, p_t]
 *   out = sum_j softmax(s)_j * v_j
 * One work item is a token and up to four query heads sharing a kv head,
 * so each K and V row is loaded (and converted from F16 or Q8_0) once for
 * all of them. Scores come in tiles of up to eight dot products (4 heads x 2
 * keys, 3 x 2, 2 x 4 or 1 x 8, after the item's heads): the FMA chains
 * are reduced together by one transposing add tree instead of one
 * horizontal sum each. exp is a vector polynomial (ax_exp_softmax_ps);
 * the softmax denominator is summed in double. The weighted sum of V rows
 * runs over head_dim in chunks of up to eight accumulators (heads x
 * vectors), keys in blocks that stay in L1 across the chunks. In a pool a
 * score tile never straddles two pages (page_size is a multiple of 16) and
 * a V block ends at its page's end. The items, their threads and the
 * softmax denominator's reciprocal are the common driver's
 * (plugins/common/attention_run.c, shared with cpu-neon).
 */
#include <math.h>
#include <string.h>

#include "avx2_internal.h"
#include "simd_util.h"

#define HEADS_MAX PC_ATTN_HEADS_MAX /* query heads per work item */
#define TILE 8                      /* dot products per score tile, accumulators per V chunk */

/* cache element kinds (pc_kv_kind) */
#define KV_F32 PC_KV_F32
#define KV_F16 PC_KV_F16
#define KV_Q8 PC_KV_Q8

/* Scale of the Q8_0 block holding element d of a row. */
AX_INLINE float q8_scale(const char *row, int64_t d) {
    uint16_t h;
    memcpy(&h, row + (d / BN_QK_Q8_0) * 34, 2);
    return _cvtsh_ss(h);
}

/* 8 floats of a row from d (a multiple of 8); Q8_0 as d_block * q, the
 * reference's product. */
AX_INLINE __m256 kv_load8(const char *row, int64_t d, int kind) {
    if (kind == KV_F16)
        return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(row + 2 * d)));
    if (kind == KV_Q8) {
        const char *q = row + (d / BN_QK_Q8_0) * 34 + 2 + d % BN_QK_Q8_0;
        __m256 v = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)q)));
        return _mm256_mul_ps(_mm256_set1_ps(q8_scale(row, d)), v);
    }
    return _mm256_loadu_ps((const float *)row + d);
}

/* Lanes below n (1..7) set. */
AX_INLINE __m256i part_mask(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* The n (1..7) floats of a row from d, zeros above; reads nothing past them
 * (the next row may hold anything, the last one ends the buffer). */
static __m256 kv_load_part(const char *row, int64_t d, int n, int kind) {
    if (kind == KV_Q8) { /* not reached: Q8_0 rows are whole blocks of 32 */
        float f[8] = {0};
        for (int i = 0; i < n; i++)
            f[i] = q8_scale(row, d + i) * (float)(int8_t)row[((d + i) / BN_QK_Q8_0) * 34 + 2 + (d + i) % BN_QK_Q8_0];
        return _mm256_loadu_ps(f);
    }
    if (kind == KV_F16) {
        uint16_t h[8] = {0};
        memcpy(h, row + 2 * d, 2 * (size_t)n);
        return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)h));
    }
    return _mm256_maskload_ps((const float *)row + d, part_mask(n));
}

/* Lane i of the result = sum of the lanes of v[i]. */
AX_INLINE __m256 hsum8(const __m256 v[8]) {
    __m256 a[4], b[2];
    for (int i = 0; i < 4; i++)
        a[i] = _mm256_add_ps(_mm256_unpacklo_ps(v[2 * i], v[2 * i + 1]), _mm256_unpackhi_ps(v[2 * i], v[2 * i + 1]));
    for (int i = 0; i < 2; i++) {
        __m256d x = _mm256_castps_pd(a[2 * i]), y = _mm256_castps_pd(a[2 * i + 1]);
        b[i] = _mm256_add_ps(_mm256_castpd_ps(_mm256_unpacklo_pd(x, y)), _mm256_castpd_ps(_mm256_unpackhi_pd(x, y)));
    }
    return _mm256_add_ps(_mm256_permute2f128_ps(b[0], b[1], 0x20), _mm256_permute2f128_ps(b[0], b[1], 0x31));
}

/* scores[r * stride + j] = scale * q_r . k_j for r < R, j < n_keys, in
 * tiles of R heads x K keys (R * K <= TILE; unused lanes stay 0). Keys
 * past n_keys repeat the tile's first key and are stored too (up to
 * n_keys rounded up to K, inside the slot); the softmax padding then
 * overwrites them. */
AX_INLINE void score_keys_rk(const pc_attn_job *jb, const float *const *qv, const int32_t *pages, int64_t g,
                             int64_t n_keys, float *scores, int64_t stride, const int R, const int K, const int kind) {
    const int64_t hd = jb->a->head_dim, full = hd & ~(int64_t)7;
    const int rem = (int)(hd - full);
    const __m256 scale = _mm256_set1_ps(jb->a->scale);
    const int64_t ks = jb->k->nb[1], ps = jb->map->page_size;
    for (int64_t j0 = 0; j0 < n_keys; j0 += K) {
        const char *kr[TILE], *k0 = pc_kv_at(jb->k, pages, ps, j0, g); /* the tile is inside one page */
#pragma GCC unroll 8
        for (int kk = 0; kk < K; kk++)
            kr[kk] = k0 + (j0 + kk < n_keys ? kk : 0) * ks;
        __m256 acc[TILE];
#pragma GCC unroll 8
        for (int i = 0; i < TILE; i++)
            acc[i] = _mm256_setzero_ps();
        for (int64_t d = 0; d < full; d += 8) {
            /* q in registers: GCC would fold its load into every FMA (once
             * per key), and loads, not FMAs, would set the pace. */
            __m256 qd[HEADS_MAX];
#pragma GCC unroll 4
            for (int r = 0; r < R; r++) {
                qd[r] = _mm256_loadu_ps(qv[r] + d);
                if (K > 1)
                    __asm__("" : "+x"(qd[r]));
            }
#pragma GCC unroll 8
            for (int kk = 0; kk < K; kk++) {
                __m256 kv = kv_load8(kr[kk], d, kind);
#pragma GCC unroll 4
                for (int r = 0; r < R; r++)
                    acc[r * K + kk] = _mm256_fmadd_ps(qd[r], kv, acc[r * K + kk]);
            }
        }
        if (rem) {
            const __m256i m = part_mask(rem);
#pragma GCC unroll 8
            for (int kk = 0; kk < K; kk++) {
                __m256 kv = kv_load_part(kr[kk], full, rem, kind);
#pragma GCC unroll 4
                for (int r = 0; r < R; r++)
                    acc[r * K + kk] = _mm256_fmadd_ps(_mm256_maskload_ps(qv[r] + full, m), kv, acc[r * K + kk]);
            }
        }
        /* lane r * K + kk = head r, key kk */
        const __m256 s = _mm256_mul_ps(hsum8(acc), scale);
        float *dst = scores + j0;
        if (K == 8) {
            _mm256_storeu_ps(dst, s);
        } else if (K == 4) {
            _mm_storeu_ps(dst, _mm256_castps256_ps128(s));
            _mm_storeu_ps(dst + stride, _mm256_extractf128_ps(s, 1));
        } else { /* K == 2, R = 3 or 4 */
            const __m128 lo = _mm256_castps256_ps128(s), hi = _mm256_extractf128_ps(s, 1);
            _mm_storel_pi((__m64 *)dst, lo);
            _mm_storeh_pi((__m64 *)(dst + stride), lo);
            _mm_storel_pi((__m64 *)(dst + 2 * stride), hi);
            if (R == 4)
                _mm_storeh_pi((__m64 *)(dst + 3 * stride), hi);
        }
    }
}

/* Tiles: 4 heads x 2 keys, 3 x 2, 2 x 4 or 1 x 8 (at most 8 FMA chains
 * plus the q and k vectors in 16 ymm registers). */
static void score_keys(const pc_attn_job *jb, const pc_attn_item *it, float *scores) {
    const float *const *qv = it->q;
    const int32_t *pages = it->pages;
    const int64_t g = it->g, n_keys = it->n_keys, stride = jb->slot_len;
#define SCORE(R, K)                                                                  \
    do {                                                                             \
        switch (pc_kv_kind(jb->k)) {                                                 \
        case KV_F16: score_keys_rk(jb, qv, pages, g, n_keys, scores, stride, R, K, KV_F16); break; \
        case KV_Q8: score_keys_rk(jb, qv, pages, g, n_keys, scores, stride, R, K, KV_Q8); break;   \
        default: score_keys_rk(jb, qv, pages, g, n_keys, scores, stride, R, K, KV_F32); break;     \
        }                                                                            \
    } while (0)
    switch (it->nh) {
    case 4: SCORE(4, 2); break;
    case 3: SCORE(3, 2); break;
    case 2: SCORE(2, 4); break;
    default: SCORE(1, 8); break;
    }
#undef SCORE
}

/* s[j] <- exp(s[j] - max) for j < n, returns their sum (in double). The
 * scores are padded with -inf to a multiple of 8 (they fit: the slot is
 * a multiple of 16 >= max_keys >= n), which exp turns into 0. */
static double softmax_numerators(float *s, int64_t n) {
    const int64_t n8 = (n + 7) & ~(int64_t)7;
    for (int64_t j = n; j < n8; j++)
        s[j] = -INFINITY;
    __m256 mx = _mm256_set1_ps(-INFINITY);
    for (int64_t j = 0; j < n8; j += 8)
        mx = _mm256_max_ps(mx, _mm256_loadu_ps(s + j));
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    h = _mm_max_ss(h, _mm_movehdup_ps(h));
    const __m256 m = _mm256_set1_ps(_mm_cvtss_f32(h));
    __m256d acc0 = _mm256_setzero_pd(), acc1 = acc0;
    for (int64_t j = 0; j < n8; j += 8) {
        __m256 p = ax_exp_softmax_ps(_mm256_sub_ps(_mm256_loadu_ps(s + j), m));
        _mm256_storeu_ps(s + j, p);
        acc0 = _mm256_add_pd(acc0, _mm256_cvtps_pd(_mm256_castps256_ps128(p)));
        acc1 = _mm256_add_pd(acc1, _mm256_cvtps_pd(_mm256_extractf128_ps(p, 1)));
    }
    const __m256d acc = _mm256_add_pd(acc0, acc1);
    __m128d hd = _mm_add_pd(_mm256_castpd256_pd128(acc), _mm256_extractf128_pd(acc, 1));
    return _mm_cvtsd_f64(_mm_add_sd(hd, _mm_unpackhi_pd(hd, hd)));
}

/* Keys [j0, j1) of out_r[d0 + 8i ..] = inv_r * sum_j p_r[j] v_j[d0 + 8i ..]
 * for R heads and i < DV full vectors (R * DV <= TILE accumulators).
 * out_r holds the partial sums between key blocks; the last block scales
 * them by inv_r. */
AX_INLINE void weigh_chunk(const pc_attn_job *jb, float *const *out, const float *const *p, const float *inv,
                           const char *vr, int64_t j0, int64_t j1, int last, int64_t d0, const int R, const int DV,
                           const int kind) {
    __m256 acc[TILE];
#pragma GCC unroll 4
    for (int r = 0; r < R; r++)
#pragma GCC unroll 8
        for (int i = 0; i < DV; i++)
            acc[r * DV + i] = j0 ? _mm256_loadu_ps(out[r] + d0 + 8 * i) : _mm256_setzero_ps();
    const int64_t vs = jb->v->nb[1];
    for (int64_t j = j0; j < j1; j++, vr += vs) {
        __m256 pj[HEADS_MAX];
#pragma GCC unroll 4
        for (int r = 0; r < R; r++)
            pj[r] = _mm256_broadcast_ss(p[r] + j);
#pragma GCC unroll 8
        for (int i = 0; i < DV; i++) {
            __m256 vv = kv_load8(vr, d0 + 8 * i, kind);
#pragma GCC unroll 4
            for (int r = 0; r < R; r++)
                acc[r * DV + i] = _mm256_fmadd_ps(pj[r], vv, acc[r * DV + i]);
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
        const __m256 s = _mm256_set1_ps(last ? inv[r] : 1.0f);
#pragma GCC unroll 8
        for (int i = 0; i < DV; i++)
            _mm256_storeu_ps(out[r] + d0 + 8 * i, _mm256_mul_ps(acc[r * DV + i], s));
    }
}

/* The last head_dim % 8 dimensions (not seen in practice: kept simple). */
static void weigh_part(const pc_attn_job *jb, float *const *out, const float *const *p, const float *inv, int nh,
                       const int32_t *pages, int64_t g, int64_t n_keys, int64_t d0, int n, int kind) {
    __m256 acc[HEADS_MAX];
    for (int r = 0; r < nh; r++)
        acc[r] = _mm256_setzero_ps();
    for (int64_t j = 0; j < n_keys; j++) {
        __m256 vv = kv_load_part(pc_kv_at(jb->v, pages, jb->map->page_size, j, g), d0, n, kind);
        for (int r = 0; r < nh; r++)
            acc[r] = _mm256_fmadd_ps(_mm256_broadcast_ss(p[r] + j), vv, acc[r]);
    }
    for (int r = 0; r < nh; r++)
        _mm256_maskstore_ps(out[r] + d0, part_mask(n), _mm256_mul_ps(acc[r], _mm256_set1_ps(inv[r])));
}

/* Keys in blocks of about 16 KiB of V rows, so that the head_dim chunks
 * after the first find the block in L1 instead of streaming the whole V
 * cache once per chunk (it outgrows L2 at long contexts). */
AX_INLINE void weigh_values_r(const pc_attn_job *jb, float *const *out, const float *const *p, const float *inv,
                              const int32_t *pages, int64_t g, int64_t n_keys, const int R, const int kind) {
    const int DV = TILE / R;
    const int64_t hd = jb->a->head_dim, full = hd & ~(int64_t)7;
    int64_t kb = 16384 / (hd * (kind == KV_F16 ? 2 : kind == KV_Q8 ? 1 : 4));
    kb = kb < 16 ? 16 : kb;
    for (int64_t j0 = 0, j1; j0 < n_keys; j0 = j1) {
        const int64_t span = pc_kv_span_end(pages, jb->map->page_size, j0, n_keys);
        j1 = span - j0 < kb ? span : j0 + kb;
        const int last = j1 == n_keys;
        const char *vr = pc_kv_at(jb->v, pages, jb->map->page_size, j0, g);
        int64_t d0 = 0;
        for (; d0 + 8 * DV <= full; d0 += 8 * DV)
            weigh_chunk(jb, out, p, inv, vr, j0, j1, last, d0, R, DV, kind);
        for (; d0 < full; d0 += 8) /* vectors short of a whole chunk */
            weigh_chunk(jb, out, p, inv, vr, j0, j1, last, d0, R, 1, kind);
    }
    if (full < hd)
        weigh_part(jb, out, p, inv, R, pages, g, n_keys, full, (int)(hd - full), kind);
}

/* Chunks of 4 heads x 2 vectors, 3 x 2, 2 x 4 or 1 x 8. */
static void weigh_values(const pc_attn_job *jb, const pc_attn_item *it, const float *inv) {
    float *const *out = it->out;
    const float *const *p = it->p;
    const int32_t *pages = it->pages;
    const int64_t g = it->g, n_keys = it->n_keys;
#define WEIGH(R)                                                                     \
    do {                                                                             \
        switch (pc_kv_kind(jb->v)) {                                                 \
        case KV_F16: weigh_values_r(jb, out, p, inv, pages, g, n_keys, R, KV_F16); break; \
        case KV_Q8: weigh_values_r(jb, out, p, inv, pages, g, n_keys, R, KV_Q8); break;   \
        default: weigh_values_r(jb, out, p, inv, pages, g, n_keys, R, KV_F32); break;     \
        }                                                                            \
    } while (0)
    switch (it->nh) {
    case 4: WEIGH(4); break;
    case 3: WEIGH(3); break;
    case 2: WEIGH(2); break;
    default: WEIGH(1); break;
    }
#undef WEIGH
}

static const pc_attn_kernels ax_attn_kernels = {
    .score = score_keys, .softmax = softmax_numerators, .weigh = weigh_values};

bn_status ax_attention_run(bn_backend_ctx *ctx, const bn_tensor *q, const bn_tensor *k, const bn_tensor *v,
                           const bn_attn_args *a, const pc_attn_map *map, bn_tensor *out) {
    return pc_attn_drive(ctx, AX_SCR_ATTN, &ax_attn_kernels, q, k, v, a, map, out);
}
