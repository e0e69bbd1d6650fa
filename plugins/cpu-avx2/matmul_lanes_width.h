/*
 * The per-pass kernel of matmul_lanes.c for one lane count, included once
 * per width with these defined (see there):
 *   LN        tokens per pass, one per 16-bit lane (16: ymm, 8: xmm)
 *   VI        the vector of LN int16 lanes
 *   V_LOAD, V_STORE, V_ADD, V_SUB, V_ZERO   its aligned load / store and
 *             16-bit add / subtract / zero
 *   V_HALF(v, h)  lanes 8h..8h+7 of v as an __m128i
 *   SH        log2 of one combination's table row (8 groups x LN x 2 bytes)
 *   FN(name)  name with the width's suffix
 * Everything here is static; the parameters are undefined at the end, so
 * the next width defines them afresh.
 */
#define ENTRY_BYTES (LN * 2)                    /* one table entry: LN int16 */
#define W_TABLE_BYTES (COMBOS * HB_GROUPS * ENTRY_BYTES)
#define W_ACC_BYTES (LN * 4)                    /* per row: LN int32 or float lanes */

/* The 81 sums of one code byte's four columns a, b, c, d. */
AX_INLINE void FN(build_group)(const int16_t *cols, int64_t c0, VI *out) {
    const VI *x = (const VI *)(cols + c0 * LN);
    const VI z = V_ZERO();
    VI t9[9], t27[27];
    VI a = x[0], b = x[32], c = x[64], d = x[96];
    VI t3[3] = {V_SUB(z, a), z, a};
    for (int i = 0; i < 3; i++) {
        t9[i] = V_SUB(t3[i], b);
        t9[i + 3] = t3[i];
        t9[i + 6] = V_ADD(t3[i], b);
    }
    for (int i = 0; i < 9; i++) {
        t27[i] = V_SUB(t9[i], c);
        t27[i + 9] = t9[i];
        t27[i + 18] = V_ADD(t9[i], c);
    }
    for (int i = 0; i < 27; i++) {
        V_STORE(out + i * HB_GROUPS, V_SUB(t27[i], d));
        V_STORE(out + (i + 27) * HB_GROUPS, t27[i]);
        V_STORE(out + (i + 54) * HB_GROUPS, V_ADD(t27[i], d));
    }
}

/* Sum of the 8 lookups of one row in one part (LN lanes, int16): the
 * combination number m of code byte g picks entry [m][g] of the part's
 * table, at byte offset (m << SH) + g * ENTRY_BYTES (the 8 numbers come in
 * one 64-bit load and are cut out with shifts: the load ports are the busy
 * ones). */
AX_INLINE VI FN(row_lookup)(const uint8_t *tab, const uint8_t *p) {
    uint64_t c;
    memcpy(&c, p, sizeof c);
#define AX_ENTRY(g) \
    ((const VI *)(tab + (((g) ? c >> (8 * (g) - SH) : c << SH) & (0xffu << SH)) + (g) * ENTRY_BYTES))
    VI a0 = V_ADD(V_LOAD(AX_ENTRY(0)), V_LOAD(AX_ENTRY(2)));
    VI a1 = V_ADD(V_LOAD(AX_ENTRY(1)), V_LOAD(AX_ENTRY(3)));
    a0 = V_ADD(a0, V_ADD(V_LOAD(AX_ENTRY(4)), V_LOAD(AX_ENTRY(6))));
    a1 = V_ADD(a1, V_ADD(V_LOAD(AX_ENTRY(5)), V_LOAD(AX_ENTRY(7))));
#undef AX_ENTRY
    return V_ADD(a0, a1);
}

/* One row's LN sums as LN / 8 vectors of output bits (tokens 8h..8h+7):
 * the same float operations as the MAD kernel (acc * scale, then divided
 * by s_x), or the int32 sums as they are. */
AX_INLINE void FN(row_out)(const lanes_job *jb, const uint8_t *a, __m256 scale, const __m256 *sx, __m256 *out) {
    for (int h = 0; h < LN / 8; h++) {
        if (jb->y->type == BN_TYPE_I32)
            out[h] = _mm256_load_ps((const float *)a + 8 * h); /* bits only */
        else
            out[h] = _mm256_div_ps(_mm256_mul_ps(jb->scaled ? _mm256_load_ps((const float *)a + 8 * h)
                                                            : _mm256_cvtepi32_ps(_mm256_load_si256((const __m256i *)a + h)),
                                                 scale),
                                   sx[h]);
    }
}

/* Lanes t of rows r0..r1 as y[t][j]: 8 rows at a time turned around, so
 * that each token gets 8 consecutive outputs in one store instead of 8
 * scattered 4-byte ones (measured: see matmul_lanes.c). */
static void FN(write_rows)(const lanes_job *jb, const uint8_t *acc, int64_t r0, int64_t r1) {
    const bn_weight *w = jb->w;
    __m256 scale = _mm256_set1_ps(jb->scaled ? w->extra_scale : w->tensor_scale * w->extra_scale);
    __m256 sx[LN / 8];
    for (int h = 0; h < LN / 8; h++) {
        float v[8];
        for (int i = 0; i < 8; i++)
            v[i] = 8 * h + i < jb->nt ? jb->s[jb->t0 + 8 * h + i] : 1.0f;
        sx[h] = _mm256_loadu_ps(v);
    }
    int64_t j = r0;
    for (; j + 8 <= r1; j += 8) {
        __m256 v[LN / 8][8];
        for (int i = 0; i < 8; i++) {
            __m256 o[LN / 8];
            FN(row_out)(jb, acc + (j + i - r0) * W_ACC_BYTES, scale, sx, o);
            for (int h = 0; h < LN / 8; h++)
                v[h][i] = o[h];
        }
        for (int h = 0; h < LN / 8 && 8 * h < jb->nt; h++) {
            transpose8(v[h]);
            for (int64_t t = 8 * h; t < jb->nt && t < 8 * h + 8; t++)
                _mm256_storeu_ps((float *)(pc_row(jb->y, jb->t0 + t) + j * 4), v[h][t - 8 * h]);
        }
    }
    for (; j < r1; j++) {
        float out[LN];
        __m256 o[LN / 8];
        FN(row_out)(jb, acc + (j - r0) * W_ACC_BYTES, scale, sx, o);
        for (int h = 0; h < LN / 8; h++)
            _mm256_storeu_ps(out + 8 * h, o[h]);
        for (int64_t t = 0; t < jb->nt; t++)
            memcpy(pc_row(jb->y, jb->t0 + t) + j * 4, &out[t], 4);
    }
}

/* Rows 0..n of one part: 8 lookups per row into its 16-bit sums. */
static void FN(part_rows)(const uint8_t *tab, VI *acc16, const uint8_t *combos, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        acc16[i] = V_ADD(acc16[i], FN(row_lookup)(tab, combos + i * COMBO_BYTES));
}

/* Widens the block's 16-bit sums into the row accumulators (times the
 * block scale d when there is one) and clears them. */
static void FN(widen_rows)(const lanes_job *jb, int64_t blk, VI *acc16, uint8_t *acc, int64_t r0, int64_t r1) {
    const bn_weight *w = jb->w;
    for (int64_t j = r0; j < r1; j++) {
        VI s = acc16[j - r0];
        acc16[j - r0] = V_ZERO();
        for (int h = 0; h < LN / 8; h++) {
            __m256i v = _mm256_cvtepi16_epi32(V_HALF(s, h));
            if (jb->scaled) {
                __m256 d = _mm256_set1_ps(w->block_d[j * w->blocks_per_row + blk * AX_BLOCK / 256]);
                float *a = (float *)(acc + (j - r0) * W_ACC_BYTES) + 8 * h;
                _mm256_store_ps(a, _mm256_fmadd_ps(_mm256_cvtepi32_ps(v), d, _mm256_load_ps(a)));
            } else {
                __m256i *a = (__m256i *)(acc + (j - r0) * W_ACC_BYTES) + h;
                _mm256_store_si256(a, _mm256_add_epi32(v, _mm256_load_si256(a)));
            }
        }
    }
}

static void FN(lanes_work)(void *arg, int64_t begin, int64_t end, int thread_index) {
    (void)thread_index;
    const lanes_job *jb = arg;
    const bn_weight *w = jb->w;
    int64_t n_blk = w->k_pad / AX_BLOCK;
    for (int64_t ch = begin; ch < end; ch++) {
        int64_t c0 = w->n_rows * ch / jb->n_chunks, c1 = w->n_rows * (ch + 1) / jb->n_chunks;
        uint8_t *tab = jb->scratch + (size_t)ch * jb->chunk_bytes;
        uint8_t *acc = tab + W_TABLE_BYTES;
        VI *acc16 = (VI *)(acc + TILE_ROWS * W_ACC_BYTES);
        uint8_t *combos = (uint8_t *)(acc16 + TILE_ROWS);
        /* tiles of rows whose sums and code lines stay in L2 while every
         * part of a pair of blocks passes over them */
        int64_t n_tiles = (c1 - c0 + TILE_ROWS - 1) / TILE_ROWS; /* of equal size: no small last one */
        for (int64_t ti = 0; ti < n_tiles; ti++) {
            int64_t r0 = c0 + (c1 - c0) * ti / n_tiles, r1 = c0 + (c1 - c0) * (ti + 1) / n_tiles;
            memset(acc, 0, (size_t)TILE_ROWS * (W_ACC_BYTES + ENTRY_BYTES));
            for (int64_t blk = 0; blk < n_blk; blk++) {
                if (blk % 2 == 0)
                    copy_combos(w, blk, blk + 1 < n_blk, r0, r1, combos);
                for (int part = 0; part < PARTS; part++) {
                    for (int g = 0; g < HB_GROUPS; g++)
                        FN(build_group)(jb->cols, blk * AX_BLOCK + part * HB_GROUPS + g, (VI *)tab + g);
                    FN(part_rows)(tab, acc16, combos + (blk % 2) * AX_BLOCK_BYTES + part * HB_GROUPS, r1 - r0);
                }
                /* a block: 32 lookups, |sum| <= 128 * 128 = 2^14; two when no q is -128 (TQ's
                 * 256-block scale covers both) */
                if (!jb->pair_widen || blk % 2 == 1 || blk + 1 == n_blk)
                    FN(widen_rows)(jb, blk, acc16, acc, r0, r1);
            }
            FN(write_rows)(jb, acc, r0, r1);
        }
    }
}

#undef ENTRY_BYTES
#undef W_TABLE_BYTES
#undef W_ACC_BYTES
#undef LN
#undef VI
#undef V_LOAD
#undef V_STORE
#undef V_ADD
#undef V_SUB
#undef V_ZERO
#undef V_HALF
#undef SH
#undef FN
