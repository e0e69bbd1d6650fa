/* bn_hw_probe: ISA bits (per architecture) + topology (hwloc), with the
 * BITNET_ISA_DISABLE testing override applied to the usable bits. */
#include <stdlib.h>
#include <string.h>

#include "hw_private.h"

void bn_probe_isa(bn_hw_info *out) {
    bn_hw_probe_isa_arch(out);
    const char *disable = getenv("BITNET_ISA_DISABLE");
    if (disable && *disable) {
        /* Only isa: isa_cpu keeps telling what the CPU really reports. */
        out->isa = bn_isa_close(out->isa & ~bn_isa_parse_disable(disable));
    }
}

/* A topology failure is not fatal: the counts fall back to sysconf and the
 * failure is logged, so this returns BN_OK unless `out` is NULL. */
bn_status bn_hw_probe(bn_hw_info *out) {
    if (!out)
        return bn_fail(BN_ERR_INVALID, "bn_hw_probe: out is NULL");
    memset(out, 0, sizeof *out);
    out->struct_size = (uint32_t)sizeof *out;
    bn_probe_isa(out);
    if (bn_probe_topology(out) != BN_OK)
        bn_log(BN_LOG_WARN, "hardware topology: %s (using sysconf counts)", bn_last_error());
    return BN_OK;
}
