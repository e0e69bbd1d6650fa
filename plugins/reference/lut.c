/*
 * Packed layouts of ternary segments and the three ways to sum them.
 *
 * MAD  2-bit codes t+1, four per byte, value k at bits 2(k%4) of byte k/4;
 *      the sum multiplies each decoded t by its activation.
 * TL1  values in pairs (w0, w1) -> index 3*w0 + w1 + 4 in 0..8, two indices
 *      per byte (even pair in the low nibble). An odd last value pairs with
 *      w1 = 0. Per token a 9-entry table per activation pair (a0, a1) holds
 *      w0*a0 + w1*a1 for every index; the sum adds one lookup per pair.
 * TL2  values in triples -> v = 9*w0 + 3*w1 + w2 in [-13, 13], one byte per
 *      triple: bit 4 = sign of v, bits 0-3 = |v|. Per token a 14-entry table
 *      per activation triple holds the combination whose code is |v| (its
 *      balanced-ternary digits); a negative v takes the negated entry, since
 *      negating all three weights negates v. The K % 3 remainder (1 or 2
 *      values) is one more byte holding a TL1 index, summed with a TL1
 *      table of the trailing pair.
 * Tables are int16: |entry| <= 3 * 128. All three kernels therefore give
 * the very same int32 sum for the same ternary values and activations.
 */
#include "ref_internal.h"

static int64_t n_pairs(int64_t len) { return (len + 1) / 2; }

size_t ref_packed_bytes(int32_t kernel, int64_t len) {
    switch (kernel) {
    case BN_KERNEL_TL1: return (size_t)((n_pairs(len) + 1) / 2);
    case BN_KERNEL_TL2: return (size_t)(len / 3 + (len % 3 != 0));
    default: return (size_t)((len + 3) / 4);
    }
}

static uint8_t tl1_index(int w0, int w1) { return (uint8_t)(3 * w0 + w1 + 4); }

/* Balanced-ternary digits of m in 0..13: m = 9*w0 + 3*w1 + w2. */
static void tl2_digits(int m, int *w0, int *w1, int *w2) {
    *w2 = (m + 1) % 3 - 1;
    m = (m - *w2) / 3;
    *w1 = (m + 1) % 3 - 1;
    *w0 = (m - *w1) / 3;
}

void ref_pack(int32_t kernel, const int8_t *t, int64_t len, uint8_t *out) {
    size_t nbytes = ref_packed_bytes(kernel, len);
    for (size_t i = 0; i < nbytes; i++)
        out[i] = 0;
    if (kernel == BN_KERNEL_TL1) {
        for (int64_t p = 0; p < n_pairs(len); p++) {
            int w1 = 2 * p + 1 < len ? t[2 * p + 1] : 0;
            out[p / 2] |= (uint8_t)(tl1_index(t[2 * p], w1) << (4 * (p % 2)));
        }
    } else if (kernel == BN_KERNEL_TL2) {
        int64_t nt = len / 3;
        for (int64_t i = 0; i < nt; i++) {
            int v = 9 * t[3 * i] + 3 * t[3 * i + 1] + t[3 * i + 2];
            out[i] = (uint8_t)(v < 0 ? 16 | -v : v);
        }
        if (len % 3)
            out[nt] = tl1_index(t[3 * nt], len % 3 == 2 ? t[3 * nt + 1] : 0);
    } else {
        for (int64_t k = 0; k < len; k++)
            out[k / 4] |= (uint8_t)((t[k] + 1) << (2 * (k % 4)));
    }
}

void ref_unpack(int32_t kernel, const uint8_t *packed, int64_t len, int8_t *t) {
    if (kernel == BN_KERNEL_TL1) {
        for (int64_t p = 0; p < n_pairs(len); p++) {
            int idx = (packed[p / 2] >> (4 * (p % 2))) & 15;
            t[2 * p] = (int8_t)(idx / 3 - 1);
            if (2 * p + 1 < len)
                t[2 * p + 1] = (int8_t)(idx % 3 - 1);
        }
    } else if (kernel == BN_KERNEL_TL2) {
        int64_t nt = len / 3;
        for (int64_t i = 0; i < nt; i++) {
            int w0, w1, w2, s = packed[i] & 16 ? -1 : 1;
            tl2_digits(packed[i] & 15, &w0, &w1, &w2);
            t[3 * i] = (int8_t)(s * w0);
            t[3 * i + 1] = (int8_t)(s * w1);
            t[3 * i + 2] = (int8_t)(s * w2);
        }
        if (len % 3) {
            t[3 * nt] = (int8_t)(packed[nt] / 3 - 1);
            if (len % 3 == 2)
                t[3 * nt + 1] = (int8_t)(packed[nt] % 3 - 1);
        }
    } else {
        for (int64_t k = 0; k < len; k++)
            t[k] = (int8_t)(((packed[k / 4] >> (2 * (k % 4))) & 3) - 1);
    }
}

size_t ref_lut_entries(int32_t kernel, int64_t len) {
    switch (kernel) {
    case BN_KERNEL_TL1: return (size_t)(9 * n_pairs(len));
    case BN_KERNEL_TL2: return (size_t)(14 * (len / 3) + (len % 3 ? 9 : 0));
    default: return 0;
    }
}

/* The 9 combinations w0*a0 + w1*a1, indexed by 3*w0 + w1 + 4. */
static void tl1_table(int a0, int a1, int16_t *tab) {
    for (int idx = 0; idx < 9; idx++)
        tab[idx] = (int16_t)((idx / 3 - 1) * a0 + (idx % 3 - 1) * a1);
}

void ref_lut_build(int32_t kernel, const int8_t *q, int64_t len, int16_t *table) {
    if (kernel == BN_KERNEL_TL1) {
        for (int64_t p = 0; p < n_pairs(len); p++)
            tl1_table(q[2 * p], 2 * p + 1 < len ? q[2 * p + 1] : 0, table + 9 * p);
    } else if (kernel == BN_KERNEL_TL2) {
        int64_t nt = len / 3;
        for (int64_t i = 0; i < nt; i++) {
            for (int m = 0; m < 14; m++) {
                int w0, w1, w2;
                tl2_digits(m, &w0, &w1, &w2);
                table[14 * i + m] = (int16_t)(w0 * q[3 * i] + w1 * q[3 * i + 1] + w2 * q[3 * i + 2]);
            }
        }
        if (len % 3)
            tl1_table(q[3 * nt], len % 3 == 2 ? q[3 * nt + 1] : 0, table + 14 * nt);
    }
}

static int32_t dot_mad(const uint8_t *packed, int64_t len, const int8_t *q) {
    int32_t sum = 0;
    int64_t k = 0;
    for (; k + 4 <= len; k += 4) {
        uint8_t b = packed[k / 4];
        sum += ((b & 3) - 1) * q[k] + (((b >> 2) & 3) - 1) * q[k + 1] +
               (((b >> 4) & 3) - 1) * q[k + 2] + (((b >> 6) & 3) - 1) * q[k + 3];
    }
    for (; k < len; k++)
        sum += (((packed[k / 4] >> (2 * (k % 4))) & 3) - 1) * q[k];
    return sum;
}

static int32_t dot_tl1(const uint8_t *packed, int64_t len, const int16_t *table) {
    int32_t sum = 0;
    for (int64_t p = 0; p < n_pairs(len); p++)
        sum += table[9 * p + ((packed[p / 2] >> (4 * (p % 2))) & 15)];
    return sum;
}

static int32_t dot_tl2(const uint8_t *packed, int64_t len, const int16_t *table) {
    int32_t sum = 0;
    int64_t nt = len / 3;
    for (int64_t i = 0; i < nt; i++) {
        int32_t v = table[14 * i + (packed[i] & 15)];
        sum += packed[i] & 16 ? -v : v;
    }
    if (len % 3)
        sum += table[14 * nt + packed[nt]];
    return sum;
}

int32_t ref_dot(int32_t kernel, const uint8_t *packed, int64_t len, const int8_t *q,
                const int16_t *table) {
    switch (kernel) {
    case BN_KERNEL_TL1: return dot_tl1(packed, len, table);
    case BN_KERNEL_TL2: return dot_tl2(packed, len, table);
    default: return dot_mad(packed, len, q);
    }
}
