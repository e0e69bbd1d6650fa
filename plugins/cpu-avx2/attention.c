/*
 * Causal grouped-query attention over a KV cache: for query t (absolute
 * position pos0 + t) of head h, with kv head g = h / (n_head / n_head_kv),
 *   s_j = scale * (q . k_j)         for cache positions j in [0, pos0 + t]
 *   out = sum_j softmax(s)_j * v_j
 * Dots and the weighted sum of v run in f32 with FMA (F16 caches through
 * F16C), the exponentials with the vector exp, the softmax denominator in
 * double. Work is split over (token, head) pairs; each pool thread uses
 * its own slot of the context's scratch for the scores.
 */
#include <math.h>
#include <stdatomic.h>

#include "avx2_internal.h"
#include "simd_util.h"

typedef struct attn_job {
    const bn_backend_ctx *ctx;
    const bn_tensor *q, *k, *v;
    bn_tensor *out;
    const bn_attn_args *a;
    float *scratch; /* n_slots * slot_len scores */
    int64_t slot_len;
    int n_slots;
    atomic_int bad_thread;
} attn_job;

static const char *kv_row(const bn_tensor *t, int64_t pos, int64_t head) {
    return (const char *)t->data + pos * t->nb[1] + head * t->nb[2];
}

AX_INLINE __m256 kv_load8(const char *row, int64_t d, int f16) {
    if (f16)
        return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(row + 2 * d)));
    return _mm256_loadu_ps((const float *)row + d);
}

static float kv_one(const bn_backend_ctx *ctx, const char *row, int64_t d, int f16) {
    if (f16)
        return ctx->f16_table[*(const uint16_t *)(row + 2 * d)];
    return ((const float *)row)[d];
}

static float dot_qk(const bn_backend_ctx *ctx, const float *q, const char *kr, int64_t hd, int f16) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0;
    int64_t d = 0;
    for (; d + 16 <= hd; d += 16) {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + d), kv_load8(kr, d, f16), a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + d + 8), kv_load8(kr, d + 8, f16), a1);
    }
    for (; d + 8 <= hd; d += 8)
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + d), kv_load8(kr, d, f16), a0);
    float s = ax_hsum_ps(_mm256_add_ps(a0, a1));
    for (; d < hd; d++)
        s += q[d] * kv_one(ctx, kr, d, f16);
    return s;
}

/* p[j] = exp(s[j] - m) in place; returns sum_j p[j] (in double). */
static double exp_scores(float *s, int64_t n, float m) {
    __m256 vm = _mm256_set1_ps(m);
    __m256d acc = _mm256_setzero_pd();
    int64_t j = 0;
    for (; j + 8 <= n; j += 8) {
        __m256 p = ax_exp_ps(_mm256_sub_ps(_mm256_loadu_ps(s + j), vm));
        _mm256_storeu_ps(s + j, p);
        acc = _mm256_add_pd(acc, _mm256_add_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(p)),
                                               _mm256_cvtps_pd(_mm256_extractf128_ps(p, 1))));
    }
    __m128d h = _mm_add_pd(_mm256_castpd256_pd128(acc), _mm256_extractf128_pd(acc, 1));
    double sum = _mm_cvtsd_f64(_mm_add_sd(h, _mm_unpackhi_pd(h, h)));
    for (; j < n; j++) {
        s[j] = expf(s[j] - m);
        sum += s[j];
    }
    return sum;
}

/* out[d] = inv * sum_j p[j] v_j[d], dims in chunks of 32 kept in registers. */
static void weighted_v(const attn_job *jb, int64_t g, const float *p, int64_t n_keys, float inv, float *o) {
    int64_t hd = jb->a->head_dim;
    int f16 = jb->v->type == BN_TYPE_F16;
    const __m256 vi = _mm256_set1_ps(inv);
    int64_t d = 0;
    for (; d + 32 <= hd; d += 32) {
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (int64_t j = 0; j < n_keys; j++) {
            const char *vr = kv_row(jb->v, j, g);
            __m256 pj = _mm256_set1_ps(p[j]);
            a0 = _mm256_fmadd_ps(pj, kv_load8(vr, d, f16), a0);
            a1 = _mm256_fmadd_ps(pj, kv_load8(vr, d + 8, f16), a1);
            a2 = _mm256_fmadd_ps(pj, kv_load8(vr, d + 16, f16), a2);
            a3 = _mm256_fmadd_ps(pj, kv_load8(vr, d + 24, f16), a3);
        }
        _mm256_storeu_ps(o + d, _mm256_mul_ps(a0, vi));
        _mm256_storeu_ps(o + d + 8, _mm256_mul_ps(a1, vi));
        _mm256_storeu_ps(o + d + 16, _mm256_mul_ps(a2, vi));
        _mm256_storeu_ps(o + d + 24, _mm256_mul_ps(a3, vi));
    }
    for (; d + 8 <= hd; d += 8) {
        __m256 a0 = _mm256_setzero_ps();
        for (int64_t j = 0; j < n_keys; j++)
            a0 = _mm256_fmadd_ps(_mm256_set1_ps(p[j]), kv_load8(kv_row(jb->v, j, g), d, f16), a0);
        _mm256_storeu_ps(o + d, _mm256_mul_ps(a0, vi));
    }
    for (; d < hd; d++) {
        float a = 0.0f;
        for (int64_t j = 0; j < n_keys; j++)
            a += p[j] * kv_one(jb->ctx, kv_row(jb->v, j, g), d, f16);
        o[d] = a * inv;
    }
}

static void attend_one(attn_job *jb, int64_t t, int64_t h, float *scores) {
    const bn_attn_args *a = jb->a;
    int64_t hd = a->head_dim, g = h / (a->n_head / a->n_head_kv), n_keys = a->pos0 + t + 1;
    int f16 = jb->k->type == BN_TYPE_F16;
    const float *qv = (const float *)((const char *)jb->q->data + h * jb->q->nb[1] + t * jb->q->nb[2]);
    float m = -INFINITY;
    for (int64_t j = 0; j < n_keys; j++) {
        scores[j] = dot_qk(jb->ctx, qv, kv_row(jb->k, j, g), hd, f16) * a->scale;
        m = scores[j] > m ? scores[j] : m;
    }
    double sum = exp_scores(scores, n_keys, m);
    float *o = (float *)((char *)jb->out->data + h * jb->out->nb[1] + t * jb->out->nb[2]);
    weighted_v(jb, g, scores, n_keys, (float)(1.0 / sum), o);
}

static void attn_work(void *arg, int64_t begin, int64_t end, int thread_index) {
    attn_job *jb = arg;
    if (thread_index < 0 || thread_index >= jb->n_slots) {
        atomic_store(&jb->bad_thread, 1);
        return;
    }
    float *scores = jb->scratch + (int64_t)thread_index * jb->slot_len;
    for (int64_t i = begin; i < end; i++)
        attend_one(jb, i / jb->a->n_head, i % jb->a->n_head, scores);
}

static bn_status check_kv(bn_backend_ctx *ctx, const bn_tensor *t, const char *what, const bn_attn_args *a) {
    static const int32_t kv_types[] = {BN_TYPE_F32, BN_TYPE_F16, -1};
    bn_status st = pc_check(ctx, t, "attention", what, kv_types);
    if (st != BN_OK)
        return st;
    if (t->ne[0] != a->head_dim || t->ne[2] != a->n_head_kv || t->ne[3] != 1 ||
        t->ne[1] < (int64_t)a->pos0 + a->n_tokens)
        return pc_fail(ctx, BN_ERR_INVALID,
                        "attention: %s cache is [%lld, %lld, %lld, %lld], expected [head_dim %d, n_ctx >= %lld, "
                        "n_head_kv %d, 1]",
                        what, (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2],
                        (long long)t->ne[3], a->head_dim, (long long)a->pos0 + a->n_tokens, a->n_head_kv);
    return BN_OK;
}

static bn_status check_q(bn_backend_ctx *ctx, const bn_tensor *t, const char *what, const bn_attn_args *a) {
    static const int32_t f32[] = {BN_TYPE_F32, -1};
    bn_status st = pc_check(ctx, t, "attention", what, f32);
    if (st != BN_OK)
        return st;
    if (t->ne[0] != a->head_dim || t->ne[1] != a->n_head || t->ne[2] != a->n_tokens || t->ne[3] != 1)
        return pc_fail(ctx, BN_ERR_INVALID,
                        "attention: %s is [%lld, %lld, %lld, %lld], expected [head_dim %d, n_head %d, "
                        "n_tokens %d, 1]",
                        what, (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2],
                        (long long)t->ne[3], a->head_dim, a->n_head, a->n_tokens);
    return BN_OK;
}

bn_status ax_attention(bn_backend_ctx *ctx, const bn_tensor *q, const bn_tensor *k, const bn_tensor *v,
                        const bn_attn_args *args, bn_tensor *out) {
    if (!args)
        return pc_fail(ctx, BN_ERR_INVALID, "attention: NULL args");
    const bn_attn_args *a = args;
    if (a->n_head <= 0 || a->n_head_kv <= 0 || a->n_head % a->n_head_kv || a->head_dim <= 0 ||
        a->n_tokens <= 0 || a->pos0 < 0)
        return pc_fail(ctx, BN_ERR_INVALID,
                        "attention: bad args n_head %d, n_head_kv %d, head_dim %d, n_tokens %d, pos0 %d "
                        "(n_head must be a multiple of n_head_kv)",
                        a->n_head, a->n_head_kv, a->head_dim, a->n_tokens, a->pos0);
    bn_status st;
    if ((st = check_q(ctx, q, "q", a)) != BN_OK || (st = check_q(ctx, out, "out", a)) != BN_OK ||
        (st = check_kv(ctx, k, "k", a)) != BN_OK || (st = check_kv(ctx, v, "v", a)) != BN_OK)
        return st;
    if (k->ne[1] != v->ne[1])
        return pc_fail(ctx, BN_ERR_INVALID, "attention: k and v caches differ in n_ctx (%lld vs %lld)",
                        (long long)k->ne[1], (long long)v->ne[1]);
    attn_job jb = {.ctx = ctx, .q = q, .k = k, .v = v, .out = out, .a = a, .n_slots = ctx->n_threads};
    jb.slot_len = (k->ne[1] + 15) / 16 * 16;
    atomic_init(&jb.bad_thread, 0);
    jb.scratch = ax_scratch_get(ctx, AX_SCR_ATTN, sizeof(float) * (size_t)jb.slot_len * (size_t)jb.n_slots);
    if (!jb.scratch)
        return pc_fail(ctx, BN_ERR_NOMEM, "attention: out of memory for scratch");
    ax_parallel(ctx, (int64_t)a->n_tokens * a->n_head, 1, attn_work, &jb);
    ax_scratch_put(ctx, AX_SCR_ATTN, jb.scratch);
    if (atomic_load(&jb.bad_thread))
        return pc_fail(ctx, BN_ERR_INTERNAL, "attention: pool thread index beyond n_threads = %d",
                        jb.n_slots);
    return BN_OK;
}
