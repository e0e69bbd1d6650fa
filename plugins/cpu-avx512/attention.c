/*
 * Causal grouped-query attention over a KV cache or a paged pool: for query
 * t (position p_t: pos0 + t in a contiguous cache, rows[t].pos in a pool)
 * of head h, with kv head g = h / (n_head / n_head_kv),
 *   s_j = scale * (q . k_j)         for the sequence's positions j in [0, p_t]
 *   out = sum_j softmax(s)_j * v_j
 * The work items (a token and up to four query heads sharing a kv head, so
 * each K and V row is loaded, and converted from F16 or Q8_0, once for all
 * of them) come from the common driver (plugins/common/attention_run.c).
 * Scores come four keys x four heads at a time: sixteen FMA chains reduced
 * together by one transposing add tree instead of sixteen horizontal sums. exp is a vector polynomial (a5_exp). The weighted sum
 * of V rows runs over head_dim in chunks of four vectors per head. In a
 * pool a score tile never straddles two pages (page_size is a multiple of
 * 16).
 */
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "a5_internal.h"
#include "a5_vecmath.h"

#define KEYS 4 /* keys per score tile */
#define DV 4   /* head_dim vectors per output chunk */

A5_INLINE __mmask16 tail_mask(int64_t left) {
    return left >= 16 ? (__mmask16)0xffff : left <= 0 ? 0 : (__mmask16)((1u << left) - 1u);
}

/* 16 floats of a K or V row from d (a multiple of 16), lanes outside m
 * zero and not read. Q8_0: d_block * q, the reference's product; its rows
 * are whole blocks of 32, so the 16 values share one block. */
A5_INLINE __m512 load_kv(const bn_tensor *t, const char *row, int64_t d, __mmask16 m) {
    if (t->type == BN_TYPE_F16)
        return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, row + 2 * d));
    if (t->type == BN_TYPE_Q8_0) {
        if (!m)
            return _mm512_setzero_ps();
        const char *blk = row + (d / BN_QK_Q8_0) * 34;
        uint16_t h;
        memcpy(&h, blk, 2);
        __m512 q = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, blk + 2 + d % BN_QK_Q8_0)));
        return _mm512_mul_ps(_mm512_set1_ps(_cvtsh_ss(h)), q);
    }
    return _mm512_maskz_loadu_ps(m, row + 4 * d);
}


/* Lane i of the result = sum of the lanes of v[i]. */
A5_INLINE __m512 hsum16(const __m512 v[16]) {
    __m512 a[8], b[4], c[2];
    for (int i = 0; i < 8; i++)
        a[i] = _mm512_add_ps(_mm512_unpacklo_ps(v[2 * i], v[2 * i + 1]), _mm512_unpackhi_ps(v[2 * i], v[2 * i + 1]));
    for (int i = 0; i < 4; i++) {
        __m512d x = _mm512_castps_pd(a[2 * i]), y = _mm512_castps_pd(a[2 * i + 1]);
        b[i] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(x, y)), _mm512_castpd_ps(_mm512_unpackhi_pd(x, y)));
    }
    for (int i = 0; i < 2; i++)
        c[i] = _mm512_add_ps(_mm512_shuffle_f32x4(b[2 * i], b[2 * i + 1], _MM_SHUFFLE(2, 0, 2, 0)),
                             _mm512_shuffle_f32x4(b[2 * i], b[2 * i + 1], _MM_SHUFFLE(3, 1, 3, 1)));
    return _mm512_add_ps(_mm512_shuffle_f32x4(c[0], c[1], _MM_SHUFFLE(2, 0, 2, 0)),
                         _mm512_shuffle_f32x4(c[0], c[1], _MM_SHUFFLE(3, 1, 3, 1)));
}

/* scores[r * slot_len + j] = scale * q_r . k_j for j in [0, n_keys). */
static void score_keys(const pc_attn_job *jb, const pc_attn_item *it, float *scores) {
    const bn_attn_args *a = jb->a;
    const float *const *qv = it->q;
    const int32_t *pages = it->pages;
    const int nh = it->nh;
    const int64_t g = it->g, n_keys = it->n_keys, stride = jb->slot_len;
    const int64_t hd = a->head_dim;
    for (int64_t j0 = 0; j0 < n_keys; j0 += KEYS) {
        int nk = n_keys - j0 < KEYS ? (int)(n_keys - j0) : KEYS;
        const char *kr[KEYS], *k0 = pc_kv_at(jb->k, pages, jb->map->page_size, j0, g);
        for (int kk = 0; kk < KEYS; kk++)
            kr[kk] = k0 + (kk < nk ? kk : 0) * jb->k->nb[1];
        __m512 acc[16];
        for (int i = 0; i < 16; i++)
            acc[i] = _mm512_setzero_ps();
        for (int64_t d = 0; d < hd; d += 16) {
            __mmask16 m = tail_mask(hd - d);
            __m512 kv[KEYS];
            for (int kk = 0; kk < KEYS; kk++)
                kv[kk] = load_kv(jb->k, kr[kk], d, m);
            for (int r = 0; r < nh; r++) {
                __m512 q = _mm512_maskz_loadu_ps(m, qv[r] + d);
                for (int kk = 0; kk < KEYS; kk++)
                    acc[r * KEYS + kk] = _mm512_fmadd_ps(q, kv[kk], acc[r * KEYS + kk]);
            }
        }
        float sums[16];
        _mm512_storeu_ps(sums, _mm512_mul_ps(hsum16(acc), _mm512_set1_ps(a->scale)));
        for (int r = 0; r < nh; r++)
            for (int kk = 0; kk < nk; kk++)
                scores[r * stride + j0 + kk] = sums[r * KEYS + kk];
    }
}

/* scores <- exp(scores - max), returns their sum. */
static double softmax_numerators(float *scores, int64_t n) {
    __m512 mx = _mm512_set1_ps(-INFINITY);
    for (int64_t j = 0; j < n; j += 16)
        mx = _mm512_max_ps(mx, _mm512_mask_loadu_ps(mx, tail_mask(n - j), scores + j));
    __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(mx)), sum = _mm512_setzero_ps();
    for (int64_t j = 0; j < n; j += 16) {
        __mmask16 k = tail_mask(n - j);
        __m512 e = a5_exp(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, scores + j), m));
        _mm512_mask_storeu_ps(scores + j, k, e);
        sum = _mm512_add_ps(sum, _mm512_maskz_mov_ps(k, e));
    }
    return _mm512_reduce_add_ps(sum);
}

/* out_r = (sum_j p_r[j] v_j) * inv_r over head_dim chunks of DV vectors. */
static void weigh_values(const pc_attn_job *jb, const pc_attn_item *it, const float *inv_r) {
    float *const *out = it->out;
    const float *p = it->p[0];
    const int32_t *pages = it->pages;
    const int nh = it->nh;
    const int64_t hd = jb->a->head_dim, g = it->g, n_keys = it->n_keys, stride = jb->slot_len;
    for (int64_t d0 = 0; d0 < hd; d0 += 16 * DV) {
        __mmask16 m[DV];
        for (int i = 0; i < DV; i++)
            m[i] = tail_mask(hd - d0 - 16 * i);
        __m512 acc[PC_ATTN_HEADS_MAX][DV];
        for (int r = 0; r < PC_ATTN_HEADS_MAX; r++)
            for (int i = 0; i < DV; i++)
                acc[r][i] = _mm512_setzero_ps();
        const char *vr = NULL;
        for (int64_t j = 0, span = 0; j < n_keys; j++, vr += jb->v->nb[1]) {
            if (j == span) { /* the next page */
                span = pc_kv_span_end(pages, jb->map->page_size, j, n_keys);
                vr = pc_kv_at(jb->v, pages, jb->map->page_size, j, g);
            }
            __m512 vv[DV];
            for (int i = 0; i < DV; i++)
                vv[i] = load_kv(jb->v, vr, d0 + 16 * i, m[i]);
            for (int r = 0; r < nh; r++) {
                __m512 pj = _mm512_set1_ps(p[r * stride + j]);
                for (int i = 0; i < DV; i++)
                    acc[r][i] = _mm512_fmadd_ps(pj, vv[i], acc[r][i]);
            }
        }
        for (int r = 0; r < nh; r++) {
            __m512 inv = _mm512_set1_ps(inv_r[r]);
            for (int i = 0; i < DV; i++)
                if (m[i])
                    _mm512_mask_storeu_ps(out[r] + d0 + 16 * i, m[i], _mm512_mul_ps(acc[r][i], inv));
        }
    }
}

static const pc_attn_kernels a5_attn_kernels = {
    .score = score_keys, .softmax = softmax_numerators, .weigh = weigh_values};

bn_status a5_attention_run(bn_backend_ctx *ctx, const bn_tensor *q, const bn_tensor *k, const bn_tensor *v,
                          const bn_attn_args *a, const pc_attn_map *map, bn_tensor *out) {
    return pc_attn_drive(ctx, A5_SCR_ATTN, &a5_attn_kernels, q, k, v, a, map, out);
}
