/* Ternary MAD kernel with AVX-512 VNNI (vpdpbusd); compiled with -mavx512vnni
 * and called only when hw->isa has BN_ISA_AVX512VNNI. */
#define KN(x) x##_vnni
#define DP(acc, u8, s8) _mm512_dpbusd_epi32((acc), (u8), (s8))
#include "ternary_kernel.inc"
