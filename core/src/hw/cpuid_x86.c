/* x86 ISA probe: cpuid feature bits, checked against the register state the
 * OS saves (XCR0), since a CPU bit alone does not make AVX usable. */
#if defined(__x86_64__) || defined(__i386__)

#include <cpuid.h>
#include <string.h>

#include "hw_private.h"

/* XCR0 state components (Intel SDM vol. 1, 13.1). */
#define XCR0_SSE (1u << 1)
#define XCR0_AVX (1u << 2)
#define XCR0_OPMASK (1u << 5)
#define XCR0_ZMM_HI256 (1u << 6)
#define XCR0_HI16_ZMM (1u << 7)

typedef struct {
    unsigned a, b, c, d;
} regs;

static int cpuid(unsigned leaf, unsigned sub, regs *r) {
    memset(r, 0, sizeof *r);
    return __get_cpuid_count(leaf, sub, &r->a, &r->b, &r->c, &r->d);
}

/* The mnemonic needs only the assembler, not -mxsave: callers check
 * OSXSAVE first, since xgetbv faults where the OS has not enabled it. */
static uint64_t read_xcr0(void) {
    unsigned lo, hi;
    __asm__ __volatile__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

static uint32_t bit(unsigned reg, int n, uint32_t isa_bit) {
    return (reg >> n) & 1u ? isa_bit : 0;
}

static void read_brand(char *brand, size_t len) {
    regs r;
    char buf[49] = {0};
    if ((unsigned)__get_cpuid_max(0x80000000u, NULL) < 0x80000004u)
        return;
    for (unsigned i = 0; i < 3; i++) {
        cpuid(0x80000002u + i, 0, &r);
        memcpy(buf + 16 * i, &r, 16);
    }
    const char *s = buf;
    while (*s == ' ')
        s++; /* some CPUs pad the brand string on the left */
    size_t n = strlen(s);
    while (n && s[n - 1] == ' ')
        n--;
    if (n >= len)
        n = len - 1;
    memcpy(brand, s, n);
    brand[n] = '\0';
}

void bn_hw_probe_isa_arch(bn_hw_info *out) {
    regs r;
#if defined(__x86_64__)
    strcpy(out->arch, "x86_64");
#else
    strcpy(out->arch, "i386");
#endif
    unsigned max_leaf = __get_cpuid_max(0, NULL);
    if (max_leaf == 0)
        return;
    cpuid(0, 0, &r);
    memcpy(out->cpu_vendor, &r.b, 4);
    memcpy(out->cpu_vendor + 4, &r.d, 4);
    memcpy(out->cpu_vendor + 8, &r.c, 4);
    out->cpu_vendor[12] = '\0';
    read_brand(out->cpu_brand, sizeof out->cpu_brand);

    uint32_t cpu = 0;
    int osxsave = 0;
    cpuid(1, 0, &r);
    cpu |= bit(r.c, 0, BN_ISA_SSE3) | bit(r.c, 9, BN_ISA_SSSE3) | bit(r.c, 19, BN_ISA_SSE41);
    cpu |= bit(r.c, 12, BN_ISA_FMA) | bit(r.c, 28, BN_ISA_AVX) | bit(r.c, 29, BN_ISA_F16C);
    osxsave = (r.c >> 27) & 1;

    if (max_leaf >= 7) {
        cpuid(7, 0, &r);
        unsigned max_sub = r.a;
        cpu |= bit(r.b, 5, BN_ISA_AVX2) | bit(r.b, 16, BN_ISA_AVX512F) |
               bit(r.b, 17, BN_ISA_AVX512DQ) | bit(r.b, 30, BN_ISA_AVX512BW) |
               bit(r.b, 31, BN_ISA_AVX512VL);
        cpu |= bit(r.c, 1, BN_ISA_AVX512VBMI) | bit(r.c, 11, BN_ISA_AVX512VNNI);
        if (max_sub >= 1) {
            cpuid(7, 1, &r);
            cpu |= bit(r.a, 4, BN_ISA_AVX_VNNI) | bit(r.a, 5, BN_ISA_AVX512BF16);
        }
    }
    out->isa_cpu = cpu;

    /* Usable = CPU bit + the OS saves the registers it touches. */
    uint32_t isa = cpu;
    uint64_t xcr0 = osxsave ? read_xcr0() : 0;
    if ((xcr0 & (XCR0_SSE | XCR0_AVX)) != (XCR0_SSE | XCR0_AVX))
        isa &= ~BN_ISA_AVX_ALL;
    const uint64_t zmm = XCR0_SSE | XCR0_AVX | XCR0_OPMASK | XCR0_ZMM_HI256 | XCR0_HI16_ZMM;
    if ((xcr0 & zmm) != zmm)
        isa &= ~BN_ISA_AVX512_ALL;
    out->isa = bn_isa_close(isa);
}

#else
typedef int bn_cpuid_x86_unused; /* ISO C wants a non-empty file */
#endif
