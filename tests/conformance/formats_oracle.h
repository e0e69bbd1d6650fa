/*
 * Independent scalar codecs for the weight formats, written from the format
 * facts in DESIGN.md (and the public TQ1_0 element order), never from any
 * plugin's source. They are the "oracle" the conformance suite checks every
 * plugin against, so they favour obviousness over speed.
 */
#ifndef BN_CONF_FORMATS_ORACLE_H
#define BN_CONF_FORMATS_ORACLE_H

#include <stddef.h>
#include <stdint.h>

#include "bitnet/backend.h"

/* IEEE half / bfloat16 conversions; float -> 16 bit rounds to nearest even. */
uint16_t or_f32_to_f16(float f);
float or_f16_to_f32(uint16_t h);
uint16_t or_f32_to_bf16(float f);
float or_bf16_to_f32(uint16_t h);

/* n floats (a multiple of 32) as Q8_0 blocks by ggml's reference rule:
 * d = amax / 127 stored as f16, q = roundf(x * (1 / d)) (0 when d = 0);
 * with dec, the stored values f16(d) * q go there too. */
void or_encode_q8_0_row(const float *x, int64_t n, uint8_t *out, float *dec);

/* Bytes a n_rows x n_cols matrix takes in `type` (0 if the shape does not
 * fit), computed from the format definitions, not from backend.h. */
size_t or_storage_size(int32_t type, int64_t n_rows, int64_t n_cols);

/* Rows [row0, row0 + nr) of a stored matrix as f32, times extra_scale.
 * Types: F32, F16, BF16, Q8_0, TQ1_0, TQ2_0, I2_S. Returns 0 on success. */
int or_decode_rows(int32_t type, const void *data, int64_t n_rows, int64_t n_cols, int64_t row0,
                   int64_t nr, float extra_scale, float *dst);

/* A ternary matrix split into codes and block scales: value of element
 * (r, c) = t[r * n_cols + c] * d[r * blocks_per_row + c / block].
 * For I2_S the scale is per tensor, stored here once per row (block =
 * n_cols) so that callers need no special case. */
typedef struct or_ternary {
    int64_t n_rows, n_cols, block, blocks_per_row;
    int8_t *t;
    float *d;
} or_ternary;

int or_ternary_unpack(int32_t type, const void *data, int64_t n_rows, int64_t n_cols, or_ternary *out);
void or_ternary_free(or_ternary *tm);

/* Absmean ternarisation of a whole tensor: gamma = mean |W| (summed in
 * double, rounded to float), t = clamp(nearbyintf(W / max(gamma, 1e-8)),
 * -1, 1). t may be NULL. Returns gamma. */
float or_absmean_ternarize(const float *w, int64_t n, int8_t *t);

/* Encoders for I2_S, TQ1_0, TQ2_0 (absmean). dst must hold
 * or_storage_size bytes. Returns 0 on success. */
int or_encode(int32_t type, const float *w, int64_t n_rows, int64_t n_cols, void *dst);

/* Encode one TQ1_0 5-trit group (digits 0..2, first most significant) the
 * way the format stores it: ceil(q * 256 / 243); and the inverse. */
uint8_t or_tq1_pack5(const int *digits5);
void or_tq1_unpack5(uint8_t byte, int *digits5);

#endif
