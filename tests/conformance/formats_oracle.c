/*
 * Scalar oracle codecs (see formats_oracle.h). Element addressing is spelled
 * out per format with the layout facts quoted next to it, so a reviewer can
 * check each line against DESIGN.md without reading any plugin.
 */
#include "formats_oracle.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- 16-bit floats ------------------------------------------------------ */

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

uint16_t or_f32_to_f16(float f) {
    uint32_t x = f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) /* NaN stays a (quiet) NaN */
        return (uint16_t)(sign | 0x7e00u);
    if (ax >= 0x477ff000u) /* >= 65520 rounds (to even) past 65504: inf */
        return (uint16_t)(sign | 0x7c00u);
    if (ax < 0x38800000u) {
        /* below 2^-14: half subnormal, value = m * 2^-24; the product is
         * exact in double, so nearbyint does the round-to-even once. */
        double m = nearbyint((double)bits_f32(ax) * 16777216.0);
        return (uint16_t)(sign | (uint16_t)m); /* m == 1024 is the first normal */
    }
    uint32_t mant = ax & 0x7fffffu;
    uint32_t h = ((((ax >> 23) & 0xffu) - 127u + 15u) << 10) | (mant >> 13);
    uint32_t rest = mant & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u)))
        h++; /* a carry into the exponent is the correct result */
    return (uint16_t)(sign | h);
}

float or_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    if (e == 0) {
        float v = ldexpf((float)m, -24);
        return sign ? -v : v;
    }
    if (e == 31)
        return bits_f32(sign | 0x7f800000u | (m << 13));
    return bits_f32(sign | ((e - 15u + 127u) << 23) | (m << 13));
}

void or_encode_q8_0_row(const float *x, int64_t n, uint8_t *out, float *dec) {
    for (int64_t b = 0; b < n / 32; b++) {
        const float *xb = x + b * 32;
        uint8_t *blk = out + b * 34;
        float amax = 0.0f;
        for (int i = 0; i < 32; i++)
            amax = fabsf(xb[i]) > amax ? fabsf(xb[i]) : amax;
        float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        uint16_t dh = or_f32_to_f16(d);
        blk[0] = (uint8_t)(dh & 0xff);
        blk[1] = (uint8_t)(dh >> 8);
        for (int i = 0; i < 32; i++) {
            int q = (int)roundf(xb[i] * id);
            blk[2 + i] = (uint8_t)(int8_t)(q > 127 ? 127 : q < -127 ? -127 : q);
            if (dec)
                dec[b * 32 + i] = or_f16_to_f32(dh) * (float)(int8_t)blk[2 + i];
        }
    }
}

uint16_t or_f32_to_bf16(float f) {
    uint32_t x = f32_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((x >> 16) | 0x40u);
    uint32_t lower = x & 0xffffu, upper = x >> 16;
    if (lower > 0x8000u || (lower == 0x8000u && (upper & 1u)))
        upper++;
    return (uint16_t)upper;
}

float or_bf16_to_f32(uint16_t h) { return bits_f32((uint32_t)h << 16); }

/* ---- sizes --------------------------------------------------------------- */

size_t or_storage_size(int32_t type, int64_t n_rows, int64_t n_cols) {
    if (n_rows <= 0 || n_cols <= 0)
        return 0;
    size_t n = (size_t)n_rows * (size_t)n_cols;
    switch (type) {
    case BN_TYPE_F32: return n * 4;
    case BN_TYPE_F16:
    case BN_TYPE_BF16: return n * 2;
    case BN_TYPE_Q8_0: return n_cols % 32 ? 0 : n / 32 * 34;
    case BN_TYPE_TQ1_0: return n_cols % 256 ? 0 : n / 256 * 54;
    case BN_TYPE_TQ2_0: return n_cols % 256 ? 0 : n / 256 * 66;
    case BN_TYPE_I2_S: return n % 128 ? 0 : n / 4 + 32;
    default: return 0;
    }
}

static float rd_f16(const uint8_t *p) { return or_f16_to_f32((uint16_t)(p[0] | (p[1] << 8))); }

static void wr_f16(uint8_t *p, float f) {
    uint16_t h = or_f32_to_f16(f);
    p[0] = (uint8_t)(h & 0xff);
    p[1] = (uint8_t)(h >> 8);
}

/* ---- TQ1_0 trit packing ---------------------------------------------------
 * A byte holds q = 5 base-3 digits (first most significant) as
 * ceil(q * 256 / 243); floor(byte * 243 / 256) gives q back exactly. */

uint8_t or_tq1_pack5(const int *digits5) {
    int q = 0;
    for (int i = 0; i < 5; i++)
        q = q * 3 + digits5[i];
    return (uint8_t)((q * 256 + 242) / 243);
}

void or_tq1_unpack5(uint8_t byte, int *digits5) {
    int q = (byte * 243) >> 8;
    for (int i = 4; i >= 0; i--) {
        digits5[i] = q % 3;
        q /= 3;
    }
}

/* Where element e (0..255) of a TQ1_0 block lives: byte index in the
 * 52 bytes qs[48] ++ qh[4] and digit position (0 = most significant of 5).
 * qs[0..31]: elements m + 32n (n = 0..4); qs[32..47]: 160 + m + 16n;
 * qh[0..3]: 240 + m + 4n (n = 0..3), 4 digits then a zero digit. */
static void tq1_locate(int e, int *byte, int *digit) {
    if (e < 160) {
        *byte = e % 32;
        *digit = e / 32;
    } else if (e < 240) {
        *byte = 32 + (e - 160) % 16;
        *digit = (e - 160) / 16;
    } else {
        *byte = 48 + (e - 240) % 4;
        *digit = (e - 240) / 4;
    }
}

/* Code (0, 1, 2 = -1, 0, +1) of element e of one block of each format. */
static int tq1_code(const uint8_t *blk, int e) {
    int byte, digit, d5[5];
    tq1_locate(e, &byte, &digit);
    or_tq1_unpack5(blk[byte], d5);
    return d5[digit];
}

/* TQ2_0: in each 32-byte chunk byte m holds x[m + 32n] at bits 2n. */
static int tq2_code(const uint8_t *blk, int e) {
    int chunk = e / 128, r = e % 128;
    return (blk[chunk * 32 + r % 32] >> (2 * (r / 32))) & 3;
}

/* I2_S: flattened tensor, blocks of 128 -> 32 bytes, byte p holds weights
 * p, p+32, p+64, p+96 in bits 7-6, 5-4, 3-2, 1-0. */
static int i2s_code(const uint8_t *data, int64_t e) {
    int64_t blk = e / 128;
    int r = (int)(e % 128);
    return (data[blk * 32 + r % 32] >> (6 - 2 * (r / 32))) & 3;
}

static float i2s_scale(const uint8_t *data, int64_t n) {
    float g;
    memcpy(&g, data + n / 4, 4);
    return g;
}

/* ---- decoding -------------------------------------------------------------- */

int or_ternary_unpack(int32_t type, const void *data, int64_t n_rows, int64_t n_cols, or_ternary *out) {
    const uint8_t *p = data;
    memset(out, 0, sizeof *out);
    if (!or_storage_size(type, n_rows, n_cols))
        return -1;
    out->n_rows = n_rows;
    out->n_cols = n_cols;
    out->block = type == BN_TYPE_I2_S ? n_cols : 256;
    out->blocks_per_row = n_cols / out->block;
    out->t = malloc((size_t)(n_rows * n_cols));
    out->d = malloc(sizeof(float) * (size_t)(n_rows * out->blocks_per_row));
    if (!out->t || !out->d) {
        or_ternary_free(out);
        return -1;
    }
    for (int64_t r = 0; r < n_rows; r++) {
        for (int64_t b = 0; b < out->blocks_per_row; b++) {
            int64_t bi = r * out->blocks_per_row + b;
            int8_t *t = out->t + r * n_cols + b * out->block;
            if (type == BN_TYPE_I2_S) {
                out->d[bi] = i2s_scale(p, n_rows * n_cols);
                for (int64_t c = 0; c < n_cols; c++)
                    t[c] = (int8_t)(i2s_code(p, r * n_cols + c) - 1);
            } else if (type == BN_TYPE_TQ2_0) {
                const uint8_t *blk = p + bi * 66;
                out->d[bi] = rd_f16(blk + 64);
                for (int e = 0; e < 256; e++)
                    t[e] = (int8_t)(tq2_code(blk, e) - 1);
            } else if (type == BN_TYPE_TQ1_0) {
                const uint8_t *blk = p + bi * 54;
                out->d[bi] = rd_f16(blk + 52);
                for (int e = 0; e < 256; e++)
                    t[e] = (int8_t)(tq1_code(blk, e) - 1);
            } else {
                or_ternary_free(out);
                return -1;
            }
        }
    }
    return 0;
}

void or_ternary_free(or_ternary *tm) {
    free(tm->t);
    free(tm->d);
    tm->t = NULL;
    tm->d = NULL;
}

int or_decode_rows(int32_t type, const void *data, int64_t n_rows, int64_t n_cols, int64_t row0,
                   int64_t nr, float extra_scale, float *dst) {
    const uint8_t *p = data;
    if (!or_storage_size(type, n_rows, n_cols) || row0 < 0 || nr < 0 || row0 + nr > n_rows)
        return -1;
    for (int64_t r = row0; r < row0 + nr; r++) {
        float *y = dst + (r - row0) * n_cols;
        for (int64_t c = 0; c < n_cols; c++) {
            int64_t e = r * n_cols + c;
            float v;
            switch (type) {
            case BN_TYPE_F32: memcpy(&v, p + 4 * e, 4); break;
            case BN_TYPE_F16: v = rd_f16(p + 2 * e); break;
            case BN_TYPE_BF16: v = or_bf16_to_f32((uint16_t)(p[2 * e] | (p[2 * e + 1] << 8))); break;
            case BN_TYPE_Q8_0: { /* fp16 d, 32 x int8 */
                const uint8_t *blk = p + (e / 32) * 34;
                v = rd_f16(blk) * (float)(int8_t)blk[2 + e % 32];
                break;
            }
            case BN_TYPE_TQ1_0: {
                const uint8_t *blk = p + (e / 256) * 54;
                v = (float)(tq1_code(blk, (int)(e % 256)) - 1) * rd_f16(blk + 52);
                break;
            }
            case BN_TYPE_TQ2_0: {
                const uint8_t *blk = p + (e / 256) * 66;
                v = (float)(tq2_code(blk, (int)(e % 256)) - 1) * rd_f16(blk + 64);
                break;
            }
            case BN_TYPE_I2_S:
                v = (float)(i2s_code(p, e) - 1) * i2s_scale(p, n_rows * n_cols);
                break;
            default: return -1;
            }
            y[c] = v * extra_scale;
        }
    }
    return 0;
}

/* ---- encoding -------------------------------------------------------------- */

float or_absmean_ternarize(const float *w, int64_t n, int8_t *t) {
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++)
        sum += fabs((double)w[i]);
    float gamma = n > 0 ? (float)(sum / (double)n) : 0.0f;
    float div = gamma > 1e-8f ? gamma : 1e-8f;
    if (t) {
        for (int64_t i = 0; i < n; i++) {
            float q = nearbyintf(w[i] / div);
            t[i] = (int8_t)(q > 1.0f ? 1 : q < -1.0f ? -1 : (int)q);
        }
    }
    return gamma;
}

int or_encode(int32_t type, const float *w, int64_t n_rows, int64_t n_cols, void *dst) {
    size_t size = or_storage_size(type, n_rows, n_cols);
    int64_t n = n_rows * n_cols;
    if (!size || !bn_type_is_ternary(type) || type == BN_TYPE_TL1 || type == BN_TYPE_TL2)
        return -1;
    int8_t *t = malloc((size_t)n);
    if (!t)
        return -1;
    float gamma = or_absmean_ternarize(w, n, t);
    uint8_t *p = dst;
    memset(p, 0, size);
    if (type == BN_TYPE_I2_S) {
        for (int64_t e = 0; e < n; e++) {
            int r = (int)(e % 128);
            p[(e / 128) * 32 + r % 32] |= (uint8_t)((t[e] + 1) << (6 - 2 * (r / 32)));
        }
        memcpy(p + n / 4, &gamma, 4); /* then zero padding up to 32 bytes */
    } else if (type == BN_TYPE_TQ2_0) {
        for (int64_t b = 0; b < n / 256; b++) {
            uint8_t *blk = p + b * 66;
            for (int e = 0; e < 256; e++) {
                int r = e % 128;
                blk[(e / 128) * 32 + r % 32] |= (uint8_t)((t[b * 256 + e] + 1) << (2 * (r / 32)));
            }
            wr_f16(blk + 64, gamma);
        }
    } else { /* TQ1_0 */
        for (int64_t b = 0; b < n / 256; b++) {
            uint8_t *blk = p + b * 54;
            int digits[52][5] = {{0}};
            for (int e = 0; e < 256; e++) {
                int byte, digit;
                tq1_locate(e, &byte, &digit);
                digits[byte][digit] = t[b * 256 + e] + 1;
            }
            for (int i = 0; i < 52; i++) /* qh: fifth digit stays 0 */
                blk[i] = or_tq1_pack5(digits[i]);
            wr_f16(blk + 52, gamma);
        }
    }
    free(t);
    return 0;
}
