/*
 * Known-answer tests of the conformance oracle itself, so that a plugin
 * that agrees with the oracle agrees with the format definitions and not
 * merely with a shared mistake. Expected values are worked out by hand
 * from DESIGN.md and IEEE 754, not produced by the oracle.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "formats_oracle.h"
#include "ops_oracle.h"

START_TEST(half_known_values) {
    ck_assert_uint_eq(or_f32_to_f16(1.0f), 0x3c00);
    ck_assert_uint_eq(or_f32_to_f16(-2.0f), 0xc000);
    ck_assert_uint_eq(or_f32_to_f16(65504.0f), 0x7bff);
    ck_assert_uint_eq(or_f32_to_f16(65519.0f), 0x7bff);
    ck_assert_uint_eq(or_f32_to_f16(65520.0f), 0x7c00);   /* tie rounds to even: inf */
    ck_assert_uint_eq(or_f32_to_f16(1.0f + 0x1p-11f), 0x3c00); /* tie, even stays */
    ck_assert_uint_eq(or_f32_to_f16(1.0f + 3 * 0x1p-11f), 0x3c02);
    ck_assert_uint_eq(or_f32_to_f16(0x1p-24f), 0x0001);   /* smallest subnormal */
    ck_assert_uint_eq(or_f32_to_f16(0x1p-25f), 0x0000);   /* tie to even zero */
    ck_assert_uint_eq(or_f32_to_f16(3 * 0x1p-25f), 0x0002);
    ck_assert_uint_eq(or_f32_to_f16(0x1p-14f), 0x0400);   /* smallest normal */
    ck_assert_uint_eq(or_f32_to_f16(-0.0f), 0x8000);
    ck_assert_uint_eq(or_f32_to_f16(0.333333343f), 0x3555);
    ck_assert(or_f16_to_f32(0x3555) == 0.333251953125f);
    ck_assert(or_f16_to_f32(0x0001) == 0x1p-24f);
    ck_assert(or_f16_to_f32(0x7bff) == 65504.0f);
    ck_assert(isinf(or_f16_to_f32(0xfc00)) && or_f16_to_f32(0xfc00) < 0);
    ck_assert(isnan(or_f16_to_f32(or_f32_to_f16(NAN))));
    for (uint32_t h = 0; h < 0x7c00; h++) /* every finite half survives f32 and back */
        ck_assert_uint_eq(or_f32_to_f16(or_f16_to_f32((uint16_t)h)), h);
}
END_TEST

START_TEST(bf16_known_values) {
    ck_assert_uint_eq(or_f32_to_bf16(1.0f), 0x3f80);
    ck_assert_uint_eq(or_f32_to_bf16(1.0f + 0x1p-8f), 0x3f80); /* tie, even */
    ck_assert_uint_eq(or_f32_to_bf16(1.0f + 3 * 0x1p-8f), 0x3f82);
    ck_assert_uint_eq(or_f32_to_bf16(-3.0f), 0xc040);
    ck_assert(or_bf16_to_f32(0x4049) == 3.140625f);
}
END_TEST

START_TEST(tq1_trits) {
    /* all -1 -> q 0 -> byte 0; all +1 -> q 242 -> ceil(242*256/243) = 255;
     * all 0 -> q 121 -> ceil(30976/243) = 128; 4 zero trits + shift -> q 120 -> 127 */
    int m1[5] = {0, 0, 0, 0, 0}, p1[5] = {2, 2, 2, 2, 2}, z[5] = {1, 1, 1, 1, 1}, zh[5] = {1, 1, 1, 1, 0};
    ck_assert_uint_eq(or_tq1_pack5(m1), 0);
    ck_assert_uint_eq(or_tq1_pack5(p1), 255);
    ck_assert_uint_eq(or_tq1_pack5(z), 128);
    ck_assert_uint_eq(or_tq1_pack5(zh), 127);
    int d[5] = {2, 0, 1, 0, 0}; /* q = 2*81 + 9 = 171 -> ceil(43776/243) = 181 */
    ck_assert_uint_eq(or_tq1_pack5(d), 181);
    for (int q = 0; q < 243; q++) {
        int in[5] = {q / 81 % 3, q / 27 % 3, q / 9 % 3, q / 3 % 3, q % 3}, out[5];
        or_tq1_unpack5(or_tq1_pack5(in), out);
        ck_assert_mem_eq(in, out, sizeof in);
    }
}
END_TEST

START_TEST(encode_known_blocks) {
    /* one block of 256 where element e is +1 iff e == 7, -1 iff e == 200,
     * else 0, with gamma set by the magnitudes: |W| = 1 at e = 7 and 200,
     * and 0.5 elsewhere would make t = 0.5/gamma... so use 0 elsewhere:
     * gamma = 2/256, W/gamma = +-128 -> clamp +-1. */
    float w[256] = {0};
    w[7] = 1.0f;
    w[200] = -1.0f;
    uint8_t i2s[256 / 4 + 32], tq2[66], tq1[54];
    ck_assert_int_eq(or_encode(BN_TYPE_I2_S, w, 1, 256, i2s), 0);
    ck_assert_int_eq(or_encode(BN_TYPE_TQ2_0, w, 1, 256, tq2), 0);
    ck_assert_int_eq(or_encode(BN_TYPE_TQ1_0, w, 1, 256, tq1), 0);
    /* I2_S: code 1 (0) everywhere is 0x55; e=7: block 0 byte 7 bits 7-6 -> 2:
     * 0x95; e=200: block 1 (128..255), r=72 -> byte 32+8, bits 3-2 -> 0: 0x51 */
    for (int i = 0; i < 64; i++)
        ck_assert_uint_eq(i2s[i], i == 7 ? 0x95 : i == 40 ? 0x51 : 0x55);
    float g;
    memcpy(&g, i2s + 64, 4);
    ck_assert(g == 2.0f / 256.0f);
    for (int i = 68; i < 96; i++)
        ck_assert_uint_eq(i2s[i], 0);
    /* TQ2_0: e=7: chunk 0 byte 7 bits 1-0 -> 2: 0x56; e=200: chunk 1, r=72,
     * byte 32+8 bits 5-4 -> 0: 0x45; d = fp16(1/128) = 0x2000 */
    for (int i = 0; i < 64; i++)
        ck_assert_uint_eq(tq2[i], i == 7 ? 0x56 : i == 40 ? 0x45 : 0x55);
    ck_assert_uint_eq(tq2[64], 0x00);
    ck_assert_uint_eq(tq2[65], 0x20);
    /* TQ1_0: e=7 -> byte 7 digit 0 = 2: q = 2*81+40 = 202 -> ceil(51712/243)
     * = 213; e=200 -> r=40: byte 32+8 digit 2 = 0: q = 121-9 = 112 ->
     * ceil(28672/243) = 118 */
    for (int i = 0; i < 48; i++)
        ck_assert_uint_eq(tq1[i], i == 7 ? 213 : i == 40 ? 118 : 128);
    for (int i = 48; i < 52; i++)
        ck_assert_uint_eq(tq1[i], 127);
    ck_assert_uint_eq(tq1[52], 0x00);
    ck_assert_uint_eq(tq1[53], 0x20);
    /* and each decodes back to t * d */
    float out[256];
    const int32_t types[3] = {BN_TYPE_I2_S, BN_TYPE_TQ2_0, BN_TYPE_TQ1_0};
    const void *data[3] = {i2s, tq2, tq1};
    for (int k = 0; k < 3; k++) {
        ck_assert_int_eq(or_decode_rows(types[k], data[k], 1, 256, 0, 1, 1.0f, out), 0);
        for (int e = 0; e < 256; e++)
            ck_assert(out[e] == (e == 7 ? 1.0f / 128 : e == 200 ? -1.0f / 128 : 0.0f));
    }
}
END_TEST

START_TEST(tq1_qh_elements) {
    /* elements 240..255 live in qh: 240 + m + 4n -> byte 48+m, digit n */
    float w[256] = {0};
    w[245] = 1.0f; /* m = 1, n = 1: digits 1,2,1,1,0 -> q = 81+54+9+3 = 147 -> ceil(37632/243) = 155 */
    uint8_t tq1[54];
    ck_assert_int_eq(or_encode(BN_TYPE_TQ1_0, w, 1, 256, tq1), 0);
    ck_assert_uint_eq(tq1[49], 155);
    ck_assert_uint_eq(tq1[48], 127);
    float out[256];
    or_decode_rows(BN_TYPE_TQ1_0, tq1, 1, 256, 0, 1, 1.0f, out);
    for (int e = 0; e < 256; e++)
        ck_assert(out[e] == (e == 245 ? or_f16_to_f32(or_f32_to_f16(1.0f / 256)) : 0.0f));
}
END_TEST

START_TEST(i2s_blocks_span_rows) {
    /* 4 x 96 = 384 elements = 3 blocks; row 1 starts mid-block */
    float w[384];
    for (int e = 0; e < 384; e++)
        w[e] = (float)((e * 7) % 3 - 1);
    uint8_t buf[384 / 4 + 32];
    ck_assert_int_eq(or_encode(BN_TYPE_I2_S, w, 4, 96, buf), 0);
    float g = or_absmean_ternarize(w, 384, NULL), out[96 * 3];
    ck_assert_int_eq(or_decode_rows(BN_TYPE_I2_S, buf, 4, 96, 1, 3, 1.0f, out), 0);
    for (int e = 96; e < 384; e++)
        ck_assert(out[e - 96] == w[e] * g);
}
END_TEST

START_TEST(quantize_ties_even) {
    float x[6] = {127.0f, 2.5f, -2.5f, 3.5f, 0.5f, -127.0f};
    int8_t q[6];
    float s;
    or_quantize_row(x, 6, q, &s);
    ck_assert(s == 1.0f);
    const int8_t want[6] = {127, 2, -2, 4, 0, -127};
    ck_assert_mem_eq(q, want, 6);
    float z[3] = {0, 0, 0};
    or_quantize_row(z, 3, q, &s);
    ck_assert(s == 127.0f / 1e-5f);
}
END_TEST

START_TEST(ops_known_values) {
    float x[4] = {1, 0, 0, 0}, y[4];
    or_rope_head(x, 4, BN_ROPE_NORM, 10000.0f, 1.0f, 1); /* pair 0 turns by 1 rad */
    ck_assert(fabsf(x[0] - cosf(1.0f)) < 1e-7f && fabsf(x[1] - sinf(1.0f)) < 1e-7f);
    float n[4] = {1, 0, 0, 0};
    or_rope_head(n, 4, BN_ROPE_NEOX, 10000.0f, 1.0f, 1); /* NEOX pairs (0, 2) */
    ck_assert(fabsf(n[2] - sinf(1.0f)) < 1e-7f && n[1] == 0.0f);
    float r[2] = {3, 4};
    or_rms_norm_row(r, NULL, 2, 0.0f, y);
    ck_assert(fabsf(y[0] - 3.0f / sqrtf(12.5f)) < 1e-7f);
    float s[2] = {0, 0};
    or_softmax_row(s, 2, 1.0f, y);
    ck_assert(y[0] == 0.5f && y[1] == 0.5f);
    ck_assert(or_ffn_act(-1.0f, 5.0f, BN_ACT_RELU2) == 0.0f);
    ck_assert(or_ffn_act(3.0f, 2.0f, BN_ACT_RELU2) == 18.0f);
    ck_assert(fabsf(or_ffn_act(1.0f, 1.0f, BN_ACT_SILU) - 0.7310586f) < 1e-6f);
}
END_TEST

int main(void) {
    Suite *s = suite_create("conformance_oracle");
    TCase *tc = tcase_create("known_answers");
    tcase_add_test(tc, half_known_values);
    tcase_add_test(tc, bf16_known_values);
    tcase_add_test(tc, tq1_trits);
    tcase_add_test(tc, encode_known_blocks);
    tcase_add_test(tc, tq1_qh_elements);
    tcase_add_test(tc, i2s_blocks_span_rows);
    tcase_add_test(tc, quantize_ties_even);
    tcase_add_test(tc, ops_known_values);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
