/*
 * Forced in front of every cpu-avx512 source of the emulated test build
 * (-include): the AVX-512 intrinsics become SIMDe's portable versions
 * (https://github.com/simd-everywhere/simde, pip package simde-py), which
 * this AVX2 host runs with its own AVX2 / FMA / F16C instructions.
 *
 * SIMDe 0.8.2 lacks eight intrinsics the plugin uses; they follow, each
 * built from the same operation at 256 bits (the host's F16C / AVX do the
 * conversions, so rounding is the hardware's) or, for the reductions, in
 * the order GCC's <avx512fintrin.h> adds (halves, then quarters, then
 * pairs), so a sum comes out as it does on a real AVX-512 CPU.
 *
 * Masked loads and stores are replaced too: SIMDe's read and write all
 * lanes (a store even writes zeros where the mask is clear), while the
 * instructions touch only the lanes the mask selects - which is what lets
 * the plugin run a vector over the ragged end of a row. Lane by lane here.
 */
#ifndef BN_TEST_SIMDE_SHIM_H
#define BN_TEST_SIMDE_SHIM_H

#include <immintrin.h>
#include <stdint.h>
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>

static inline simde__m256 emul_lo_ps(simde__m512 a) { return simde_mm512_castps512_ps256(a); }
static inline simde__m256 emul_hi_ps(simde__m512 a) { return simde_mm512_extractf32x8_ps(a, 1); }

static inline simde__m512d emul_mm512_cvtps_pd(simde__m256 a) {
    simde__m512d r = simde_mm512_castpd256_pd512(_mm256_cvtps_pd(_mm256_castps256_ps128(a)));
    return simde_mm512_insertf64x4(r, _mm256_cvtps_pd(_mm256_extractf128_ps(a, 1)), 1);
}
#undef _mm512_cvtps_pd
#define _mm512_cvtps_pd(a) emul_mm512_cvtps_pd(a)

/* imm: the same rounding control the instruction takes. */
#undef _mm512_cvtps_ph
#define _mm512_cvtps_ph(a, imm)                                                                                 \
    simde_mm256_inserti128_si256(simde_mm256_castsi128_si256(_mm256_cvtps_ph(emul_lo_ps(a), (imm))),            \
                                 _mm256_cvtps_ph(emul_hi_ps(a), (imm)), 1)

static inline simde__m512i emul_mm512_cvtepi8_epi32(simde__m128i a) {
    simde__m512i r = simde_mm512_castsi256_si512(_mm256_cvtepi8_epi32(a));
    return simde_mm512_inserti64x4(r, _mm256_cvtepi8_epi32(_mm_srli_si128(a, 8)), 1);
}
#undef _mm512_cvtepi8_epi32
#define _mm512_cvtepi8_epi32(a) emul_mm512_cvtepi8_epi32(a)

static inline simde__m512i emul_mm512_maskz_cvtps_epi32(simde__mmask16 k, simde__m512 a) {
    simde__m512i r = simde_mm512_castsi256_si512(_mm256_cvtps_epi32(emul_lo_ps(a)));
    r = simde_mm512_inserti64x4(r, _mm256_cvtps_epi32(emul_hi_ps(a)), 1);
    return simde_mm512_maskz_mov_epi32(k, r);
}
#undef _mm512_maskz_cvtps_epi32
#define _mm512_maskz_cvtps_epi32(k, a) emul_mm512_maskz_cvtps_epi32((k), (a))

static inline int32_t emul_mm512_reduce_add_epi32(simde__m512i a) {
    int32_t v[16], h[8], q[4];
    simde_mm512_storeu_si512(v, a);
    for (int i = 0; i < 8; i++)
        h[i] = (int32_t)((uint32_t)v[i] + (uint32_t)v[i + 8]);
    for (int i = 0; i < 4; i++)
        q[i] = (int32_t)((uint32_t)h[i] + (uint32_t)h[i + 4]);
    return (int32_t)((uint32_t)q[0] + (uint32_t)q[1] + (uint32_t)q[2] + (uint32_t)q[3]);
}
#undef _mm512_reduce_add_epi32
#define _mm512_reduce_add_epi32(a) emul_mm512_reduce_add_epi32(a)

/* GCC: T3 = hi256 + lo256; T6 = hi128(T3) + lo128(T3); T8 = T6 + T6[2,3,0,1];
 * result T8[0] + T8[1]. */
static inline float emul_mm512_reduce_add_ps(simde__m512 a) {
    float v[16], t3[8], t6[4], t8[4];
    simde_mm512_storeu_ps(v, a);
    for (int i = 0; i < 8; i++)
        t3[i] = v[i + 8] + v[i];
    for (int i = 0; i < 4; i++)
        t6[i] = t3[i + 4] + t3[i];
    for (int i = 0; i < 4; i++)
        t8[i] = t6[i] + t6[(i + 2) & 3];
    return t8[0] + t8[1];
}
#undef _mm512_reduce_add_ps
#define _mm512_reduce_add_ps(a) emul_mm512_reduce_add_ps(a)

/* GCC: T3 = hi256 + lo256; T6 = hi128(T3) + lo128(T3); result T6[0] + T6[1]. */
static inline double emul_mm512_reduce_add_pd(simde__m512d a) {
    double v[8], t3[4], t6[2];
    simde_mm512_storeu_pd(v, a);
    for (int i = 0; i < 4; i++)
        t3[i] = v[i + 4] + v[i];
    for (int i = 0; i < 2; i++)
        t6[i] = t3[i + 2] + t3[i];
    return t6[0] + t6[1];
}
#undef _mm512_reduce_add_pd
#define _mm512_reduce_add_pd(a) emul_mm512_reduce_add_pd(a)

static inline void emul_mm_mask_storeu_epi8(void *p, simde__mmask16 k, simde__m128i a) {
    uint8_t v[16];
    simde_mm_storeu_si128((simde__m128i *)v, a);
    for (int i = 0; i < 16; i++)
        if (k >> i & 1)
            ((uint8_t *)p)[i] = v[i];
}
#undef _mm_mask_storeu_epi8
#define _mm_mask_storeu_epi8(p, k, a) emul_mm_mask_storeu_epi8((p), (k), (a))


static inline simde__m512 emul_mm512_mask_loadu_ps(simde__m512 src, simde__mmask16 k, const void *p) {
    float v[16];
    simde_mm512_storeu_ps(v, src);
    for (int i = 0; i < 16; i++)
        if (k >> i & 1)
            v[i] = ((const float *)p)[i];
    return simde_mm512_loadu_ps(v);
}
#undef _mm512_mask_loadu_ps
#define _mm512_mask_loadu_ps(src, k, p) emul_mm512_mask_loadu_ps((src), (k), (p))
#undef _mm512_maskz_loadu_ps
#define _mm512_maskz_loadu_ps(k, p) emul_mm512_mask_loadu_ps(simde_mm512_setzero_ps(), (k), (p))

static inline void emul_mm512_mask_storeu_ps(void *p, simde__mmask16 k, simde__m512 a) {
    float v[16];
    simde_mm512_storeu_ps(v, a);
    for (int i = 0; i < 16; i++)
        if (k >> i & 1)
            ((float *)p)[i] = v[i];
}
#undef _mm512_mask_storeu_ps
#define _mm512_mask_storeu_ps(p, k, a) emul_mm512_mask_storeu_ps((p), (k), (a))

static inline simde__m256i emul_mm256_maskz_loadu_epi16(simde__mmask16 k, const void *p) {
    int16_t v[16] = {0};
    for (int i = 0; i < 16; i++)
        if (k >> i & 1)
            v[i] = ((const int16_t *)p)[i];
    return simde_mm256_loadu_si256((const simde__m256i *)v);
}
#undef _mm256_maskz_loadu_epi16
#define _mm256_maskz_loadu_epi16(k, p) emul_mm256_maskz_loadu_epi16((k), (p))

static inline simde__m128i emul_mm_maskz_loadu_epi8(simde__mmask16 k, const void *p) {
    int8_t v[16] = {0};
    for (int i = 0; i < 16; i++)
        if (k >> i & 1)
            v[i] = ((const int8_t *)p)[i];
    return simde_mm_loadu_si128((const simde__m128i *)v);
}
#undef _mm_maskz_loadu_epi8
#define _mm_maskz_loadu_epi8(k, p) emul_mm_maskz_loadu_epi8((k), (p))

#endif
