/*
 * The ternary weight layouts shared by the cpu-avx2 and cpu-neon plugins
 * (compiled into a plugin by bitnet_add_plugin(... MAD), never into the
 * others, which define their own struct bn_weight).
 *
 * MAD layout: ternary weights (I2_S, TQ1_0, TQ2_0) are repacked at
 * weight_prepare with each row padded with zero weights to a multiple of
 * 128 columns, then per 128-column block 32 bytes where byte p holds the
 * 2-bit codes t+1 of columns p, p+32, p+64, p+96 in bits 0-1, 2-3, 4-5,
 * 6-7. Shifts and a mask turn the 32 bytes into vectors of codes that line
 * up with consecutive int8 activations (one 32-byte vector per shift on
 * AVX2, two 16-byte ones on NEON); sum(t q) = sum(code q) - sum(q).
 *
 * LUT layout (TL1 / TL2, lut_layout.c): weights grouped G at a time along a
 * row (TL1: pairs, 9 patterns, index 3 w0 + w1 + 4; TL2: triples,
 * v = 9 w0 + 3 w1 + w2 stored as a 4-bit |v| plus a sign bit). Groups never
 * straddle a scale segment (the whole row for I2_S, a 256-block for TQ).
 * Rows come in tiles of 32; per tile and group, 16 bytes hold the index of
 * row i in the low nibble of byte i and of row 16 + i in the high nibble
 * (TL2 adds a 32-bit word of signs), so one 16-entry table lookup
 * (pshufb, tbl) serves 16 rows. Per token and group the table holds 16
 * int16 entries (the group's weights dotted with its activations,
 * |entry| <= 384) as 16 low bytes then 16 high bytes.
 * Float storage (F32, F16, BF16, Q8_0, Q6_K) is kept byte for byte.
 */
#ifndef BITNET_MAD_WEIGHT_H
#define BITNET_MAD_WEIGHT_H

#include <stddef.h>
#include <stdint.h>

#include "bitnet/backend.h"
#include "plugin_common.h"

#define PC_MAD_BLOCK 128      /* columns per packed MAD block (32 bytes) */
#define PC_MAD_BLOCK_BYTES 32
#define PC_LUT_TILE 32        /* rows per LUT tile */

struct bn_weight {
    char name[128];
    int32_t type;   /* storage bn_type of the source */
    int32_t kernel; /* resolved bn_kernel (never AUTO) */
    int64_t n_rows, n_cols;
    float extra_scale; /* bn_weight_src.scale */

    /* ternary, MAD layout */
    float tensor_scale;     /* I2_S: the float32 scale of the tensor */
    float *block_d;         /* TQ1_0/TQ2_0: n_rows * blocks_per_row fp16 d as f32 */
    int64_t blocks_per_row; /* TQ1_0/TQ2_0: n_cols / 256, else 0 */
    int64_t k_pad;          /* n_cols rounded up to PC_MAD_BLOCK */
    size_t row_bytes;       /* k_pad / 4 */
    uint8_t *codes;         /* n_rows * row_bytes */

    /* ternary, LUT layout, when kernel is TL1 / TL2 */
    int64_t lut_group;    /* weights per group: 2 (TL1) or 3 (TL2) */
    int64_t lut_seg_len;  /* columns per scale segment */
    int64_t lut_n_seg, lut_gps; /* segments per row, groups per segment */
    int64_t lut_tiles;    /* tiles of 32 rows */
    uint8_t *lut_idx;     /* [tile][group][16]: 4-bit index of row i (low) and 16+i (high) */
    uint32_t *lut_sign;   /* TL2: [tile][group] bit i = sign of row i */
    float *lut_d;         /* TQ: [tile][segment][32] block scales, 0 for padding rows */

    /* float types: F32, F16, BF16, Q8_0, Q6_K storage bytes */
    uint8_t *raw;
    size_t raw_row_bytes;
};

/* ---- mad_weights.c: the weight slots ------------------------------------- */
bn_status pc_mad_weight_prepare(bn_backend_ctx *ctx, const bn_weight_src *src, bn_weight **out);
void pc_mad_weight_free(bn_backend_ctx *ctx, bn_weight *w);
bn_status pc_mad_dequantize(bn_backend_ctx *ctx, const bn_weight *w, int64_t row0, bn_tensor *dst);
bn_status pc_mad_get_rows(bn_backend_ctx *ctx, const bn_weight *w, const bn_tensor *ids, bn_tensor *dst);
/* Ternary values of row r (from the MAD codes) into t[n_cols]. */
void pc_mad_ternary_row(const bn_weight *w, int64_t r, int8_t *t);
/* The matmul slot's argument checks (types, shapes, I8 x with its scales). */
bn_status pc_mad_matmul_check(bn_backend_ctx *ctx, const bn_weight *w, const bn_tensor *x,
                              const bn_tensor *x_scale, const bn_tensor *y);
/* Token t of x as int8 q[0..k) (quantised with pc_this_plugin.quantize_row,
 * or copied when x is I8) with zeros up to k_pad; returns its scale s_x. */
float pc_mad_token_q(const bn_weight *w, const bn_tensor *x, const bn_tensor *x_scale, int64_t t, int8_t *q);

/* ---- lut_layout.c --------------------------------------------------------- */
int64_t pc_lut_groups(const bn_weight *w); /* groups per row: segments x groups per segment */
/* Build the LUT layout of a prepared ternary weight from its MAD codes. */
bn_status pc_lut_prepare(bn_backend_ctx *ctx, bn_weight *w);
/* A LUT matmul call: the tables of every token, then the plugin's tile
 * kernel for every (tile of 32 rows, token) over the pool. */
typedef struct pc_lut_job pc_lut_job;
typedef void (*pc_lut_tile_fn)(const pc_lut_job *jb, int64_t tile, int64_t tok);
struct pc_lut_job {
    const bn_weight *w;
    bn_tensor *y;
    int64_t n_tok;
    const uint8_t *tables; /* [n_tok][groups * 32] */
    const float *s;        /* [n_tok] activation scales */
    pc_lut_tile_fn tile;
};
bn_status pc_lut_matmul(bn_backend_ctx *ctx, int slot, const bn_weight *w, const bn_tensor *x,
                        const bn_tensor *x_scale, bn_tensor *y, pc_lut_tile_fn tile);
/* y of (tile row i, token) from the tile's integer total and TQ float sum. */
void pc_lut_store(const bn_weight *w, bn_tensor *y, int64_t tile, int64_t tok, float s_x, const int32_t *itot,
                  const float *ftot);

#endif
