/*
 * attention_paged (ABI 1.1): query rows of several sequences, interleaved,
 * over a pool whose pages each sequence maps in scattered order. Checked
 * against the scalar oracle on each sequence's keys gathered in position
 * order, and against the reference plugin. Pool rows past a sequence's
 * length and pages no sequence maps hold large poison values, and page-table
 * entries past what a query needs are out of range: reading any of them
 * shows. Bad page tables must be refused, not followed.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "conf_tests.h"
#include "formats_oracle.h"
#include "ops_oracle.h"

#define MAX_SEQS 4

typedef struct paged_case {
    int32_t nh, nkv, hd, page, n_pages;
    int32_t kv_type;
    int32_t n_seqs;
    int32_t len[MAX_SEQS], nq[MAX_SEQS]; /* tokens before the queries, query rows */
} paged_case;

typedef struct paged_data {
    int32_t max_pages, T;
    int32_t *pt, *rows;
    void *k, *v;    /* pool as stored */
    float *kd, *vd; /* pool as f32 */
    float *q;
} paged_data;

/* Q8_0 values are only collected here (in dec), then encoded row by row. */
static void store(int32_t type, void *buf, float *dec, size_t i, float f) {
    if (type == BN_TYPE_Q8_0) {
        dec[i] = f;
    } else if (type == BN_TYPE_F16) {
        uint16_t h = or_f32_to_f16(f);
        ((uint16_t *)buf)[i] = h;
        dec[i] = or_f16_to_f32(h);
    } else {
        ((float *)buf)[i] = f;
        dec[i] = f;
    }
}

/* Element (d, slot, g) of page pg in a pool [hd, page, nkv, n_pages]. */
static size_t pool_index(const paged_case *pc, int32_t pg, int32_t slot, int32_t g, int32_t d) {
    return (((size_t)pg * (size_t)pc->nkv + (size_t)g) * (size_t)pc->page + (size_t)slot) * (size_t)pc->hd + (size_t)d;
}

static void make_case(const paged_case *pc, uint64_t seed, paged_data *pd) {
    conf_rng r;
    rng_seed(&r, seed);
    pd->max_pages = 0;
    pd->T = 0;
    for (int s = 0; s < pc->n_seqs; s++) {
        int32_t np = (pc->len[s] + pc->nq[s] + pc->page - 1) / pc->page;
        pd->max_pages = np > pd->max_pages ? np : pd->max_pages;
        pd->T += pc->nq[s];
    }
    pd->max_pages += 1; /* one spare entry per row, never needed */
    /* pages handed out in a shuffled order */
    int32_t *perm = xmalloc((size_t)pc->n_pages * 4);
    for (int32_t i = 0; i < pc->n_pages; i++)
        perm[i] = i;
    for (int32_t i = pc->n_pages - 1; i > 0; i--) {
        int32_t j = (int32_t)(rng_u64(&r) % (uint64_t)(i + 1)), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    pd->pt = xmalloc((size_t)pc->n_seqs * (size_t)pd->max_pages * 4);
    size_t m = (size_t)pc->hd * (size_t)pc->page * (size_t)pc->nkv * (size_t)pc->n_pages;
    pd->k = xmalloc(m * 4);
    pd->v = xmalloc(m * 4);
    pd->kd = xmalloc(m * 4);
    pd->vd = xmalloc(m * 4);
    for (size_t i = 0; i < m; i++) { /* poison everywhere first */
        store(pc->kv_type, pd->k, pd->kd, i, 30.0f);
        store(pc->kv_type, pd->v, pd->vd, i, 1000.0f);
    }
    int32_t next = 0;
    for (int s = 0; s < pc->n_seqs; s++) {
        int32_t n = pc->len[s] + pc->nq[s];
        for (int32_t j = 0; j < pd->max_pages; j++)
            pd->pt[s * pd->max_pages + j] = j * pc->page < n ? perm[next++] : pc->n_pages + 1000 + j;
        for (int32_t p = 0; p < n; p++)
            for (int32_t g = 0; g < pc->nkv; g++)
                for (int32_t d = 0; d < pc->hd; d++) {
                    size_t i = pool_index(pc, pd->pt[s * pd->max_pages + p / pc->page], p % pc->page, g, d);
                    store(pc->kv_type, pd->k, pd->kd, i, rng_f(&r));
                    store(pc->kv_type, pd->v, pd->vd, i, rng_f(&r));
                }
    }
    free(perm);
    if (pc->kv_type == BN_TYPE_Q8_0)
        for (size_t row = 0; row < m / (size_t)pc->hd; row++) {
            size_t o = row * (size_t)pc->hd, ob = row * (size_t)pc->hd / 32 * 34;
            or_encode_q8_0_row(pd->kd + o, pc->hd, (uint8_t *)pd->k + ob, pd->kd + o);
            or_encode_q8_0_row(pd->vd + o, pc->hd, (uint8_t *)pd->v + ob, pd->vd + o);
        }
    /* query rows round-robin over the sequences, each in position order */
    pd->rows = xmalloc((size_t)pd->T * 8);
    int32_t done[MAX_SEQS] = {0};
    for (int32_t t = 0; t < pd->T;)
        for (int s = 0; s < pc->n_seqs; s++)
            if (done[s] < pc->nq[s]) {
                pd->rows[2 * t] = pc->len[s] + done[s]++;
                pd->rows[2 * t + 1] = s;
                t++;
            }
    size_t mq = (size_t)pc->hd * (size_t)pc->nh * (size_t)pd->T;
    pd->q = xmalloc(mq * 4);
    rng_fill(&r, pd->q, (int64_t)mq, 2.0f);
}

static void free_case(paged_data *pd) {
    free(pd->pt);
    free(pd->rows);
    free(pd->k);
    free(pd->v);
    free(pd->kd);
    free(pd->vd);
    free(pd->q);
}

/* Runs attention_paged; returns the status (0 and out filled on success). */
static bn_status paged_run(conf_case *c, conf_plugin *p, const paged_case *pc, const paged_data *pd,
                           const int32_t *pt, float *out, int *ok) {
    dev_tensor dq, dk, dv, drows, dpt, dout;
    memset(&dk, 0, sizeof dk);
    memset(&dv, 0, sizeof dv);
    memset(&drows, 0, sizeof drows);
    memset(&dpt, 0, sizeof dpt);
    memset(&dout, 0, sizeof dout);
    bn_paged_attn_args a = {.n_head = pc->nh, .n_head_kv = pc->nkv, .head_dim = pc->hd, .n_tokens = pd->T,
                            .page_size = pc->page, .max_pages = pd->max_pages, .n_seqs = pc->n_seqs,
                            .scale = 1.0f / sqrtf((float)pc->hd)};
    bn_status st = BN_ERR_INTERNAL;
    *ok = 0;
    if (dt_new(c, p, &dq, BN_TYPE_F32, pc->hd, pc->nh, pd->T, 0) && dt_put(c, p, &dq, pd->q) &&
        dt_new(c, p, &dk, pc->kv_type, pc->hd, pc->page, (int64_t)pc->nkv * pc->n_pages, 0) &&
        dt_put(c, p, &dk, pd->k) &&
        dt_new(c, p, &dv, pc->kv_type, pc->hd, pc->page, (int64_t)pc->nkv * pc->n_pages, 0) &&
        dt_put(c, p, &dv, pd->v) && dt_new(c, p, &drows, BN_TYPE_I32, 2, pd->T, 1, 0) &&
        dt_put(c, p, &drows, pd->rows) && dt_new(c, p, &dpt, BN_TYPE_I32, pd->max_pages, pc->n_seqs, 1, 0) &&
        dt_put(c, p, &dpt, pt) && dt_new(c, p, &dout, BN_TYPE_F32, pc->hd, pc->nh, pd->T, 0)) {
        for (dev_tensor *d = &dk; d; d = d == &dk ? &dv : NULL) { /* [hd, page, nkv * n_pages] -> 4-D */
            d->t.ne[2] = pc->nkv;
            d->t.ne[3] = pc->n_pages;
            d->t.nb[3] = d->t.nb[2] * pc->nkv;
        }
        st = p->be->attention_paged(p->ctx, &dq.t, &dk.t, &dv.t, &drows.t, &dpt.t, &a, &dout.t);
        if (st == BN_OK)
            *ok = dt_get(c, p, &dout, out);
    }
    dt_del(p, &dq);
    dt_del(p, &dk);
    dt_del(p, &dv);
    dt_del(p, &drows);
    dt_del(p, &dpt);
    dt_del(p, &dout);
    return st;
}

static void oracle(const paged_case *pc, const paged_data *pd, float *exp, float *mag) {
    int32_t n_max = pd->max_pages * pc->page, group = pc->nh / pc->nkv;
    float *kg = xmalloc((size_t)n_max * (size_t)pc->hd * 4), *vg = xmalloc((size_t)n_max * (size_t)pc->hd * 4);
    for (int32_t t = 0; t < pd->T; t++) {
        int32_t pos = pd->rows[2 * t], s = pd->rows[2 * t + 1];
        for (int32_t h = 0; h < pc->nh; h++) {
            for (int32_t j = 0; j <= pos; j++) /* this head's keys in position order */
                for (int32_t d = 0; d < pc->hd; d++) {
                    size_t i = pool_index(pc, pd->pt[s * pd->max_pages + j / pc->page], j % pc->page, h / group, d);
                    kg[(size_t)j * (size_t)pc->hd + (size_t)d] = pd->kd[i];
                    vg[(size_t)j * (size_t)pc->hd + (size_t)d] = pd->vd[i];
                }
            size_t o = ((size_t)t * (size_t)pc->nh + (size_t)h) * (size_t)pc->hd;
            or_attention_head(pd->q + o, kg, vg, pc->hd, pc->hd, pos + 1, 1.0f / sqrtf((float)pc->hd), exp + o,
                              mag + o);
        }
    }
    free(kg);
    free(vg);
}

/* Page tables that must be refused: an entry a query needs outside the
 * pool, a negative one, a query past its table. */
static void refusals(conf_case *c, conf_plugin *p, const paged_case *pc, paged_data *pd, float *out) {
    int32_t *bad = xmalloc((size_t)pc->n_seqs * (size_t)pd->max_pages * 4);
    for (int k = 0; k < 3; k++) {
        memcpy(bad, pd->pt, (size_t)pc->n_seqs * (size_t)pd->max_pages * 4);
        int32_t saved = pd->rows[0];
        if (k == 0)
            bad[pd->rows[1] * pd->max_pages] = pc->n_pages;
        else if (k == 1)
            bad[pd->rows[1] * pd->max_pages] = -1;
        else
            pd->rows[0] = pd->max_pages * pc->page;
        int ok;
        bn_status st = paged_run(c, p, pc, pd, bad, out, &ok);
        pd->rows[0] = saved;
        if (st != BN_ERR_INVALID)
            cc_fail(c, "a bad page table (%s) gave status %d, want BN_ERR_INVALID",
                    k == 0 ? "page = n_pages" : k == 1 ? "page -1" : "position past the table", (int)st);
    }
    free(bad);
}

void conf_test_attention_paged(int pi) {
    static const paged_case cases[] = {
        /* decode rows of three sequences, GQA 4:1, F16 */
        {8, 2, 64, 16, 24, BN_TYPE_F16, 3, {37, 0, 15}, {1, 1, 1}},
        /* the 2B-4T head shape, prompt chunk + decode rows, page 64 */
        {20, 5, 128, 64, 12, BN_TYPE_F16, 2, {130, 5}, {1, 40}},
        {20, 5, 128, 64, 12, BN_TYPE_F32, 2, {130, 5}, {1, 40}},
        /* queries crossing page ends, odd head_dim, MHA, page 32 */
        {6, 6, 80, 32, 16, BN_TYPE_F32, 4, {31, 64, 0, 3}, {3, 2, 33, 1}},
        /* wide group, long sequence over many small pages */
        {16, 2, 96, 16, 40, BN_TYPE_F16, 2, {300, 16}, {2, 16}},
        /* the 8-bit cache, the 2B-4T head shape */
        {20, 5, 128, 64, 12, BN_TYPE_Q8_0, 2, {130, 5}, {1, 40}},
    };
    conf_plugin *p = &conf_plugins[pi];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const paged_case *pc = &cases[i];
        conf_case c;
        cc_init(&c, pi, BN_OP_ATTENTION, "paged heads=%d/%d head_dim=%d page=%d seqs=%d cache=%s", pc->nh, pc->nkv,
                pc->hd, pc->page, pc->n_seqs, bn_type_name(pc->kv_type));
        if (!cc_has(&c, BN_BACKEND_HAS(p->be, attention_paged) ? (const void *)p->be->attention_paged : NULL,
                    "attention_paged") ||
            !conf_kv_supported(&c, p, pc->kv_type))
            continue;
        paged_data pd;
        make_case(pc, 4000 + i, &pd);
        size_t mq = (size_t)pc->hd * (size_t)pc->nh * (size_t)pd.T;
        float *exp = xmalloc(mq * 4), *mag = xmalloc(mq * 4), *got = xmalloc(mq * 4);
        oracle(pc, &pd, exp, mag);
        int ok;
        if (cc_ok(&c, p, paged_run(&c, p, pc, &pd, pd.pt, got, &ok), "attention_paged") && ok) {
            cc_cmp_f32(&c, "values", got, exp, mag, (int64_t)mq, ATTN_TOL, 1e-30, 0);
            if (!p->is_reference && paged_run(&c, conf_ref, pc, &pd, pd.pt, exp, &ok) == BN_OK && ok)
                cc_cmp_f32(&c, "values", got, exp, mag, (int64_t)mq, 2 * ATTN_TOL, 1e-30, 1);
        }
        if (i == 0)
            refusals(&c, p, pc, &pd, got);
        free(exp);
        free(mag);
        free(got);
        free_case(&pd);
    }
}
