/*
 * Encoders: n_rows x n_cols f32 -> storage bytes, exactly in the layouts
 * formats.c decodes.
 *
 * Ternary (I2_S, TQ1_0, TQ2_0) use absmean ternarisation over the WHOLE
 * tensor: gamma = mean |W| (summed in double), t = clamp(nearbyint(W /
 * max(gamma, 1e-8)), -1, 1), rounding half to even. The stored scale is
 * gamma, except when every non-zero |W| is one and the same value a (the
 * input is already ternary times one scale): then it is a, so such input
 * round-trips exactly (gamma would shrink it by the share of zeros). I2_S
 * stores the scale as float32; TQ1_0/TQ2_0 store fp16(scale) in every
 * block, so the formats agree up to the fp16 rounding of the scale.
 * Q8_0: per block d = max|x| / 127, q = nearbyint(x / d) (0 when d = 0),
 * d stored as fp16. F32/F16/BF16: plain conversion (round to nearest even).
 */
#include <math.h>
#include <string.h>

#include "plugin_common.h"

/* t = clamp(round_half_even(w / den), -1, 1); NaN -> 0. */
static int8_t ternarise(float w, float den) {
    float r = nearbyintf(w / den);
    return (int8_t)(r > 1.0f ? 1 : r < -1.0f ? -1 : (r == r ? (int)r : 0));
}

/* Scale of the tensor per the rule above. */
static float ternary_scale(const float *src, uint64_t n) {
    double sum = 0.0;
    float common = -1.0f; /* the one non-zero |W| seen so far; NAN once they differ */
    for (uint64_t i = 0; i < n; i++) {
        float a = fabsf(src[i]);
        sum += a;
        if (a != 0.0f) {
            if (common < 0.0f)
                common = a;
            else if (common != a)
                common = NAN;
        }
    }
    if (common > 0.0f)
        return common;
    return (float)(sum / (double)n);
}

static void encode_i2s(const float *src, uint64_t n, float scale, uint8_t *dst) {
    float den = fmaxf(scale, 1e-8f);
    memset(dst, 0, (size_t)(n / 4 + BN_I2S_TRAILER));
    for (uint64_t g = 0; g < n; g++) {
        uint64_t j = g % BN_I2S_BLOCK;
        int code = ternarise(src[g], den) + 1;
        dst[(g / BN_I2S_BLOCK) * 32 + j % 32] |= (uint8_t)(code << (6 - 2 * (int)(j / 32)));
    }
    pc_wrf32(dst + n / 4, scale);
}

static void encode_tq2_block(const float *x, float den, uint16_t d, uint8_t *blk) {
    memset(blk, 0, 64);
    for (int i = 0; i < BN_QK_K; i++) {
        int code = ternarise(x[i], den) + 1;
        blk[32 * (i / 128) + i % 32] |= (uint8_t)(code << (2 * ((i % 128) / 32)));
    }
    pc_wr16(blk + 64, d);
}

/* One TQ1_0 byte from `count` codes (first most significant), padded with
 * zero digits to 5, rescaled to ceil(q * 256 / 243). */
static uint8_t tq1_byte(const int *codes, int count) {
    unsigned q = 0;
    for (int n = 0; n < 5; n++)
        q = q * 3 + (unsigned)(n < count ? codes[n] : 0);
    return (uint8_t)((q * 256 + 242) / 243);
}

static void encode_tq1_block(const float *x, float den, uint16_t d, uint8_t *blk) {
    int codes[5];
    for (int m = 0; m < 32; m++) { /* values m + 32n */
        for (int n = 0; n < 5; n++)
            codes[n] = ternarise(x[m + 32 * n], den) + 1;
        blk[m] = tq1_byte(codes, 5);
    }
    for (int m = 0; m < 16; m++) { /* values 160 + m + 16n */
        for (int n = 0; n < 5; n++)
            codes[n] = ternarise(x[160 + m + 16 * n], den) + 1;
        blk[32 + m] = tq1_byte(codes, 5);
    }
    for (int m = 0; m < 4; m++) { /* values 240 + m + 4n */
        for (int n = 0; n < 4; n++)
            codes[n] = ternarise(x[240 + m + 4 * n], den) + 1;
        blk[48 + m] = tq1_byte(codes, 4);
    }
    pc_wr16(blk + 52, d);
}

/* ggml's reference Q8_0 rule, so a block means the same bytes as in
 * llama.cpp's files: d = amax / 127, q = roundf(x * (1 / d)) (ties away from
 * zero, by the reciprocal); tests/ggufpy checks it against gguf-py. */
static void encode_q8_0_block(const float *x, uint8_t *blk) {
    float amax = 0.0f;
    for (int i = 0; i < BN_QK_Q8_0; i++)
        amax = fmaxf(amax, fabsf(x[i]));
    float d = amax / 127.0f, id = d > 0.0f ? 1.0f / d : 0.0f;
    pc_wr16(blk, pc_f32_to_f16(d));
    for (int i = 0; i < BN_QK_Q8_0; i++) {
        float r = roundf(x[i] * id);
        r = r > 127.0f ? 127.0f : r < -127.0f ? -127.0f : r;
        blk[2 + i] = (uint8_t)(int8_t)(r == r ? (int)r : 0);
    }
}

void pc_encode_q8_0_row(const float *x, int64_t n, uint8_t *out) {
    for (int64_t b = 0; b < n / BN_QK_Q8_0; b++)
        encode_q8_0_block(x + b * BN_QK_Q8_0, out + b * 34);
}

bn_status pc_encode(bn_backend_ctx *ctx, int32_t type, const float *src, int64_t n_rows,
                     int64_t n_cols, void *dst, size_t dst_size, size_t *written) {
    if (written)
        *written = 0;
    if (!src || !dst)
        return pc_fail(ctx, BN_ERR_INVALID, "encode: NULL src or dst");
    if (type == BN_TYPE_Q6_K || type == BN_TYPE_TL1 || type == BN_TYPE_TL2)
        return pc_fail(ctx, BN_ERR_UNSUPPORTED, "encode: no encoder for %s", bn_type_name(type));
    uint64_t size = bn_storage_size(type, n_rows, n_cols);
    if (size == 0)
        return pc_fail(ctx, BN_ERR_INVALID, "encode: %lld x %lld does not fit type %s (%d)",
                        (long long)n_rows, (long long)n_cols, bn_type_name(type), (int)type);
    if (dst_size < size)
        return pc_fail(ctx, BN_ERR_INVALID, "encode: dst holds %zu bytes, %s %lld x %lld needs %llu",
                        dst_size, bn_type_name(type), (long long)n_rows, (long long)n_cols,
                        (unsigned long long)size);
    uint64_t n = (uint64_t)n_rows * (uint64_t)n_cols;
    uint8_t *out = dst;
    switch (type) {
    case BN_TYPE_F32:
        for (uint64_t i = 0; i < n; i++)
            pc_wrf32(out + 4 * i, src[i]);
        break;
    case BN_TYPE_F16:
        for (uint64_t i = 0; i < n; i++)
            pc_wr16(out + 2 * i, pc_f32_to_f16(src[i]));
        break;
    case BN_TYPE_BF16:
        for (uint64_t i = 0; i < n; i++)
            pc_wr16(out + 2 * i, pc_f32_to_bf16(src[i]));
        break;
    case BN_TYPE_Q8_0:
        pc_encode_q8_0_row(src, (int64_t)n, out);
        break;
    case BN_TYPE_I2_S:
        encode_i2s(src, n, ternary_scale(src, n), out);
        break;
    case BN_TYPE_TQ1_0:
    case BN_TYPE_TQ2_0: {
        float scale = ternary_scale(src, n), den = fmaxf(scale, 1e-8f);
        uint16_t d = pc_f32_to_f16(scale);
        int tq1 = type == BN_TYPE_TQ1_0;
        for (uint64_t b = 0; b < n / BN_QK_K; b++) {
            if (tq1)
                encode_tq1_block(src + b * BN_QK_K, den, d, out + b * 54);
            else
                encode_tq2_block(src + b * BN_QK_K, den, d, out + b * 66);
        }
        break;
    }
    default:
        return pc_fail(ctx, BN_ERR_UNSUPPORTED, "encode: no encoder for %s (%d)", bn_type_name(type),
                        (int)type);
    }
    if (written)
        *written = (size_t)size;
    return BN_OK;
}
