/*
 * The LUT family (TL1, TL2): the weights choose entries of small tables
 * built from the activations, looked up 32 rows at a time with pshufb.
 *
 * Weights are grouped G at a time along a row (TL1: pairs, 9 patterns,
 * index 3 w0 + w1 + 4; TL2: triples, v = 9 w0 + 3 w1 + w2 stored as a
 * 4-bit |v| plus a sign bit, since negating a triple negates its sum).
 * Groups never straddle a scale segment (the whole row for I2_S, a
 * 256-block for TQ): a segment's last group is padded with zero weights.
 * Rows come in tiles of 32; per tile and group, 16 bytes hold the index of
 * row i in the low nibble of byte i and of row 16 + i in the high nibble
 * (TL2 adds a 32-bit word of signs). So one pshufb on a table that is the
 * same for every row looks up 32 rows at once.
 * Per token and group a table of 16 int16 entries (entry = the group's
 * weights dotted with its activations, |entry| <= 384) is stored as 16 low
 * bytes and 16 high bytes; two pshufb and an unpack give 32 int16 values,
 * summed in 16 bits for 64 groups at a time (64 * 384 < 2^15), then in 32
 * bits. The integer sums are exact, hence equal to MAD's and the
 * reference's. Scales as in matmul.c; TQ block partials are added per row
 * in block order.
 * The MAD codes are kept too (dequantize and get_rows read them), so a LUT
 * weight takes about twice the memory of a MAD one.
 */
#include <string.h>

#include "avx2_internal.h"
#include "simd_util.h"

#define LT 32     /* rows per tile */
#define FLUSH 64  /* groups summed in 16 bits before widening */

/* Balanced-ternary digits of m in 0..13: m = 9 d0 + 3 d1 + d2. */
static const int8_t tl2_digits[14][3] = {
    {0, 0, 0},  {0, 0, 1},  {0, 1, -1}, {0, 1, 0}, {0, 1, 1}, {1, -1, -1}, {1, -1, 0},
    {1, -1, 1}, {1, 0, -1}, {1, 0, 0},  {1, 0, 1}, {1, 1, -1}, {1, 1, 0},  {1, 1, 1}};

static int64_t n_groups(const bn_weight *w) { return w->lut_n_seg * w->lut_gps; }

/* Weights (or activations) of group g of segment sg, zero past the segment. */
static void group_vals(const bn_weight *w, const int8_t *row, int64_t sg, int64_t g, int v[3]) {
    for (int k = 0; k < 3; k++) {
        int64_t off = g * w->lut_group + k;
        v[k] = k < w->lut_group && off < w->lut_seg_len ? row[sg * w->lut_seg_len + off] : 0;
    }
}

bn_status ax_lut_prepare(bn_backend_ctx *ctx, bn_weight *w) {
    int tl2 = w->kernel == BN_KERNEL_TL2;
    w->lut_group = tl2 ? 3 : 2;
    w->lut_seg_len = w->blocks_per_row ? BN_QK_K : w->n_cols;
    w->lut_n_seg = w->n_cols / w->lut_seg_len;
    w->lut_gps = (w->lut_seg_len + w->lut_group - 1) / w->lut_group;
    w->lut_tiles = (w->n_rows + LT - 1) / LT;
    int64_t ng = n_groups(w);
    size_t tg = (size_t)w->lut_tiles * (size_t)ng;
    w->lut_idx = pc_alloc(ctx, tg * 16);
    if (tl2)
        w->lut_sign = pc_alloc(ctx, tg * sizeof(uint32_t));
    if (w->blocks_per_row)
        w->lut_d = pc_alloc(ctx, sizeof(float) * LT * (size_t)(w->lut_tiles * w->lut_n_seg));
    int8_t *t = pc_alloc(ctx, (size_t)(LT * w->n_cols));
    if (!w->lut_idx || (tl2 && !w->lut_sign) || (w->blocks_per_row && !w->lut_d) || !t) {
        pc_free(ctx, t);
        return pc_fail(ctx, BN_ERR_NOMEM, "tensor '%s': out of memory for the LUT layout", w->name);
    }
    memset(w->lut_idx, 0, tg * 16);
    if (tl2)
        memset(w->lut_sign, 0, tg * sizeof(uint32_t));
    for (int64_t tile = 0; tile < w->lut_tiles; tile++) {
        memset(t, 0, (size_t)(LT * w->n_cols)); /* padding rows: zero weights */
        for (int i = 0; i < LT && tile * LT + i < w->n_rows; i++)
            ax_weight_ternary_row(w, tile * LT + i, t + i * w->n_cols);
        for (int64_t gi = 0; gi < ng; gi++) {
            uint8_t *ip = w->lut_idx + ((size_t)tile * (size_t)ng + (size_t)gi) * 16;
            for (int i = 0; i < LT; i++) {
                int v[3], idx;
                group_vals(w, t + i * w->n_cols, gi / w->lut_gps, gi % w->lut_gps, v);
                if (tl2) {
                    int m = 9 * v[0] + 3 * v[1] + v[2];
                    idx = m < 0 ? -m : m;
                    if (m < 0)
                        w->lut_sign[(size_t)tile * (size_t)ng + (size_t)gi] |= 1u << i;
                } else {
                    idx = 3 * v[0] + v[1] + 4;
                }
                ip[i % 16] |= (uint8_t)(idx << (i < 16 ? 0 : 4));
            }
        }
        if (w->lut_d)
            for (int64_t sg = 0; sg < w->lut_n_seg; sg++)
                for (int i = 0; i < LT; i++) {
                    int64_t r = tile * LT + i;
                    w->lut_d[(tile * w->lut_n_seg + sg) * LT + i] =
                        r < w->n_rows ? w->block_d[r * w->blocks_per_row + sg] : 0.0f;
                }
    }
    pc_free(ctx, t);
    return BN_OK;
}

/* Tables of one token: [group][16 low bytes | 16 high bytes] of int16 entries. */
static void build_tables(const bn_weight *w, const int8_t *q, uint8_t *tab) {
    int64_t ng = n_groups(w);
    for (int64_t gi = 0; gi < ng; gi++) {
        int a[3];
        int16_t e[16] = {0};
        group_vals(w, q, gi / w->lut_gps, gi % w->lut_gps, a);
        if (w->lut_group == 3)
            for (int m = 0; m < 14; m++)
                e[m] = (int16_t)(tl2_digits[m][0] * a[0] + tl2_digits[m][1] * a[1] + tl2_digits[m][2] * a[2]);
        else
            for (int idx = 0; idx < 9; idx++)
                e[idx] = (int16_t)((idx / 3 - 1) * a[0] + (idx % 3 - 1) * a[1]);
        for (int i = 0; i < 16; i++) {
            tab[gi * 32 + i] = (uint8_t)((uint16_t)e[i] & 0xff);
            tab[gi * 32 + 16 + i] = (uint8_t)((uint16_t)e[i] >> 8);
        }
    }
}

typedef struct lut_job {
    const bn_weight *w;
    bn_tensor *y;
    int64_t n_tok;
    const uint8_t *tables; /* [n_tok][n_groups * 32] */
    const float *s;
    int out_i32;
} lut_job;

AX_INLINE void widen_add(__m256i s32[4], __m256i a0, __m256i a1) {
    s32[0] = _mm256_add_epi32(s32[0], _mm256_cvtepi16_epi32(_mm256_castsi256_si128(a0)));
    s32[2] = _mm256_add_epi32(s32[2], _mm256_cvtepi16_epi32(_mm256_extracti128_si256(a0, 1)));
    s32[1] = _mm256_add_epi32(s32[1], _mm256_cvtepi16_epi32(_mm256_castsi256_si128(a1)));
    s32[3] = _mm256_add_epi32(s32[3], _mm256_cvtepi16_epi32(_mm256_extracti128_si256(a1, 1)));
}

static void lut_tile(const lut_job *jb, int64_t tile, int64_t tok) {
    const bn_weight *w = jb->w;
    int64_t ng = n_groups(w);
    const uint8_t *ip = w->lut_idx + (size_t)tile * (size_t)ng * 16;
    const uint32_t *sp = w->lut_sign ? w->lut_sign + (size_t)tile * (size_t)ng : NULL;
    const uint8_t *tab = jb->tables + (size_t)tok * (size_t)ng * 32;
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    const __m256i pick = _mm256_setr_epi8(0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3, 2, 3, 2,
                                          3, 2, 3, 2, 3, 2, 3);
    const __m256i c0 = _mm256_setr_epi16(1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128);
    const __m256i c1 = _mm256_slli_epi16(c0, 8);
    __m256i tot[4];
    __m256 accf[4];
    for (int k = 0; k < 4; k++) {
        tot[k] = _mm256_setzero_si256();
        accf[k] = _mm256_setzero_ps();
    }
    for (int64_t sg = 0; sg < w->lut_n_seg; sg++) {
        __m256i s32[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                          _mm256_setzero_si256()};
        __m256i a0 = _mm256_setzero_si256(), a1 = a0;
        int cnt = 0;
        for (int64_t gi = sg * w->lut_gps; gi < (sg + 1) * w->lut_gps; gi++) {
            __m128i raw = _mm_loadu_si128((const __m128i *)(ip + gi * 16));
            __m256i idx = _mm256_and_si256(
                _mm256_inserti128_si256(_mm256_castsi128_si256(raw), _mm_srli_epi16(raw, 4), 1), m4);
            __m256i tlo = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(tab + gi * 32)));
            __m256i thi = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(tab + gi * 32 + 16)));
            __m256i rlo = _mm256_shuffle_epi8(tlo, idx), rhi = _mm256_shuffle_epi8(thi, idx);
            __m256i v0 = _mm256_unpacklo_epi8(rlo, rhi), v1 = _mm256_unpackhi_epi8(rlo, rhi);
            if (sp) { /* negate the rows whose sign bit is set: (v ^ m) - m */
                __m256i sv = _mm256_shuffle_epi8(_mm256_set1_epi32((int)sp[gi]), pick);
                __m256i n0 = _mm256_cmpeq_epi16(_mm256_and_si256(sv, c0), c0);
                __m256i n1 = _mm256_cmpeq_epi16(_mm256_and_si256(sv, c1), c1);
                v0 = _mm256_sub_epi16(_mm256_xor_si256(v0, n0), n0);
                v1 = _mm256_sub_epi16(_mm256_xor_si256(v1, n1), n1);
            }
            a0 = _mm256_add_epi16(a0, v0);
            a1 = _mm256_add_epi16(a1, v1);
            if (++cnt == FLUSH) {
                widen_add(s32, a0, a1);
                a0 = a1 = _mm256_setzero_si256();
                cnt = 0;
            }
        }
        widen_add(s32, a0, a1);
        for (int k = 0; k < 4; k++) {
            tot[k] = _mm256_add_epi32(tot[k], s32[k]);
            if (w->lut_d)
                accf[k] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s32[k]),
                                          _mm256_loadu_ps(w->lut_d + (tile * w->lut_n_seg + sg) * LT + 8 * k), accf[k]);
        }
    }
    int32_t it[LT];
    float ft[LT];
    for (int k = 0; k < 4; k++) {
        _mm256_storeu_si256((__m256i *)(it + 8 * k), tot[k]);
        _mm256_storeu_ps(ft + 8 * k, accf[k]);
    }
    char *yrow = pc_row(jb->y, tok);
    float s = jb->s[tok];
    for (int i = 0; i < LT && tile * LT + i < w->n_rows; i++) {
        int64_t j = tile * LT + i;
        if (jb->out_i32)
            ((int32_t *)yrow)[j] = it[i];
        else if (w->lut_d)
            ((float *)yrow)[j] = ft[i] * w->extra_scale / s;
        else
            ((float *)yrow)[j] = (float)it[i] * (w->tensor_scale * w->extra_scale) / s;
    }
}

static void lut_work(void *arg, int64_t begin, int64_t end, int thread_index) {
    (void)thread_index;
    const lut_job *jb = arg;
    for (int64_t tile = begin; tile < end; tile++)
        for (int64_t t = 0; t < jb->n_tok; t++)
            lut_tile(jb, tile, t);
}

bn_status ax_lut_matmul(bn_backend_ctx *ctx, const bn_weight *w, const bn_tensor *x,
                        const bn_tensor *x_scale, bn_tensor *y) {
    int64_t n_tok = pc_n_rows(x), K = w->n_cols;
    size_t tab_bytes = (size_t)n_groups(w) * 32 * (size_t)n_tok;
    size_t s_off = (tab_bytes + 63) / 64 * 64, q_off = s_off + (sizeof(float) * (size_t)n_tok + 63) / 64 * 64;
    uint8_t *scr = pc_scratch_get(ctx, AX_SCR_ACT, q_off + (size_t)K);
    if (!scr)
        return pc_fail(ctx, BN_ERR_NOMEM, "matmul: out of memory for LUT tables");
    float *s = (float *)(scr + s_off);
    int8_t *q = (int8_t *)(scr + q_off);
    for (int64_t t = 0; t < n_tok; t++) {
        const char *xr = pc_row(x, t);
        if (x->type == BN_TYPE_I8) {
            memcpy(q, xr, (size_t)K);
            s[t] = *pc_row_scale(x_scale, x, t);
        } else {
            s[t] = ax_quantize_row((const float *)xr, K, q);
        }
        build_tables(w, q, scr + (size_t)t * (size_t)n_groups(w) * 32);
    }
    lut_job jb = {.w = w, .y = y, .n_tok = n_tok, .tables = scr, .s = s, .out_i32 = y->type == BN_TYPE_I32};
    pc_parallel(ctx, w->lut_tiles, 1, lut_work, &jb);
    pc_scratch_put(ctx, AX_SCR_ACT, scr);
    return BN_OK;
}
