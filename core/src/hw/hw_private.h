/* Declarations shared by the files of the hardware probe (core/src/hw/). */
#ifndef BITNET_HW_PRIVATE_H
#define BITNET_HW_PRIVATE_H

#include "internal.h"

/* Every x86 bit that needs the AVX (YMM) register state saved by the OS. */
#define BN_ISA_AVX512_ALL                                                                          \
    (BN_ISA_AVX512F | BN_ISA_AVX512BW | BN_ISA_AVX512VL | BN_ISA_AVX512DQ | BN_ISA_AVX512VNNI |    \
     BN_ISA_AVX512VBMI | BN_ISA_AVX512BF16)
#define BN_ISA_AVX_ALL                                                                             \
    (BN_ISA_AVX | BN_ISA_AVX2 | BN_ISA_FMA | BN_ISA_F16C | BN_ISA_AVX_VNNI | BN_ISA_AVX512_ALL)
#define BN_ISA_NEON_ALL (BN_ISA_NEON | BN_ISA_DOTPROD | BN_ISA_SVE | BN_ISA_I8MM)

/* Architecture-specific part of bn_probe_isa: arch, vendor, brand, isa_cpu
 * and isa (usable after OS checks). One definition per architecture, each
 * file #if-guarded (cpuid_x86.c, hwcap_arm.c, isa_generic.c). */
void bn_hw_probe_isa_arch(bn_hw_info *out);

/* Drop bits whose prerequisite is missing (AVX2 without AVX, AVX512BW
 * without AVX512F, dotprod without NEON, ...). */
uint32_t bn_isa_close(uint32_t isa);

/* Bits named by a BITNET_ISA_DISABLE list ("avx512,avx2", "all", ...);
 * unknown entries are warned about with bn_log and skipped. */
uint32_t bn_isa_parse_disable(const char *list);

/* Sizes and memory from sysconf / /proc (used alone when hwloc fails, and
 * to fill what hwloc could not tell). */
void bn_hw_fill_fallback_counts(bn_hw_info *out);
void bn_hw_fill_fallback_caches(bn_hw_info *out);
void bn_hw_fill_memory(bn_hw_info *out);

/* Display-class PCI devices of a loaded hwloc topology (pci_gpus.c). */
struct hwloc_topology;
void bn_hw_fill_gpus(struct hwloc_topology *topo, bn_hw_info *out);

#endif
