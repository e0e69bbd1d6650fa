/*
 * bench-peak: the arithmetic ceilings of one x86 core that bound batched
 * decode (many sequences per step), measured, and the step-time floor they
 * put on the BitNet 2B-4T shape with 16 sequences.
 *
 * Decoding one sequence is bound by memory bandwidth (`bitnet bench` prints
 * that roofline); 16 sequences read the same weights once and are bound by
 * arithmetic instead. Two loops measure it, each at its best case (data in
 * L1, enough independent chains to hide latency):
 *  - fp32 FMA (AVX2): the F16 LM head's cost per token;
 *  - the token-lane ternary loop of cpu-avx2 (matmul_lanes.c): per row and
 *    part of a block, 8 lookups of 16 int16 lanes in a 20 KB table indexed
 *    by one 64-bit word of combination numbers, added into the row's sums.
 *    512 multiply-adds per row and part.
 * The floor of a 16-sequence step on T cores is then
 *   head FMAs / (T * FMA rate) + ternary MACs / (T * lookup rate),
 * before norms, attention and everything else: no kernel can beat it on
 * this core, so it bounds the ratio `bitnet bench --parallel 1,16` can show.
 * On a CPU with AVX-512 F + VNNI (where the loader picks cpu-avx512) two
 * more loops give that plugin's floor: 16-lane fp32 FMAs (its F16 head)
 * and vpdpbusd, 64 int8 multiply-adds each (its ternary kernel).
 *
 *   bench-peak [--ms N]     (default 300 ms per loop, best of 5 runs)
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__)
#include <immintrin.h>

#define CHAINS 12         /* independent FMA chains: latency x throughput of current cores */
#define COMBOS 81         /* table rows (3^4 code combinations) */
#define GROUPS 8          /* code bytes per part: entries per row of the table */
#define ROWS 128          /* rows per pass: their sums (4 KB) stay in L1 beside the table */
#define TABLE_BYTES (COMBOS * GROUPS * 32)

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* n iterations of CHAINS independent 8-lane FMAs; returns a sum so the
 * compiler keeps them. */
__attribute__((target("avx2,fma"), noinline)) static float fma_loop(int64_t n) {
    __m256 acc[CHAINS], x = _mm256_set1_ps(0.999f), y = _mm256_set1_ps(1e-7f);
    for (int i = 0; i < CHAINS; i++)
        acc[i] = _mm256_set1_ps((float)i);
    for (int64_t k = 0; k < n; k++)
#pragma GCC unroll 16 /* the chains must live in registers, not in memory */
        for (int i = 0; i < CHAINS; i++)
            acc[i] = _mm256_fmadd_ps(acc[i], x, y);
    __m256 s = acc[0];
    for (int i = 1; i < CHAINS; i++)
        s = _mm256_add_ps(s, acc[i]);
    float f[8];
    _mm256_storeu_ps(f, s);
    return f[0] + f[7];
}

/* The same with 16-lane FMAs, and with vpdpbusd (64 u8 x s8 products
 * summed into 16 int32 lanes); AVX-512 CPUs only (see main). */
__attribute__((target("avx512f"), noinline)) static float fma512_loop(int64_t n) {
    __m512 acc[CHAINS], x = _mm512_set1_ps(0.999f), y = _mm512_set1_ps(1e-7f);
    for (int i = 0; i < CHAINS; i++)
        acc[i] = _mm512_set1_ps((float)i);
    for (int64_t k = 0; k < n; k++)
#pragma GCC unroll 16
        for (int i = 0; i < CHAINS; i++)
            acc[i] = _mm512_fmadd_ps(acc[i], x, y);
    __m512 s = acc[0];
    for (int i = 1; i < CHAINS; i++)
        s = _mm512_add_ps(s, acc[i]);
    return _mm512_reduce_add_ps(s);
}

__attribute__((target("avx512f,avx512vnni"), noinline)) static float dpbusd_loop(int64_t n) {
    __m512i acc[CHAINS], u = _mm512_set1_epi8(2), v = _mm512_set1_epi8(-3);
    for (int i = 0; i < CHAINS; i++)
        acc[i] = _mm512_set1_epi32(i);
    for (int64_t k = 0; k < n; k++)
#pragma GCC unroll 16
        for (int i = 0; i < CHAINS; i++)
            acc[i] = _mm512_dpbusd_epi32(acc[i], u, v);
    __m512i s = acc[0];
    for (int i = 1; i < CHAINS; i++)
        s = _mm512_add_epi32(s, acc[i]);
    return (float)_mm512_reduce_add_epi32(s);
}

enum { LOOP_FMA, LOOP_LOOKUP, LOOP_FMA512, LOOP_DPBUSD };

/* The lookup loop of matmul_lanes.c (row_lookup, part_rows), `passes`
 * times over ROWS rows. */
__attribute__((target("avx2"), noinline)) static int lookup_loop(const uint8_t *tab, const uint8_t *combos,
                                                                  __m256i *acc, int64_t passes) {
    for (int64_t p = 0; p < passes; p++)
        for (int64_t i = 0; i < ROWS; i++) {
            uint64_t c;
            memcpy(&c, combos + i * 8, 8);
#define ENTRY(g) ((const __m256i *)(tab + (((g) ? c >> (8 * (g) - 8) : c << 8) & 0xff00) + (g) * 32))
            __m256i a0 = _mm256_add_epi16(_mm256_load_si256(ENTRY(0)), _mm256_load_si256(ENTRY(2)));
            __m256i a1 = _mm256_add_epi16(_mm256_load_si256(ENTRY(1)), _mm256_load_si256(ENTRY(3)));
            a0 = _mm256_add_epi16(a0, _mm256_add_epi16(_mm256_load_si256(ENTRY(4)), _mm256_load_si256(ENTRY(6))));
            a1 = _mm256_add_epi16(a1, _mm256_add_epi16(_mm256_load_si256(ENTRY(5)), _mm256_load_si256(ENTRY(7))));
#undef ENTRY
            acc[i] = _mm256_add_epi16(acc[i], _mm256_add_epi16(a0, a1));
        }
    int16_t v[16];
    _mm256_storeu_si256((__m256i *)v, acc[ROWS - 1]);
    return v[3];
}

/* Best of 5 runs of about ms milliseconds each: work units per second. */
static float run_loop(int which, int64_t n, const uint8_t *tab, const uint8_t *combos, void *acc) {
    switch (which) {
    case LOOP_LOOKUP: return (float)lookup_loop(tab, combos, acc, n);
    case LOOP_FMA512: return fma512_loop(n);
    case LOOP_DPBUSD: return dpbusd_loop(n);
    default: return fma_loop(n);
    }
}

static double best_rate(int which, double ms, const uint8_t *tab, const uint8_t *combos, void *acc) {
    int64_t n = 1000;
    volatile float sink = 0;
    for (;;) { /* calibrate */
        double t0 = now_s();
        sink += run_loop(which, n, tab, combos, acc);
        double dt = now_s() - t0;
        if (dt > ms * 1e-3 / 4 || n > (int64_t)1 << 40)
            break;
        n *= 2;
    }
    double best = 0;
    for (int r = 0; r < 5; r++) {
        double t0 = now_s();
        sink += run_loop(which, n * 4, tab, combos, acc);
        double rate = (double)(n * 4) / (now_s() - t0);
        best = rate > best ? rate : best;
    }
    (void)sink;
    return best;
}

/* The floor of a 16-sequence step on 1 and 2 cores at these rates. */
static void print_floors(const char *plugin, double ternary, double mac, double head, double fma) {
    for (int t = 1; t <= 2; t++)
        printf("%s floor on %d core%s: ternary %.0f ms + head %.0f ms = %.0f ms per step; x4 over "
               "one sequence needs that sequence at >= %.0f ms per step\n",
               plugin, t, t > 1 ? "s (perfect scaling)" : "", 1e3 * ternary / (t * mac), 1e3 * head / (t * fma),
               1e3 * (ternary / (t * mac) + head / (t * fma)), 1e3 * (ternary / (t * mac) + head / (t * fma)) / 4);
}

int main(int argc, char **argv) {
    double ms = 300;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--ms") && i + 1 < argc)
            ms = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: bench-peak [--ms N]\n"
                            "Measures one core's fp32 FMA rate and the token-lane lookup rate of cpu-avx2\n"
                            "(with AVX-512 + VNNI also 16-lane FMA and vpdpbusd rates, cpu-avx512's), and the\n"
                            "floor they put on a 16-sequence decode step of the 2B-4T shape.\n");
            return strcmp(argv[i], "-h") && strcmp(argv[i], "--help") ? 2 : 0;
        }
    }
    if (!(ms > 0)) {
        fprintf(stderr, "bench-peak: --ms must be a positive number\n");
        return 2;
    }
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
        fprintf(stderr, "bench-peak: this CPU has no AVX2 + FMA\n");
        return 1;
    }
    uint8_t *tab = aligned_alloc(64, TABLE_BYTES), *combos = aligned_alloc(64, ROWS * 8);
    void *acc = aligned_alloc(64, ROWS * 32);
    if (!tab || !combos || !acc) {
        fprintf(stderr, "bench-peak: out of memory\n");
        return 1;
    }
    uint64_t s = 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < TABLE_BYTES; i++)
        tab[i] = (uint8_t)((s = s * 6364136223846793005ull + 1442695040888963407ull) >> 56);
    for (int i = 0; i < ROWS * 8; i++)
        combos[i] = (uint8_t)(((s = s * 6364136223846793005ull + 1442695040888963407ull) >> 33) % COMBOS);
    memset(acc, 0, ROWS * 32);

    double fma = best_rate(LOOP_FMA, ms, tab, combos, acc) * CHAINS * 8;     /* fp32 FMAs / s */
    double mac = best_rate(LOOP_LOOKUP, ms, tab, combos, acc) * ROWS * 512;  /* ternary MACs / s */
    /* 2B-4T: 30 layers of q, o 2560x2560, k, v 640x2560, gate, up 6912x2560, down 2560x6912 */
    const double ternary = 30.0 * (2 * 2560.0 * 2560 + 2 * 640.0 * 2560 + 3 * 6912.0 * 2560) * 16;
    const double head = 128256.0 * 2560 * 16;
    printf("one core: fp32 FMA %.1f G/s; token-lane ternary lookups %.1f G MAC/s (%.2f ns per row and part)\n",
           fma * 1e-9, mac * 1e-9, 512e9 / mac);
    printf("2B-4T, 16 sequences, one step: %.1f G ternary MACs, %.2f G head FMAs (F16 head)\n", ternary * 1e-9,
           head * 1e-9);
    print_floors("cpu-avx2", ternary, mac, head, fma);
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vnni")) {
        double fma512 = best_rate(LOOP_FMA512, ms, tab, combos, acc) * CHAINS * 16;
        double dp = best_rate(LOOP_DPBUSD, ms, tab, combos, acc) * CHAINS * 64;
        printf("one core, AVX-512: fp32 FMA %.1f G/s; vpdpbusd %.1f G int8 MAC/s\n", fma512 * 1e-9, dp * 1e-9);
        print_floors("cpu-avx512", ternary, dp, head, fma512);
    }
    free(tab);
    free(combos);
    free(acc);
    return 0;
}
#else
int main(void) {
    fprintf(stderr, "bench-peak: x86-64 only (it measures AVX2 loops)\n");
    return 1;
}
#endif
