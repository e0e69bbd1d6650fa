/*
 * TL1 / TL2 matmul on the LUT layout of lut.c.
 *
 * Per token and group, a table of 32 int16 entries (entry = the group's
 * weight pattern dotted with its int8 activations; |entry| <= 384) is
 * built with two or three multiplies; a 16-bit index word of 32 rows,
 * shifted to the group, picks 32 entries at once with vpermw. Entries are
 * summed in int16 for at most 255 columns (|sum| <= 255 * 128 < 2^15),
 * then widened to int32 (even and odd rows by shifts, no shuffles), so the
 * integer sums are exact: the same as MAD's and the reference's.
 *
 * Work goes chunk by chunk (lut.c): each thread builds the tables of one
 * chunk for the pass's tokens in its own buffer (a few KB per token, so they
 * stay in L1 while the index words stream from memory), then runs its
 * tiles through that chunk: 4 sub-tiles share each table load, up to 4
 * tokens share each index load. Per row and token, int32 sums (I2_S, or
 * I32 output) or block-scaled float sums (TQ with F32 output: each
 * segment's int32 partial times its d, added in block order) carry over
 * from chunk to chunk in a per-call buffer; scales as in the MAD path.
 */
#include <immintrin.h>
#include <string.h>

#include "a5_internal.h"

#define LNT 4        /* tokens per kernel call */
#define TOK_PASS 32  /* tokens staged at once */

/* Digit vectors of the table entries (index -> weight of a_k). */
static const int16_t tl1_d[2][32] __attribute__((aligned(64))) = {
    {-1, -1, -1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, -1, -1, -1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0},
    {-1, 0, 1, -1, 0, 1, -1, 0, 1, 0, 0, 0, 0, 0, 0, 0, -1, 0, 1, -1, 0, 1, -1, 0, 1, 0, 0, 0, 0, 0, 0, 0}};
static const int16_t tl2_d[3][32] __attribute__((aligned(64))) = {
    {0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 0},
    {0, 0, 1, 1, 1, -1, -1, -1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, -1, -1, -1, 1, 1, 1, 0, 0, 0, -1, -1, -1, 0, 0},
    {0, 1, -1, 0, 1, -1, 0, 1, -1, 0, 1, -1, 0, 1, 0, 0, 0, -1, 1, 0, -1, 1, 0, -1, 1, 0, -1, 1, 0, -1, 0, 0}};

/* Tables of groups [0, ng) from activations qp (G per group). */
static void build_tables(int g, const int8_t *qp, int64_t ng, int16_t *tab) {
    if (g == 2) {
        const __m512i d0 = _mm512_load_si512(tl1_d[0]), d1 = _mm512_load_si512(tl1_d[1]);
        for (int64_t i = 0; i < ng; i++) {
            __m512i e = _mm512_add_epi16(_mm512_mullo_epi16(d0, _mm512_set1_epi16(qp[2 * i])),
                                         _mm512_mullo_epi16(d1, _mm512_set1_epi16(qp[2 * i + 1])));
            _mm512_store_si512(tab + 32 * i, e);
        }
        return;
    }
    const __m512i d0 = _mm512_load_si512(tl2_d[0]), d1 = _mm512_load_si512(tl2_d[1]),
                  d2 = _mm512_load_si512(tl2_d[2]);
    for (int64_t i = 0; i < ng; i++) {
        __m512i e = _mm512_add_epi16(_mm512_mullo_epi16(d0, _mm512_set1_epi16(qp[3 * i])),
                                     _mm512_mullo_epi16(d1, _mm512_set1_epi16(qp[3 * i + 1])));
        e = _mm512_add_epi16(e, _mm512_mullo_epi16(d2, _mm512_set1_epi16(qp[3 * i + 2])));
        _mm512_store_si512(tab + 32 * i, e);
    }
}

typedef struct lut_job {
    const bn_weight *w;
    const int8_t *qp;   /* [n_tok][n_words * cw] segment-padded activations */
    const float *s;     /* [n_tok] s_x */
    int32_t *acc_i;     /* [n_tok][rows32] int32 sums, accumulator order */
    float *acc_f;       /* [n_tok][rows32] block-scaled sums (blockwise) */
    uint8_t *tab;       /* per thread: one chunk's tables, [n_tok][groups][32] */
    size_t tab_bytes;   /* per thread */
    int64_t unit;       /* sub-tiles per parallel work item: 4 or 2 */
    int64_t n_tok, tok0;
    bn_tensor *y;
    int out_i32, blockwise;
} lut_job;

/* One kernel call: sub-tiles [sub0, sub0 + ns) of a tile, tokens [t0, t0 + nt), one chunk. */
typedef struct lut_call {
    const uint16_t *ip; /* the chunk's first word of sub-tile sub0 */
    int64_t wstride;    /* uint16 between consecutive words */
    const int16_t *tb;  /* the chunk's tables of token t0 */
    int64_t tstride;    /* int16 between tokens' tables */
    int32_t *dst;       /* int32 sums of (sub-tile s, token t) at dst + t * dst_t + 32 s */
    int64_t dst_t;
    int32_t seg[LNT][A5_LUT_NSUB][A5_LUT_SUB] __attribute__((aligned(64))); /* one segment (blockwise) */
} lut_call;

/* int16 row sums -> int32 (even rows to [0, 16), odd rows to [16, 32)),
 * stored to or added into d. */
A5_INLINE void widen(__m512i a, int32_t *d, int add) {
    __m512i ev = _mm512_srai_epi32(_mm512_slli_epi32(a, 16), 16), od = _mm512_srai_epi32(a, 16);
    if (add) {
        ev = _mm512_add_epi32(_mm512_load_si512((const void *)d), ev);
        od = _mm512_add_epi32(_mm512_load_si512((const void *)(d + 16)), od);
    }
    _mm512_store_si512((void *)d, ev);
    _mm512_store_si512((void *)(d + 16), od);
}

/* Chunk words [w0, w1) (at most 255 columns) into L->dst. */
A5_INLINE void lut_span(const lut_call *L, int64_t w0, int64_t w1, int add, const int ns, const int nt,
                        const int gw) {
    const int bits = gw == 4 ? 4 : 5;
    __m512i acc[A5_LUT_NSUB][LNT];
    for (int s = 0; s < ns; s++)
        for (int t = 0; t < nt; t++)
            acc[s][t] = _mm512_setzero_si512();
    for (int64_t wi = w0; wi < w1; wi++) {
        const uint16_t *ipw = L->ip + wi * L->wstride;
        const int16_t *tw = L->tb + wi * gw * 32;
        __m512i v[A5_LUT_NSUB];
        for (int s = 0; s < ns; s++)
            v[s] = _mm512_load_si512((const void *)(ipw + s * A5_LUT_SUB));
        for (int k = 0; k < gw; k++) {
            __m512i ix[A5_LUT_NSUB];
            for (int s = 0; s < ns; s++)
                ix[s] = k ? _mm512_srli_epi16(v[s], (unsigned)(k * bits)) : v[s];
            for (int t = 0; t < nt; t++) {
                __m512i tab = _mm512_load_si512((const void *)(tw + t * L->tstride + k * 32));
                for (int s = 0; s < ns; s++)
                    acc[s][t] = _mm512_add_epi16(acc[s][t], _mm512_permutexvar_epi16(ix[s], tab));
            }
        }
    }
    for (int s = 0; s < ns; s++)
        for (int t = 0; t < nt; t++)
            widen(acc[s][t], L->dst + t * L->dst_t + s * A5_LUT_SUB, add);
}

/* Words [p0, p1) of the chunk starting at wb, in spans of at most 255 columns. */
A5_INLINE void lut_piece(const lut_call *L, int64_t wb, int64_t p0, int64_t p1, int add, const int ns, const int nt,
                         const int gw) {
    const int64_t fw = 255 / (gw == 4 ? 8 : 9);
    int64_t n_sp = (p1 - p0 + fw - 1) / fw, len = (p1 - p0 + n_sp - 1) / n_sp;
    for (int64_t a = p0; a < p1; a += len, add = 1)
        lut_span(L, a - wb, (a + len < p1 ? a + len : p1) - wb, add, ns, nt, gw);
}

/* Chunk c of sub-tiles [sub0, sub0 + ns) of `tile`, tokens [t0, t0 + nt).
 * Integer sums go straight into acc_i; blockwise, each segment's sums are
 * scaled by its d into acc_f. */
A5_INLINE void lut_call_run(const lut_job *jb, const int16_t *tab, int64_t tstride, int64_t c, int64_t tile,
                            int sub0, int64_t t0, const int ns, const int nt, const int gw) {
    const bn_weight *w = jb->w;
    const int64_t wb = c * w->lut_chunk, we = wb + a5_lut_chunk_words(w, c), rows32 = w->lut_rows32;
    const int64_t base = tile * A5_LUT_TILE + sub0 * A5_LUT_SUB;
    lut_call L;
    L.wstride = a5_lut_tile_subs(w, tile) * A5_LUT_SUB;
    L.ip = w->lut_idx + a5_lut_block_off(w, c, tile) + sub0 * A5_LUT_SUB;
    L.tstride = tstride;
    L.tb = tab + t0 * tstride;
    if (!jb->blockwise) {
        L.dst = jb->acc_i + t0 * rows32 + base;
        L.dst_t = rows32;
        lut_piece(&L, wb, wb, we, 1, ns, nt, gw);
        return;
    }
    L.dst = &L.seg[0][0][0];
    L.dst_t = A5_LUT_NSUB * A5_LUT_SUB;
    for (int64_t p0 = wb, p1; p0 < we; p0 = p1) { /* pieces: the chunk's part of one segment */
        int64_t sg = p0 / w->lut_wps;
        p1 = (sg + 1) * w->lut_wps < we ? (sg + 1) * w->lut_wps : we;
        lut_piece(&L, wb, p0, p1, 0, ns, nt, gw);
        const float *d = w->lut_d + ((tile * w->lut_n_seg + sg) * A5_LUT_NSUB + sub0) * A5_LUT_SUB;
        for (int t = 0; t < nt; t++)
            for (int h = 0; h < ns * A5_LUT_SUB; h += 16) {
                float *f = jb->acc_f + (t0 + t) * rows32 + base + h;
                __m512 part = _mm512_cvtepi32_ps(_mm512_load_si512((const void *)(&L.seg[t][0][0] + h)));
                _mm512_store_ps(f, _mm512_fmadd_ps(part, _mm512_load_ps(d + h), _mm512_load_ps(f)));
            }
    }
}

/* Chunk c of sub-tiles [s0, s1) of `tile` for every token: 4, 2 or 1 sub-tiles per call. */
A5_INLINE void lut_subs_chunk(const lut_job *jb, const int16_t *tab, int64_t tstride, int64_t c, int64_t tile,
                              int s0, int s1, const int gw) {
    for (int s = s0; s < s1;) {
        int64_t t0;
        if (s1 - s >= 4) {
            for (t0 = 0; t0 + 4 <= jb->n_tok; t0 += 4)
                lut_call_run(jb, tab, tstride, c, tile, s, t0, 4, 4, gw);
            for (; t0 < jb->n_tok; t0++)
                lut_call_run(jb, tab, tstride, c, tile, s, t0, 4, 1, gw);
            s += 4;
        } else if (s1 - s >= 2) {
            for (t0 = 0; t0 + 4 <= jb->n_tok; t0 += 4)
                lut_call_run(jb, tab, tstride, c, tile, s, t0, 2, 4, gw);
            for (; t0 < jb->n_tok; t0++)
                lut_call_run(jb, tab, tstride, c, tile, s, t0, 2, 1, gw);
            s += 2;
        } else {
            for (t0 = 0; t0 + 4 <= jb->n_tok; t0 += 4)
                lut_call_run(jb, tab, tstride, c, tile, s, t0, 1, 4, gw);
            for (; t0 < jb->n_tok; t0++)
                lut_call_run(jb, tab, tstride, c, tile, s, t0, 1, 1, gw);
            s += 1;
        }
    }
}

/* Output rows of global sub-tile g (32 rows) from the accumulators. */
static void write_rows(const lut_job *jb, int64_t g) {
    const bn_weight *w = jb->w;
    for (int64_t t = 0; t < jb->n_tok; t++) {
        char *yrow = pc_row(jb->y, jb->tok0 + t);
        float sx = jb->s[t];
        for (int i = 0; i < A5_LUT_SUB; i++) {
            int64_t k = g * A5_LUT_SUB + i, j = g * A5_LUT_SUB + (i < 16 ? 2 * i : 2 * (i - 16) + 1);
            if (j >= w->n_rows)
                continue;
            if (jb->out_i32)
                ((int32_t *)yrow)[j] = jb->acc_i[t * w->lut_rows32 + k];
            else if (jb->blockwise)
                ((float *)yrow)[j] = jb->acc_f[t * w->lut_rows32 + k] * w->extra_scale / sx;
            else
                ((float *)yrow)[j] = (float)jb->acc_i[t * w->lut_rows32 + k] * (w->tensor_scale * w->extra_scale) / sx;
        }
    }
}

/* Global sub-tiles [begin, end) x unit: chunk by chunk, each call's rows within one tile. */
static void lut_work(void *arg, int64_t begin, int64_t end, int thread_index) {
    const lut_job *jb = arg;
    const bn_weight *w = jb->w;
    int64_t g0 = begin * jb->unit, g1 = end * jb->unit < w->lut_rows32 / A5_LUT_SUB ? end * jb->unit : w->lut_rows32 / A5_LUT_SUB;
    int64_t cw = w->lut_g * w->lut_gw, row_cols = w->lut_n_words * cw;
    int16_t *tab = (int16_t *)(jb->tab + (size_t)thread_index * jb->tab_bytes);
    for (int64_t t = 0; t < jb->n_tok; t++) { /* this thread's rows only: no lines shared across cores */
        memset(jb->acc_i + t * w->lut_rows32 + g0 * A5_LUT_SUB, 0, sizeof(int32_t) * (size_t)((g1 - g0) * A5_LUT_SUB));
        memset(jb->acc_f + t * w->lut_rows32 + g0 * A5_LUT_SUB, 0, sizeof(float) * (size_t)((g1 - g0) * A5_LUT_SUB));
    }
    for (int64_t c = 0; c < w->lut_n_chunks; c++) {
        int64_t ng = a5_lut_chunk_words(w, c) * w->lut_gw, tstride = ng * 32;
        for (int64_t t = 0; t < jb->n_tok; t++)
            build_tables(w->lut_g, jb->qp + t * row_cols + c * w->lut_chunk * cw, ng, tab + t * tstride);
        for (int64_t g = g0; g < g1;) {
            int64_t tile = g / A5_LUT_NSUB, s1 = (tile + 1) * A5_LUT_NSUB < g1 ? A5_LUT_NSUB : g1 - tile * A5_LUT_NSUB;
            if (w->lut_gw == 4)
                lut_subs_chunk(jb, tab, tstride, c, tile, (int)(g % A5_LUT_NSUB), (int)s1, 4);
            else
                lut_subs_chunk(jb, tab, tstride, c, tile, (int)(g % A5_LUT_NSUB), (int)s1, 3);
            g = tile * A5_LUT_NSUB + s1;
        }
    }
    for (int64_t g = g0; g < g1; g++)
        write_rows(jb, g);
}

bn_status a5_lut_matmul(bn_backend_ctx *ctx, const bn_weight *w, const bn_tensor *x,
                        const bn_tensor *x_scale, bn_tensor *y) {
    int64_t n_tok = pc_n_rows(x), pass = n_tok < TOK_PASS ? n_tok : TOK_PASS;
    int64_t cw = w->lut_g * w->lut_gw, row_cols = w->lut_n_words * cw, seg_cols = w->lut_wps * cw;
    int64_t n_sub = w->lut_rows32 / A5_LUT_SUB;
    /* Each thread builds the tables of a chunk itself: cheap (a few us per
     * token for the whole row), L1-hot when used, and it spares a second
     * parallel_for, whose wake-up costs more. Few rows: work items of 2
     * sub-tiles, so the threads share them evenly. */
    size_t tab_bytes = sizeof(int16_t) * 32 * (size_t)(w->lut_chunk * w->lut_gw * pass);
    size_t acc_bytes = sizeof(int32_t) * (size_t)(w->lut_rows32 * pass);
    size_t q_off = tab_bytes * (size_t)ctx->pc.n_threads, acc_off = q_off + ((size_t)w->n_cols + 63) / 64 * 64;
    size_t qp_off = acc_off + 2 * acc_bytes, s_off = qp_off + ((size_t)(row_cols * pass) + 63) / 64 * 64;
    uint8_t *scr = pc_scratch_get(ctx, A5_SCR_STAGE, s_off + sizeof(float) * (size_t)pass);
    if (!scr)
        return pc_fail(ctx, BN_ERR_NOMEM, "matmul: out of memory for LUT tables");
    int8_t *q = (int8_t *)(scr + q_off), *qp = (int8_t *)(scr + qp_off);
    float *s = (float *)(scr + s_off);
    lut_job jb = {.w = w, .qp = qp, .s = s, .tab = scr, .tab_bytes = tab_bytes, .y = y};
    jb.unit = w->lut_tiles >= 4 * (int64_t)ctx->pc.n_threads ? A5_LUT_NSUB : 2;
    jb.acc_i = (int32_t *)(scr + acc_off);
    jb.acc_f = (float *)(scr + acc_off + acc_bytes);
    jb.out_i32 = y->type == BN_TYPE_I32;
    jb.blockwise = !jb.out_i32 && w->lut_d != NULL;
    memset(qp, 0, (size_t)(row_cols * pass)); /* segment padding stays 0 */
    for (int64_t t0 = 0; t0 < n_tok; t0 += pass) {
        jb.tok0 = t0;
        jb.n_tok = n_tok - t0 < pass ? n_tok - t0 : pass;
        for (int64_t t = 0; t < jb.n_tok; t++) {
            const char *xr = pc_row(x, t0 + t);
            const int8_t *qr = (const int8_t *)xr;
            if (x->type == BN_TYPE_I8) {
                s[t] = *pc_row_scale(x_scale, x, t0 + t);
            } else {
                s[t] = a5_quantize_row((const float *)xr, w->n_cols, q);
                qr = q;
            }
            for (int64_t sg = 0; sg < w->lut_n_seg; sg++)
                memcpy(qp + t * row_cols + sg * seg_cols, qr + sg * w->lut_seg_len, (size_t)w->lut_seg_len);
        }
        pc_parallel(ctx, (n_sub + jb.unit - 1) / jb.unit, 1, lut_work, &jb);
    }
    pc_scratch_put(ctx, A5_SCR_STAGE, scr);
    return BN_OK;
}
