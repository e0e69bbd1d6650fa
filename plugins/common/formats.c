/*
 * Number formats and storage decoders.
 *
 * fp16 and bf16 conversions are done on the bits (no hardware or compiler
 * half-float support needed), covering subnormals, infinities and NaNs;
 * f32 -> fp16/bf16 rounds to nearest, ties to even. All multi-byte fields
 * of the storage formats are little-endian (GGUF); loads go through
 * memcpy so unaligned file data is fine.
 *
 * Storage layouts decoded here (one stored row = n_cols values):
 *   Q8_0  blocks of 32: fp16 d, then 32 int8 q;  value = d * q.
 *   Q6_K  blocks of 256: ql[128], qh[64], int8 scales[16], fp16 d. Each
 *         half of 128 values uses 64 ql bytes, 32 qh bytes, 8 scales: for
 *         l in [0,32) the 6-bit codes of values l, l+32, l+64, l+96 are the
 *         low nibble of ql[l], low nibble of ql[l+32], high nibble of ql[l],
 *         high nibble of ql[l+32], each with 2 high bits from qh[l] bits
 *         0-1, 2-3, 4-5, 6-7; value = d * scale[l/16 + 2j] * (code - 32)
 *         for the j-th of the four (j = 0..3).
 *   TQ2_0 blocks of 256: qs[64], fp16 d. Value i of the block: chunk
 *         c = i/128 (32 bytes each), m = i%32, n = (i%128)/32; the 2-bit
 *         code is bits 2n..2n+1 of qs[32c + m]; value = (code - 1) * d.
 *   TQ1_0 blocks of 256: qs[48], qh[4], fp16 d. A byte packs a base-3
 *         number (digits = code in {0,1,2}, first digit most significant)
 *         rescaled to a byte as ceil(q * 256 / 243) (qh: the 4 digits are
 *         followed by a 0 digit, i.e. q4 * 3, same rescale). Digit n of a
 *         byte b is ((uint8_t)(b * 3^n) * 3) >> 8. Which value sits where:
 *           qs[0..32):  byte m, digit n -> value m + 32n        (values 0..159)
 *           qs[32..48): byte m, digit n -> value 160 + m + 16n  (values 160..239)
 *           qh[0..4):   byte m, digit n -> value 240 + m + 4n   (values 240..255)
 *         value = (digit - 1) * d. (Checked against the public ggml
 *         definition of quantize_row_tq1_0 / dequantize_row_tq1_0.)
 *   I2_S  the whole tensor flattened row-major, blocks of 128 values ->
 *         32 bytes; byte p of a block holds values p, p+32, p+64, p+96 in
 *         bits 7-6, 5-4, 3-2, 1-0; code = t + 1 (3 is invalid); the float32
 *         tensor scale follows the packed bytes (n/4), then padding to 32.
 */
#include <string.h>

#include "plugin_common.h"

static uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

float pc_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    if (exp == 0x1f) /* inf / NaN: keep the payload */
        return bits_f32(sign | 0x7f800000u | (mant << 13));
    if (exp == 0) {
        if (mant == 0)
            return bits_f32(sign);
        /* subnormal: mant * 2^-24; normalise into an f32 normal */
        int e = -14;
        while (!(mant & 0x400u)) {
            mant <<= 1;
            e--;
        }
        mant &= 0x3ffu;
        return bits_f32(sign | ((uint32_t)(e + 127) << 23) | (mant << 13));
    }
    return bits_f32(sign | ((exp + 112u) << 23) | (mant << 13));
}

/* Round `v` right by `shift` bits to nearest, ties to even. */
static uint32_t shift_rne(uint32_t v, int shift) {
    uint32_t r = v >> shift;
    uint32_t rem = v & ((1u << shift) - 1u);
    uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (r & 1u)))
        r++;
    return r;
}

uint16_t pc_f32_to_f16(float f) {
    uint32_t x = f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t a = x & 0x7fffffffu;
    if (a > 0x7f800000u) /* NaN: keep the top payload bits, force quiet */
        return (uint16_t)(sign | 0x7e00u | ((a >> 13) & 0x3ffu));
    if (a >= 0x47800000u) /* >= 65536 (and inf): beyond every finite rounding */
        return (uint16_t)(sign | 0x7c00u);
    if (a >= 0x38800000u) { /* f16 normal range: rebias exponent 127 -> 15 */
        uint32_t r = shift_rne(a - (112u << 23), 13);
        if (r >= 0x7c00u) /* rounded up past the largest finite */
            r = 0x7c00u;
        return (uint16_t)(sign | r);
    }
    if (a <= 0x33000000u) /* <= 2^-25: rounds to zero (the tie goes to even 0) */
        return sign;
    /* subnormal result in units of 2^-24: value = m * 2^(e - 150) */
    uint32_t e = a >> 23;
    uint32_t m = (a & 0x7fffffu) | 0x800000u;
    return (uint16_t)(sign | shift_rne(m, (int)(126u - e)));
}

float pc_bf16_to_f32(uint16_t h) {
    return bits_f32((uint32_t)h << 16);
}

uint16_t pc_f32_to_bf16(float f) {
    uint32_t x = f32_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) /* NaN: truncate and force quiet */
        return (uint16_t)((x >> 16) | 0x40u);
    /* round to nearest even on the dropped 16 bits; overflow becomes inf */
    return (uint16_t)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

uint16_t pc_rd16(const uint8_t *p) {
    return (uint16_t)(p[0] | (p[1] << 8));
}

float pc_rdf32(const uint8_t *p) {
    return bits_f32((uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
                    ((uint32_t)p[3] << 24));
}

void pc_wr16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)(v & 0xff);
    p[1] = (uint8_t)(v >> 8);
}

void pc_wrf32(uint8_t *p, float v) {
    uint32_t u = f32_bits(v);
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(u >> (8 * i));
}

size_t pc_row_bytes(int32_t type, int64_t n_cols) {
    int64_t be = bn_type_block_elems(type), bb = bn_type_block_bytes(type);
    if (be <= 0 || n_cols % be)
        return 0;
    return (size_t)(n_cols / be * bb);
}

static void decode_q8_0(const bn_backend_ctx *ctx, const uint8_t *row, int64_t n, float *out) {
    for (int64_t b = 0; b < n / BN_QK_Q8_0; b++) {
        const uint8_t *blk = row + b * 34;
        float d = pc_f16_lut(ctx)[pc_rd16(blk)];
        for (int i = 0; i < BN_QK_Q8_0; i++)
            out[b * BN_QK_Q8_0 + i] = d * (float)(int8_t)blk[2 + i];
    }
}

static void decode_q6_k(const bn_backend_ctx *ctx, const uint8_t *row, int64_t n, float *out) {
    for (int64_t b = 0; b < n / BN_QK_K; b++) {
        const uint8_t *blk = row + b * 210;
        const uint8_t *ql = blk, *qh = blk + 128;
        const int8_t *sc = (const int8_t *)(blk + 192);
        float d = pc_f16_lut(ctx)[pc_rd16(blk + 208)];
        float *y = out + b * BN_QK_K;
        for (int half = 0; half < 2; half++) {
            for (int l = 0; l < 32; l++) {
                int lo[4] = {ql[l] & 0xf, ql[l + 32] & 0xf, ql[l] >> 4, ql[l + 32] >> 4};
                for (int j = 0; j < 4; j++) {
                    int code = lo[j] | (((qh[l] >> (2 * j)) & 3) << 4);
                    y[l + 32 * j] = d * (float)sc[l / 16 + 2 * j] * (float)(code - 32);
                }
            }
            ql += 64;
            qh += 32;
            sc += 8;
            y += 128;
        }
    }
}

void pc_decode_float_row(const bn_backend_ctx *ctx, int32_t type, const uint8_t *row, int64_t n,
                          float *out) {
    switch (type) {
    case BN_TYPE_F32:
        for (int64_t i = 0; i < n; i++)
            out[i] = pc_rdf32(row + 4 * i);
        break;
    case BN_TYPE_F16:
        for (int64_t i = 0; i < n; i++)
            out[i] = pc_f16_lut(ctx)[pc_rd16(row + 2 * i)];
        break;
    case BN_TYPE_BF16:
        for (int64_t i = 0; i < n; i++)
            out[i] = pc_bf16_to_f32(pc_rd16(row + 2 * i));
        break;
    case BN_TYPE_Q8_0:
        decode_q8_0(ctx, row, n, out);
        break;
    case BN_TYPE_Q6_K:
        decode_q6_k(ctx, row, n, out);
        break;
    default:
        break;
    }
}

int pc_tq1_trit(uint8_t b, int n) {
    static const uint8_t pow3[5] = {1, 3, 9, 27, 81};
    uint8_t q = (uint8_t)(b * pow3[n]);
    return (q * 3) >> 8;
}

/* Position of value i (0..255) of a TQ1_0 block: byte index into the
 * 52 packed bytes (qs then qh) and digit. */
static void tq1_locate(int i, int *byte, int *digit) {
    if (i < 160) {
        *byte = i % 32;
        *digit = i / 32;
    } else if (i < 240) {
        *byte = 32 + (i - 160) % 16;
        *digit = (i - 160) / 16;
    } else {
        *byte = 48 + (i - 240) % 4;
        *digit = (i - 240) / 4;
    }
}

int64_t pc_decode_ternary_row(int32_t type, const uint8_t *data, int64_t n_cols, int64_t r,
                               int8_t *t, float *d) {
    if (type == BN_TYPE_I2_S) {
        for (int64_t c = 0; c < n_cols; c++) {
            int64_t g = r * n_cols + c;
            int64_t j = g % BN_I2S_BLOCK;
            uint8_t byte = data[(g / BN_I2S_BLOCK) * 32 + j % 32];
            int code = (byte >> (6 - 2 * (int)(j / 32))) & 3;
            if (code == 3)
                return c;
            t[c] = (int8_t)(code - 1);
        }
        return -1;
    }
    int64_t bpr = n_cols / BN_QK_K;
    size_t bb = (size_t)bn_type_block_bytes(type);
    const uint8_t *row = data + (size_t)r * (size_t)bpr * bb;
    for (int64_t b = 0; b < bpr; b++) {
        const uint8_t *blk = row + b * bb;
        int8_t *tb = t + b * BN_QK_K;
        if (type == BN_TYPE_TQ2_0) {
            d[b] = pc_f16_to_f32(pc_rd16(blk + 64));
            for (int i = 0; i < BN_QK_K; i++) {
                int code = (blk[32 * (i / 128) + i % 32] >> (2 * ((i % 128) / 32))) & 3;
                if (code == 3)
                    return b * BN_QK_K + i;
                tb[i] = (int8_t)(code - 1);
            }
        } else { /* TQ1_0: every byte decodes to digits 0..2, nothing invalid */
            d[b] = pc_f16_to_f32(pc_rd16(blk + 52));
            for (int i = 0; i < BN_QK_K; i++) {
                int byte, digit;
                tq1_locate(i, &byte, &digit);
                tb[i] = (int8_t)(pc_tq1_trit(blk[byte], digit) - 1);
            }
        }
    }
    return -1;
}
