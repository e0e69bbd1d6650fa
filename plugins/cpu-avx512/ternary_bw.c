/* Ternary MAD kernel with AVX-512 BW only: maddubs (u8 x s8 -> pairs in
 * int16, at most 2 * 2 * 128 here, so no saturation) then madd with ones
 * gives the same 4-byte lanes as vpdpbusd. */
#include <immintrin.h>

#include "a5_internal.h"

A5_INLINE __m512i dp_bw(__m512i acc, __m512i u8, __m512i s8) {
    __m512i pairs = _mm512_maddubs_epi16(u8, s8);
    return _mm512_add_epi32(acc, _mm512_madd_epi16(pairs, _mm512_set1_epi16(1)));
}

#define KN(x) x##_bw
#define DP(acc, u8, s8) dp_bw((acc), (u8), (s8))
#include "ternary_kernel.inc"
