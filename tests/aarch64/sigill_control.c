/* Control for scripts/test-aarch64.sh: executes one sdot (dotprod) and one
 * smmla (i8mm). Under QEMU_CPU=cortex-a53 it must die of SIGILL, which
 * shows that the emulated CPU really lacks those instructions, so the
 * suite passing there means cpu-neon never executed them. Argument: "dot"
 * or "mmla". */
#include <arm_neon.h>
#include <stdio.h>
#include <string.h>

__attribute__((target("arch=armv8.2-a+dotprod"))) static int dot(int v) {
    int8x16_t a = vdupq_n_s8((int8_t)v);
    return vaddvq_s32(vdotq_s32(vdupq_n_s32(0), a, a));
}

__attribute__((target("arch=armv8.2-a+dotprod+i8mm"))) static int mmla(int v) {
    int8x16_t a = vdupq_n_s8((int8_t)v);
    return vaddvq_s32(vmmlaq_s32(vdupq_n_s32(0), a, a));
}

int main(int argc, char **argv) {
    volatile int v = argc;
    int r = argc > 1 && !strcmp(argv[1], "mmla") ? mmla(v) : dot(v);
    printf("%d\n", r);
    return 0;
}
