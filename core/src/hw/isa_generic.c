/* ISA probe for architectures without SIMD plugins: no ISA bits, only the
 * machine name (portable C plugins still run). */
#if !defined(__x86_64__) && !defined(__i386__) && !defined(__aarch64__)

#include <stdio.h>
#include <sys/utsname.h>

#include "hw_private.h"

void bn_hw_probe_isa_arch(bn_hw_info *out) {
    struct utsname u;
    if (uname(&u) == 0)
        snprintf(out->arch, sizeof out->arch, "%s", u.machine);
    else
        snprintf(out->arch, sizeof out->arch, "unknown");
    out->isa = out->isa_cpu = 0;
}

#else
typedef int bn_isa_generic_unused; /* ISO C wants a non-empty file */
#endif
