/* ISA bit names, their dependencies, and the BITNET_ISA_DISABLE parser. */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "hw_private.h"

static const struct {
    const char *name;
    uint32_t bit;
} isa_names[] = {
    {"sse3", BN_ISA_SSE3},
    {"ssse3", BN_ISA_SSSE3},
    {"sse4.1", BN_ISA_SSE41},
    {"avx", BN_ISA_AVX},
    {"avx2", BN_ISA_AVX2},
    {"fma", BN_ISA_FMA},
    {"f16c", BN_ISA_F16C},
    {"avxvnni", BN_ISA_AVX_VNNI},
    {"avx512f", BN_ISA_AVX512F},
    {"avx512bw", BN_ISA_AVX512BW},
    {"avx512vl", BN_ISA_AVX512VL},
    {"avx512dq", BN_ISA_AVX512DQ},
    {"avx512vnni", BN_ISA_AVX512VNNI},
    {"avx512vbmi", BN_ISA_AVX512VBMI},
    {"avx512bf16", BN_ISA_AVX512BF16},
    {"neon", BN_ISA_NEON},
    {"dotprod", BN_ISA_DOTPROD},
    {"sve", BN_ISA_SVE},
    {"i8mm", BN_ISA_I8MM},
};

#define N_NAMES (sizeof isa_names / sizeof isa_names[0])

uint32_t bn_isa_from_name(const char *name) {
    if (!name)
        return 0;
    for (size_t i = 0; i < N_NAMES; i++)
        if (strcasecmp(name, isa_names[i].name) == 0)
            return isa_names[i].bit;
    return 0;
}

void bn_isa_to_string(uint32_t isa, char *buf, size_t len) {
    if (!buf || len == 0)
        return;
    buf[0] = '\0';
    size_t used = 0;
    for (size_t i = 0; i < N_NAMES; i++) {
        if (!(isa & isa_names[i].bit))
            continue;
        size_t n = strlen(isa_names[i].name) + (used ? 1 : 0);
        if (used + n + 1 > len)
            break; /* whole names only: a cut name would read as another ISA */
        if (used)
            buf[used++] = ',';
        strcpy(buf + used, isa_names[i].name);
        used = strlen(buf);
    }
}

uint32_t bn_isa_close(uint32_t isa) {
    if (!(isa & BN_ISA_AVX))
        isa &= ~BN_ISA_AVX_ALL;
    if (!(isa & BN_ISA_AVX512F))
        isa &= ~BN_ISA_AVX512_ALL;
    if (!(isa & BN_ISA_NEON))
        isa &= ~BN_ISA_NEON_ALL;
    return isa;
}

/* One entry of the disable list, already trimmed; 0 with a warning if unknown. */
static uint32_t disable_entry(const char *name) {
    if (strcasecmp(name, "all") == 0)
        return UINT32_MAX;
    if (strcasecmp(name, "avx512") == 0)
        return BN_ISA_AVX512_ALL;
    uint32_t bit = bn_isa_from_name(name);
    if (!bit)
        bn_log(BN_LOG_WARN, "BITNET_ISA_DISABLE: unknown ISA name '%s' ignored", name);
    return bit;
}

uint32_t bn_isa_parse_disable(const char *list) {
    uint32_t bits = 0;
    if (!list)
        return 0;
    const char *p = list;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        char name[32];
        while (n && isspace((unsigned char)*p)) {
            p++;
            n--;
        }
        while (n && isspace((unsigned char)p[n - 1]))
            n--;
        if (n >= sizeof name) {
            bn_log(BN_LOG_WARN, "BITNET_ISA_DISABLE: unknown ISA name '%.*s' ignored", (int)n, p);
        } else if (n > 0) {
            memcpy(name, p, n);
            name[n] = '\0';
            bits |= disable_entry(name);
        }
        if (!end)
            break;
        p = end + 1;
    }
    return bits;
}
