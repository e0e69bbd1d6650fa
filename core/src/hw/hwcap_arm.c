/* AArch64 ISA probe: the kernel's HWCAP words. The kernel only reports a
 * feature it supports, so isa_cpu == isa here. */
#if defined(__aarch64__)

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

#include "hw_private.h"

/* "CPU implementer" of /proc/cpuinfo (MIDR_EL1 bits 31-24) as a name. */
static void read_vendor(char *vendor, size_t len) {
    static const struct {
        unsigned id;
        const char *name;
    } implementers[] = {
        {0x41, "ARM"},     {0x42, "Broadcom"}, {0x43, "Cavium"}, {0x46, "Fujitsu"},
        {0x48, "HiSilicon"}, {0x4e, "NVIDIA"},  {0x51, "Qualcomm"}, {0x61, "Apple"},
        {0xc0, "Ampere"},
    };
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[256];
    unsigned id = 0;
    int found = 0;
    while (!found && fgets(line, sizeof line, f))
        found = sscanf(line, "CPU implementer : %x", &id) == 1;
    fclose(f);
    if (!found)
        return;
    for (size_t i = 0; i < sizeof implementers / sizeof implementers[0]; i++)
        if (implementers[i].id == id) {
            snprintf(vendor, len, "%s", implementers[i].name);
            return;
        }
    snprintf(vendor, len, "0x%02x", id);
}

void bn_hw_probe_isa_arch(bn_hw_info *out) {
    strcpy(out->arch, "aarch64");
    read_vendor(out->cpu_vendor, sizeof out->cpu_vendor);

    uint32_t isa = 0;
    unsigned long hw = getauxval(AT_HWCAP);
#ifdef HWCAP_ASIMD
    if (hw & HWCAP_ASIMD)
        isa |= BN_ISA_NEON;
#endif
#ifdef HWCAP_ASIMDDP
    if (hw & HWCAP_ASIMDDP)
        isa |= BN_ISA_DOTPROD;
#endif
#ifdef HWCAP_SVE
    if (hw & HWCAP_SVE)
        isa |= BN_ISA_SVE;
#endif
#if defined(AT_HWCAP2) && defined(HWCAP2_I8MM)
    if (getauxval(AT_HWCAP2) & HWCAP2_I8MM)
        isa |= BN_ISA_I8MM;
#endif
    (void)hw;
    out->isa_cpu = isa;
    out->isa = bn_isa_close(isa);
}

#else
typedef int bn_hwcap_arm_unused; /* ISO C wants a non-empty file */
#endif
