/*
 * Shared declarations of the cpu-avx512 plugin (never included outside
 * plugins/cpu-avx512/).
 *
 * Every file except entry.c is compiled with AVX-512 F/BW/VL (+FMA, F16C)
 * and runs only after score() has seen those bits; the VNNI kernels live in
 * files of their own built with -mavx512vnni and are picked at init from
 * hw->isa, so nothing here executes an instruction the CPU lacks.
 *
 * Prepared ternary weights (MAD layout): every row is padded to k_pad
 * columns (a multiple of 256, code 1 = t 0) and rows to a multiple of 4.
 * A 256-column block of one row is a 64-byte unit whose byte i = 32h + m
 * holds, at bits 2n, the code t+1 of column 128h + 32n + m (the TQ2_0 qs
 * order; I2_S bytes become it by reversing their 2-bit fields). Units are
 * interleaved by groups of 4 rows: [row group][block][row in group][64 B],
 * so a 4-row GEMV tile reads one sequential stream. The kernels unpack code
 * group n with one shift and mask, and the activations are permuted once
 * per token to match (see a5_stage_ternary).
 *
 * Prepared ternary weights (LUT layout, kernel TL1 / TL2; lut.c): 16-bit
 * index words, one per row and word of columns; codes is then NULL.
 */
#ifndef BITNET_A5_INTERNAL_H
#define BITNET_A5_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "bitnet/backend.h"
#include "plugin_common.h"

#if defined(__GNUC__)
#define A5_INLINE static inline __attribute__((always_inline))
#else
#define A5_INLINE static inline
#endif

#define A5_ALIGN PC_ALIGN
#define A5_BLK 256      /* columns per packed unit */
#define A5_UNIT 64      /* bytes per packed unit */
#define A5_RG 4         /* rows per interleaved group */
#define A5_TOK_PASS 64  /* tokens staged per pass */
#define A5_LUT_SUB 32    /* rows per LUT sub-tile: one vpermw */
#define A5_LUT_NSUB 4    /* sub-tiles per LUT tile */
#define A5_LUT_TILE (A5_LUT_SUB * A5_LUT_NSUB)

struct bn_backend_ctx {
    pc_ctx pc; /* the skeleton's part (plugin_common.h); first */
    int has_vnni;
    int has_vbmi;
};
/* The context's scratch areas (pc_scratch_get): activation staging of the
 * matmuls, attention scores, float weights' token buffers. */
enum { A5_SCR_STAGE = 0, A5_SCR_ATTN, A5_SCR_FLOAT, A5_SCR_COUNT };
_Static_assert(A5_SCR_COUNT <= PC_SCRATCH_SLOTS, "more scratch areas than the context has");
_Static_assert(offsetof(struct bn_backend_ctx, pc) == 0, "the skeleton's pc_ctx comes first");

struct bn_weight {
    char name[128];
    int32_t type;   /* storage bn_type of the source */
    int32_t kernel; /* resolved bn_kernel (never AUTO) */
    int64_t n_rows, n_cols;
    float extra_scale;

    /* ternary, MAD layout (see top of file) */
    float tensor_scale; /* I2_S */
    int64_t k_pad, n_blk, rows_pad;
    uint8_t *codes;  /* rows_pad / 4 * n_blk * 256 bytes */
    float *block_d;  /* TQ1_0/TQ2_0: [rows_pad][n_blk], 0 for padded rows */

    /* ternary, LUT layout (lut.c), kernel TL1 / TL2 */
    int32_t lut_g;        /* weights per group: 2 (TL1) or 3 (TL2) */
    int32_t lut_gw;       /* groups per index word: 4 (TL1) or 3 (TL2) */
    int64_t lut_seg_len;  /* columns per scale segment: n_cols (I2_S) or 256 (TQ) */
    int64_t lut_n_seg, lut_wps, lut_n_words; /* segments, words per segment, words per row */
    int64_t lut_chunk, lut_n_chunks; /* words per chunk (the last may be short), chunks */
    int64_t lut_tiles;    /* tiles of A5_LUT_TILE rows (the last may be short) */
    int64_t lut_rows32;   /* n_rows rounded up to a whole sub-tile */
    uint16_t *lut_idx;    /* [chunk][tile][word][sub-tile][32 rows] */
    float *lut_d;         /* TQ: [tile][segment][sub-tile][even rows | odd rows] */

    /* Q8_0: int8 quants row-major and fp16 block scales */
    int8_t *q8;
    uint16_t *q8_d; /* [n_rows][n_cols / 32] */

    /* F32, F16, BF16, Q6_K: stored bytes unchanged */
    uint8_t *raw;
    size_t raw_row_bytes;
};

/* tensor views, formats, encoders: plugins/common/plugin_common.h */

/* ---- weights.c / repack.c ------------------------------------------------- */
bn_status a5_weight_prepare(bn_backend_ctx *ctx, const bn_weight_src *src, bn_weight **out);
void a5_weight_free(bn_backend_ctx *ctx, bn_weight *w);
bn_status a5_dequantize(bn_backend_ctx *ctx, const bn_weight *w, int64_t row0, bn_tensor *dst);
bn_status a5_get_rows(bn_backend_ctx *ctx, const bn_weight *w, const bn_tensor *ids, bn_tensor *dst);
/* Repack a ternary source into w->codes / w->block_d (MAD layout). */
bn_status a5_repack_ternary(bn_backend_ctx *ctx, const bn_weight_src *src, bn_weight *w);
/* What both ternary layouts share: k_pad, n_blk, rows_pad, tensor_scale, and
 * block_d allocated (zero) for TQ sources. */
bn_status a5_ternary_setup(bn_backend_ctx *ctx, const bn_weight_src *src, bn_weight *w);
/* Row r of the source as k_pad ternary values (zero past n_cols) and, for
 * TQ, its n_blk block scales in d. Returns -1, or the column of an invalid
 * code 3 (then report it with a5_bad_code). Thread-safe. */
int64_t a5_source_row(const bn_weight_src *src, const bn_weight *w, int64_t r, int8_t *t, float *d);
bn_status a5_bad_code(bn_backend_ctx *ctx, const bn_weight *w, int64_t r, int64_t c);
/* Ternary value t of row r, column c of a prepared weight (either layout). */
int a5_ternary_at(const bn_weight *w, int64_t r, int64_t c);

A5_INLINE int a5_is_ternary(const bn_weight *w) { return w->codes != NULL || w->lut_idx != NULL; }

/* ---- lut.c / lut_matmul.c: the TL1 / TL2 kernels -------------------------- */
/* Build the LUT layout (and block_d) straight from the source. */
bn_status a5_lut_prepare(bn_backend_ctx *ctx, const bn_weight_src *src, bn_weight *w);
int a5_lut_ternary_at(const bn_weight *w, int64_t r, int64_t c);
/* Sub-tiles of 32 rows in tile `tile` (A5_LUT_NSUB except maybe the last). */
A5_INLINE int64_t a5_lut_tile_subs(const bn_weight *w, int64_t tile) {
    int64_t subs = (w->n_rows - tile * A5_LUT_TILE + A5_LUT_SUB - 1) / A5_LUT_SUB;
    return subs < A5_LUT_NSUB ? subs : A5_LUT_NSUB;
}
/* Words in chunk c, and where chunk c of tile `tile` starts in lut_idx. */
A5_INLINE int64_t a5_lut_chunk_words(const bn_weight *w, int64_t c) {
    int64_t left = w->lut_n_words - c * w->lut_chunk;
    return left < w->lut_chunk ? left : w->lut_chunk;
}
A5_INLINE size_t a5_lut_block_off(const bn_weight *w, int64_t c, int64_t tile) {
    return (size_t)(c * w->lut_chunk * w->lut_rows32 + tile * A5_LUT_TILE * a5_lut_chunk_words(w, c));
}
bn_status a5_lut_matmul(bn_backend_ctx *ctx, const bn_weight *w, const bn_tensor *x,
                        const bn_tensor *x_scale, bn_tensor *y);

/* ---- quant_act.c --------------------------------------------------------- */
float a5_quantize_row(const float *x, int64_t n, int8_t *q);

/* ---- matmul.c / matmul_ternary.c / matmul_float.c ------------------------ */
bn_status a5_matmul(bn_backend_ctx *ctx, const bn_weight *w, const bn_tensor *x,
                    const bn_tensor *x_scale, bn_tensor *y);

/* Staged activations of one pass of tokens for a ternary weight. */
typedef struct a5_tjob {
    const bn_weight *w;
    const int8_t *qp;        /* [n_tok][k_pad] permuted int8 activations */
    const int32_t *nsumq;    /* [n_tok][n_blk][16] minus the lane sums of qp */
    const int32_t *nsumq_tot;/* [n_tok] minus the sum of q */
    const float *s;          /* [n_tok] s_x */
    int64_t n_tok, tok0;
    bn_tensor *y;
    int out_i32;
    int blockwise; /* TQ weights, F32 out: per-block scales */
} a5_tjob;
/* Row groups [g0, g1) of all tokens of the job (ternary_vnni.c / ternary_bw.c). */
void a5_ternary_rows_vnni(const a5_tjob *jb, int64_t g0, int64_t g1);
void a5_ternary_rows_bw(const a5_tjob *jb, int64_t g0, int64_t g1);

bn_status a5_matmul_ternary(bn_backend_ctx *ctx, const bn_weight *w, const bn_tensor *x,
                            const bn_tensor *x_scale, bn_tensor *y);
bn_status a5_matmul_q8(bn_backend_ctx *ctx, const bn_weight *w, const bn_tensor *x,
                       const bn_tensor *x_scale, bn_tensor *y);
bn_status a5_matmul_float(bn_backend_ctx *ctx, const bn_weight *w, const bn_tensor *x, bn_tensor *y);

/* ---- norm_rope_act.c / attention.c ---------------------------------------- */
bn_status a5_rms_norm(bn_backend_ctx *ctx, const bn_tensor *x, const bn_tensor *weight, float eps,
                      bn_tensor *dst);
bn_status a5_rope(bn_backend_ctx *ctx, bn_tensor *x, const bn_tensor *pos, const bn_rope_args *args);
bn_status a5_ffn_act(bn_backend_ctx *ctx, const bn_tensor *gate, const bn_tensor *up, int32_t act,
                     bn_tensor *dst);
bn_status a5_add(bn_backend_ctx *ctx, const bn_tensor *a, const bn_tensor *b, bn_tensor *dst);
bn_status a5_copy(bn_backend_ctx *ctx, const bn_tensor *src, bn_tensor *dst);
/* The implementation behind both attention slots (pc_attention). */
bn_status a5_attention_run(bn_backend_ctx *ctx, const bn_tensor *q, const bn_tensor *k, const bn_tensor *v,
                           const bn_attn_args *a, const pc_attn_map *map, bn_tensor *out);

#endif
