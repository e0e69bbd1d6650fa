/*
 * The eight 16-byte code vectors of one MAD block (neon_internal.h):
 * codes[2 s + h] = (bytes[16 h .. 16 h + 15] >> 2 s) & 3, the codes c = t + 1
 * of columns 32 s + 16 h .. + 15 of the block. Inline, so each kernel file
 * compiles it for its own target features.
 */
#ifndef BITNET_NEON_CODES_H
#define BITNET_NEON_CODES_H

#include <arm_neon.h>

#include "neon_internal.h"


NN_INLINE void nn_block_codes(const uint8_t *blk, int8x16_t codes[8]) {
    const uint8x16_t m3 = vdupq_n_u8(3);
    uint8x16_t v0 = vld1q_u8(blk), v1 = vld1q_u8(blk + 16);
    codes[0] = vreinterpretq_s8_u8(vandq_u8(v0, m3));
    codes[1] = vreinterpretq_s8_u8(vandq_u8(v1, m3));
    codes[2] = vreinterpretq_s8_u8(vandq_u8(vshrq_n_u8(v0, 2), m3));
    codes[3] = vreinterpretq_s8_u8(vandq_u8(vshrq_n_u8(v1, 2), m3));
    codes[4] = vreinterpretq_s8_u8(vandq_u8(vshrq_n_u8(v0, 4), m3));
    codes[5] = vreinterpretq_s8_u8(vandq_u8(vshrq_n_u8(v1, 4), m3));
    codes[6] = vreinterpretq_s8_u8(vshrq_n_u8(v0, 6));
    codes[7] = vreinterpretq_s8_u8(vshrq_n_u8(v1, 6));
}

/* sum(t q) from sum(c q) and sum(q), in wrapping 32-bit arithmetic: the
 * intermediate sum(c q) may pass 2^31 near the column limit, the result
 * cannot. */
NN_INLINE int32_t nn_unbias(int32_t cq, int32_t qsum) { return (int32_t)((uint32_t)cq - (uint32_t)qsum); }

#endif
