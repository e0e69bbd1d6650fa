/*
 * The LUT family (TL1, TL2) on NEON: the weights choose entries of small
 * tables built from the activations (layout and tables: common/mad/
 * lut_layout.c), looked up 16 rows at a time with tbl. Per group, two tbl
 * on the table's low and high bytes and a zip give 16 int16 entries; TL2
 * negates the rows whose sign bit is set ((v ^ m) - m). The int16 lanes sum
 * 64 groups at most (64 * 384 < 2^15) before widening into int32, so they
 * never overflow. Base armv8-a only: every AArch64 CPU runs it.
 */
#include <arm_neon.h>

#include "neon_internal.h"

#define LT PC_LUT_TILE
#define FLUSH 64 /* groups summed in 16 bits before widening */


/* int16 lanes of the 8 rows starting at bit `shift` negated where their sign bit is set */
static inline int16x8_t apply_sign(int16x8_t v, uint32_t signs, int shift) {
    static const uint16_t bit[8] = {1, 2, 4, 8, 16, 32, 64, 128};
    int16x8_t m = vreinterpretq_s16_u16(vtstq_u16(vdupq_n_u16((uint16_t)((signs >> shift) & 0xff)), vld1q_u16(bit)));
    return vsubq_s16(veorq_s16(v, m), m);
}

static inline void widen_add(int32x4_t s32[8], const int16x8_t a[4]) {
    for (int k = 0; k < 4; k++) {
        s32[2 * k] = vaddw_s16(s32[2 * k], vget_low_s16(a[k]));
        s32[2 * k + 1] = vaddw_high_s16(s32[2 * k + 1], a[k]);
    }
}

static void lut_tile(const pc_lut_job *jb, int64_t tile, int64_t tok) {
    const bn_weight *w = jb->w;
    int64_t ng = pc_lut_groups(w);
    const uint8_t *ip = w->lut_idx + (size_t)tile * (size_t)ng * 16;
    const uint32_t *sp = w->lut_sign ? w->lut_sign + (size_t)tile * (size_t)ng : NULL;
    const uint8_t *tab = jb->tables + (size_t)tok * (size_t)ng * 32;
    const uint8x16_t m4 = vdupq_n_u8(0x0f);
    int32x4_t tot[8];
    float32x4_t accf[8];
    for (int k = 0; k < 8; k++) {
        tot[k] = vdupq_n_s32(0);
        accf[k] = vdupq_n_f32(0.0f);
    }
    for (int64_t sg = 0; sg < w->lut_n_seg; sg++) {
        int32x4_t s32[8];
        int16x8_t a[4];
        for (int k = 0; k < 8; k++)
            s32[k] = vdupq_n_s32(0);
        for (int k = 0; k < 4; k++)
            a[k] = vdupq_n_s16(0);
        int cnt = 0;
        for (int64_t gi = sg * w->lut_gps; gi < (sg + 1) * w->lut_gps; gi++) {
            uint8x16_t raw = vld1q_u8(ip + gi * 16);
            uint8x16_t tlo = vld1q_u8(tab + gi * 32), thi = vld1q_u8(tab + gi * 32 + 16);
            uint8x16_t idx[2] = {vandq_u8(raw, m4), vshrq_n_u8(raw, 4)}; /* rows 0-15, 16-31 */
            for (int h = 0; h < 2; h++) {
                uint8x16_t lo = vqtbl1q_u8(tlo, idx[h]), hi = vqtbl1q_u8(thi, idx[h]);
                int16x8_t v0 = vreinterpretq_s16_u8(vzip1q_u8(lo, hi)); /* rows 16 h .. 16 h + 7 */
                int16x8_t v1 = vreinterpretq_s16_u8(vzip2q_u8(lo, hi)); /* rows 16 h + 8 .. 16 h + 15 */
                if (sp) {
                    v0 = apply_sign(v0, sp[gi], 16 * h);
                    v1 = apply_sign(v1, sp[gi], 16 * h + 8);
                }
                a[2 * h] = vaddq_s16(a[2 * h], v0);
                a[2 * h + 1] = vaddq_s16(a[2 * h + 1], v1);
            }
            if (++cnt == FLUSH) {
                widen_add(s32, a);
                for (int k = 0; k < 4; k++)
                    a[k] = vdupq_n_s16(0);
                cnt = 0;
            }
        }
        widen_add(s32, a);
        for (int k = 0; k < 8; k++) {
            tot[k] = vaddq_s32(tot[k], s32[k]);
            if (w->lut_d)
                accf[k] = vfmaq_f32(accf[k], vcvtq_f32_s32(s32[k]),
                                    vld1q_f32(w->lut_d + (tile * w->lut_n_seg + sg) * LT + 4 * k));
        }
    }
    int32_t it[LT];
    float ft[LT];
    for (int k = 0; k < 8; k++) {
        vst1q_s32(it + 4 * k, tot[k]);
        vst1q_f32(ft + 4 * k, accf[k]);
    }
    pc_lut_store(w, jb->y, tile, tok, jb->s[tok], it, ft);
}

bn_status nn_lut_matmul(bn_backend_ctx *ctx, const bn_weight *w, const bn_tensor *x, const bn_tensor *x_scale,
                        bn_tensor *y) {
    return pc_lut_matmul(ctx, NN_SCR_ACT, w, x, x_scale, y, lut_tile);
}
