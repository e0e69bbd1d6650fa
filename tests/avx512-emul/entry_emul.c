/*
 * "cpu-avx512-emul": the cpu-avx512 plugin's own sources, built with
 * SIMDe in place of the AVX-512 instructions (simde_shim.h), so that the
 * plugin's code runs on a CPU without AVX-512. A test double: it lives in
 * its own directory, is never installed, and only tests that name it load
 * it.
 *
 * entry.c is compiled with bn_plugin_entry renamed to a5_inner_entry; this
 * file exports the real entry point with the plugin's table, changing three
 * slots: the name, score() (AVX2 + FMA + F16C: what SIMDe's code runs on
 * here) and init(), which hands the plugin a hardware description with
 * AVX-512 F/BW/VL/DQ and, unless BN_AVX512_EMUL_NO_VNNI is set, VNNI and
 * VBMI, so both of its ternary kernel families can be chosen.
 */
#include <stdio.h>
#include <stdlib.h>

#include "bitnet/backend.h"

const bn_backend *a5_inner_entry(void);
__attribute__((visibility("default"))) const bn_backend *bn_plugin_entry(void);

static bn_backend emul;
static bn_status (*inner_init)(const bn_services *svc, const bn_hw_info *hw, bn_backend_ctx **out);

static int emul_score(const bn_hw_info *hw, char *why, size_t why_len) {
    const uint32_t need = BN_ISA_AVX2 | BN_ISA_FMA | BN_ISA_F16C;
    if (!hw || (hw->isa & need) != need) {
        if (why && why_len)
            snprintf(why, why_len, "the emulated AVX-512 build runs on AVX2 + FMA + F16C");
        return 0;
    }
    return 1; /* never preferred over a real plugin */
}

static bn_status emul_init(const bn_services *svc, const bn_hw_info *hw, bn_backend_ctx **out) {
    bn_hw_info h = *hw;
    h.isa |= BN_ISA_AVX512F | BN_ISA_AVX512BW | BN_ISA_AVX512VL | BN_ISA_AVX512DQ;
    const char *no_vnni = getenv("BN_AVX512_EMUL_NO_VNNI");
    if (!no_vnni || !*no_vnni || *no_vnni == '0')
        h.isa |= BN_ISA_AVX512VNNI | BN_ISA_AVX512VBMI;
    return inner_init(svc, &h, out);
}

const bn_backend *bn_plugin_entry(void) {
    if (!emul.score) {
        emul = *a5_inner_entry();
        inner_init = emul.init;
        emul.info.name = "cpu-avx512-emul";
        emul.info.description = "cpu-avx512's sources on SIMDe (AVX-512 emulated with AVX2): a test double";
        emul.score = emul_score;
        emul.init = emul_init;
    }
    return &emul;
}
