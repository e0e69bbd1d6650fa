/* bn_hw_probe, the BITNET_ISA_DISABLE override and ISA names, checked
 * against what the kernel reports independently (/proc, /sys). */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bitnet/bitnet.h"

#define AVX512_BITS                                                                                \
    (BN_ISA_AVX512F | BN_ISA_AVX512BW | BN_ISA_AVX512VL | BN_ISA_AVX512DQ | BN_ISA_AVX512VNNI |    \
     BN_ISA_AVX512VBMI | BN_ISA_AVX512BF16)
#define AVX_DEPENDENT_BITS (BN_ISA_AVX2 | BN_ISA_FMA | BN_ISA_F16C | BN_ISA_AVX_VNNI | AVX512_BITS)

/* ---- independent sources ------------------------------------------------ */

/* Value of the first "key : value" line of /proc/cpuinfo, "" if none. */
static void cpuinfo_field(const char *key, char *val, size_t len) {
    val[0] = '\0';
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    static char line[8192];
    size_t klen = strlen(key);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, klen) != 0 || (line[klen] != ' ' && line[klen] != '\t' && line[klen] != ':'))
            continue;
        const char *c = strchr(line, ':');
        if (!c)
            continue;
        c++;
        while (*c == ' ')
            c++;
        snprintf(val, len, "%s", c);
        val[strcspn(val, "\n")] = '\0';
        break;
    }
    fclose(f);
}

static int has_flag(const char *flags, const char *flag) {
    size_t n = strlen(flag);
    for (const char *p = flags; (p = strstr(p, flag)) != NULL; p += n)
        if ((p == flags || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
            return 1;
    return 0;
}

/* Display-class (0x03xxxx) PCI functions listed by the kernel. */
static int count_sysfs_display_devices(void) {
    DIR *d = opendir("/sys/bus/pci/devices");
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[512];
        snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/class", e->d_name);
        FILE *f = fopen(path, "r");
        unsigned cls = 0;
        if (f) {
            if (fscanf(f, "%x", &cls) == 1 && (cls >> 16) == 0x03)
                n++;
            fclose(f);
        }
    }
    closedir(d);
    return n;
}

static bn_hw_info probe(const char *disable) {
    if (disable)
        setenv("BITNET_ISA_DISABLE", disable, 1);
    else
        unsetenv("BITNET_ISA_DISABLE");
    bn_hw_info hw;
    memset(&hw, 0xA5, sizeof hw); /* the probe must overwrite everything */
    ck_assert_int_eq(bn_hw_probe(&hw), BN_OK);
    return hw;
}

/* ---- hw_probe ------------------------------------------------------------ */

START_TEST(probe_sane_values) {
    bn_hw_info hw = probe(NULL);
    ck_assert_uint_eq(hw.struct_size, sizeof(bn_hw_info));
    ck_assert(hw.arch[0] != '\0');
    ck_assert(memchr(hw.arch, '\0', sizeof hw.arch) != NULL);
    ck_assert(memchr(hw.cpu_vendor, '\0', sizeof hw.cpu_vendor) != NULL);
    ck_assert(memchr(hw.cpu_brand, '\0', sizeof hw.cpu_brand) != NULL);
    ck_assert_int_ge(hw.n_cores, 1);
    ck_assert_int_ge(hw.n_pus, hw.n_cores);
    ck_assert_int_ge(hw.n_packages, 1);
    ck_assert_int_le(hw.n_packages, hw.n_cores);
    ck_assert_int_ge(hw.n_numa, 1);
    ck_assert_int_le(hw.n_pus, (int)sysconf(_SC_NPROCESSORS_CONF));
    ck_assert_uint_gt(hw.mem_total_bytes, 0);
    ck_assert_uint_gt(hw.mem_available_bytes, 0);
    ck_assert_uint_le(hw.mem_available_bytes, hw.mem_total_bytes);
    ck_assert_uint_eq(hw.isa & ~hw.isa_cpu, 0); /* usable is a subset of what the CPU has */
    ck_assert_int_ge(hw.n_gpus, 0);
    ck_assert_int_le(hw.n_gpus, BN_HW_MAX_GPUS);
    int sysfs_gpus = count_sysfs_display_devices();
    if (sysfs_gpus >= 0 && sysfs_gpus <= BN_HW_MAX_GPUS)
        ck_assert_int_eq(hw.n_gpus, sysfs_gpus);
}
END_TEST

START_TEST(probe_matches_proc_cpuinfo) {
#if defined(__x86_64__)
    bn_hw_info hw = probe(NULL);
    ck_assert_str_eq(hw.arch, "x86_64");
    char flags[8192], model[128], vendor[64];
    cpuinfo_field("flags", flags, sizeof flags);
    cpuinfo_field("model name", model, sizeof model);
    cpuinfo_field("vendor_id", vendor, sizeof vendor);
    if (vendor[0])
        ck_assert_str_eq(hw.cpu_vendor, vendor);
    if (model[0])
        ck_assert_str_eq(hw.cpu_brand, model);
    ck_assert(hw.l1d_bytes >= 4096 && hw.l1d_bytes <= (1u << 20));
    ck_assert_uint_ge(hw.l2_bytes, hw.l1d_bytes);
    if (!flags[0])
        return;
    /* The kernel lists a flag only if the CPU has it and the OS enabled it. */
    static const struct {
        const char *flag;
        uint32_t bit;
        int every_kernel_knows;
    } map[] = {
        {"pni", BN_ISA_SSE3, 1},           {"ssse3", BN_ISA_SSSE3, 1},
        {"sse4_1", BN_ISA_SSE41, 1},       {"avx", BN_ISA_AVX, 1},
        {"avx2", BN_ISA_AVX2, 1},          {"fma", BN_ISA_FMA, 1},
        {"f16c", BN_ISA_F16C, 1},          {"avx512f", BN_ISA_AVX512F, 1},
        {"avx512bw", BN_ISA_AVX512BW, 1},  {"avx512vl", BN_ISA_AVX512VL, 1},
        {"avx512dq", BN_ISA_AVX512DQ, 1},  {"avx512_vnni", BN_ISA_AVX512VNNI, 0},
        {"avx512vbmi", BN_ISA_AVX512VBMI, 0}, {"avx512_bf16", BN_ISA_AVX512BF16, 0},
        {"avx_vnni", BN_ISA_AVX_VNNI, 0},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        int in_proc = has_flag(flags, map[i].flag);
        int in_isa = (hw.isa & map[i].bit) != 0;
        if (in_proc)
            ck_assert_msg(in_isa, "/proc/cpuinfo has %s but the probe does not", map[i].flag);
        if (in_isa && map[i].every_kernel_knows)
            ck_assert_msg(in_proc, "probe reports %s but /proc/cpuinfo does not", map[i].flag);
    }
    if (has_flag(flags, "avx2"))
        ck_assert(hw.isa & BN_ISA_AVX2);
#elif defined(__aarch64__)
    bn_hw_info hw = probe(NULL);
    ck_assert_str_eq(hw.arch, "aarch64");
    char features[4096];
    cpuinfo_field("Features", features, sizeof features);
    if (has_flag(features, "asimd"))
        ck_assert(hw.isa & BN_ISA_NEON);
    if (has_flag(features, "asimddp"))
        ck_assert(hw.isa & BN_ISA_DOTPROD);
#endif
}
END_TEST

/* ---- hw_isa_disable ------------------------------------------------------ */

START_TEST(disable_avx512_keeps_avx2) {
    bn_hw_info full = probe(NULL);
    bn_hw_info hw = probe("avx512");
    ck_assert_uint_eq(hw.isa & AVX512_BITS, 0);
    ck_assert_uint_eq(hw.isa, full.isa & ~AVX512_BITS);
    ck_assert_uint_eq(hw.isa_cpu, full.isa_cpu); /* the CPU's own bits stay */
    if (full.isa & BN_ISA_AVX2)
        ck_assert(hw.isa & BN_ISA_AVX2);
}
END_TEST

START_TEST(disable_single_bits) {
    bn_hw_info full = probe(NULL);
    bn_hw_info hw = probe("avx512vnni, AVX512BF16 ,avx2");
    ck_assert_uint_eq(hw.isa, full.isa & ~(BN_ISA_AVX512VNNI | BN_ISA_AVX512BF16 | BN_ISA_AVX2));
    /* avx512f takes the whole AVX-512 family with it */
    hw = probe("avx512f");
    ck_assert_uint_eq(hw.isa, full.isa & ~AVX512_BITS);
}
END_TEST

START_TEST(disable_avx_removes_dependents) {
    bn_hw_info full = probe(NULL);
    bn_hw_info hw = probe("avx");
    ck_assert_uint_eq(hw.isa & (BN_ISA_AVX | AVX_DEPENDENT_BITS), 0);
    ck_assert_uint_eq(hw.isa, full.isa & ~(BN_ISA_AVX | AVX_DEPENDENT_BITS));
    if (full.isa & BN_ISA_SSSE3)
        ck_assert(hw.isa & BN_ISA_SSSE3);
}
END_TEST

START_TEST(disable_all) {
    bn_hw_info full = probe(NULL);
    bn_hw_info hw = probe("all");
    ck_assert_uint_eq(hw.isa, 0);
    ck_assert_uint_eq(hw.isa_cpu, full.isa_cpu);
}
END_TEST

START_TEST(disable_unknown_name_warns) {
    bn_log_set_level(BN_LOG_WARN);
    bn_hw_info full = probe(NULL);
    FILE *cap = tmpfile();
    ck_assert_ptr_nonnull(cap);
    fflush(stderr);
    int saved = dup(2);
    ck_assert_int_ge(saved, 0);
    ck_assert_int_ge(dup2(fileno(cap), 2), 0);
    bn_hw_info hw = probe("avx2,frobnicate");
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char text[1024] = {0};
    rewind(cap);
    size_t got = fread(text, 1, sizeof text - 1, cap);
    fclose(cap);
    ck_assert_uint_gt(got, 0);
    ck_assert_msg(strstr(text, "frobnicate") != NULL, "warning does not name the entry: %s", text);
    ck_assert_msg(strstr(text, "'avx2'") == NULL, "a valid name was warned about: %s", text);
    /* the good entry still applies */
    ck_assert_uint_eq(hw.isa, full.isa & ~BN_ISA_AVX2);
}
END_TEST

/* ---- hw_isa_names -------------------------------------------------------- */

static const char *const all_names[] = {"sse3", "ssse3", "sse4.1", "avx", "avx2", "fma", "f16c",
                                        "avxvnni", "avx512f", "avx512bw", "avx512vl", "avx512dq",
                                        "avx512vnni", "avx512vbmi", "avx512bf16", "neon", "dotprod",
                                        "sve", "i8mm"};
#define N_NAMES (sizeof all_names / sizeof all_names[0])

START_TEST(names_round_trip) {
    uint32_t seen = 0;
    for (size_t i = 0; i < N_NAMES; i++) {
        uint32_t bit = bn_isa_from_name(all_names[i]);
        ck_assert_msg(bit != 0 && (bit & (bit - 1)) == 0, "%s is not one bit", all_names[i]);
        ck_assert_msg(!(seen & bit), "%s shares a bit", all_names[i]);
        seen |= bit;
        char buf[32];
        bn_isa_to_string(bit, buf, sizeof buf);
        ck_assert_str_eq(buf, all_names[i]);
    }
    ck_assert_uint_eq(bn_isa_from_name("AVX2"), BN_ISA_AVX2);
    ck_assert_uint_eq(bn_isa_from_name("sse4.1"), BN_ISA_SSE41);
    ck_assert_uint_eq(bn_isa_from_name("avx512vnni"), BN_ISA_AVX512VNNI);
    ck_assert_uint_eq(bn_isa_from_name("i8mm"), BN_ISA_I8MM);
    ck_assert_uint_eq(bn_isa_from_name("bogus"), 0);
    ck_assert_uint_eq(bn_isa_from_name(""), 0);
    ck_assert_uint_eq(bn_isa_from_name(NULL), 0);
}
END_TEST

START_TEST(names_to_string_lists) {
    char buf[512];
    bn_isa_to_string(BN_ISA_AVX2 | BN_ISA_FMA | BN_ISA_AVX512VNNI, buf, sizeof buf);
    ck_assert_str_eq(buf, "avx2,fma,avx512vnni");
    bn_isa_to_string(0, buf, sizeof buf);
    ck_assert_str_eq(buf, "");
    /* parse the full list back */
    uint32_t all = 0;
    for (size_t i = 0; i < N_NAMES; i++)
        all |= bn_isa_from_name(all_names[i]);
    bn_isa_to_string(all, buf, sizeof buf);
    uint32_t back = 0;
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ","))
        back |= bn_isa_from_name(tok);
    ck_assert_uint_eq(back, all);
    /* too small a buffer: whole names only, always terminated */
    bn_isa_to_string(BN_ISA_AVX2 | BN_ISA_FMA, buf, 7);
    ck_assert_str_eq(buf, "avx2");
    bn_isa_to_string(BN_ISA_AVX2, buf, 1);
    ck_assert_str_eq(buf, "");
}
END_TEST

static Suite *hw_suite(void) {
    Suite *s = suite_create("hw");
    TCase *tc = tcase_create("hw_probe");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, probe_sane_values);
    tcase_add_test(tc, probe_matches_proc_cpuinfo);
    suite_add_tcase(s, tc);
    tc = tcase_create("hw_isa_disable");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, disable_avx512_keeps_avx2);
    tcase_add_test(tc, disable_single_bits);
    tcase_add_test(tc, disable_avx_removes_dependents);
    tcase_add_test(tc, disable_all);
    tcase_add_test(tc, disable_unknown_name_warns);
    suite_add_tcase(s, tc);
    tc = tcase_create("hw_isa_names");
    tcase_add_test(tc, names_round_trip);
    tcase_add_test(tc, names_to_string_lists);
    suite_add_tcase(s, tc);
    return s;
}

/* argv[1]: run only this test case (one ctest entry per case). */
int main(int argc, char **argv) {
    SRunner *sr = srunner_create(hw_suite());
    srunner_run(sr, NULL, argc > 1 ? argv[1] : NULL, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    int run = srunner_ntests_run(sr);
    srunner_free(sr);
    return failed == 0 && run > 0 ? 0 : 1;
}
