/*
 * Plugin conformance suite.
 *
 * Runs every op x weight format x a spread of shapes (the BitNet 2B-4T
 * matrices 2560x2560, 640x2560, 6912x2560, 2560x6912 and awkward ones) on
 * every usable plugin the core's loader finds - or only those named in
 * BN_CONFORMANCE_PLUGINS (comma list) - and always on "reference" too.
 * Each result is checked against the independent scalar oracle in
 * formats_oracle.c / ops_oracle.c and against the reference plugin. All
 * data moves through the plugin's own buffers (upload / download), so GPU
 * plugins are tested the same way.
 *
 * Tolerances, in one place (details in each conf_*.c header):
 *   matmul, ternary weights, y I32 ........ bit-exact, all kernels equal
 *   matmul, ternary weights, y F32 ........ (blocks/row + 4) * 1.2e-7 of M
 *                                           (M = sum |d t q| * scale / s_x)
 *   matmul, F32/F16/BF16/Q8_0 weights ..... activation-quantisation bound
 *   quantize_act (int8 and s_x) ........... bit-exact
 *   encode I2_S/TQ1_0/TQ2_0 ............... byte-for-byte; round trip 1e-6
 *   dequantize, get_rows .................. 1e-6 relative
 *   rms_norm 1e-6 * (1 + sqrt n); rope 1e-5 of pair magnitude;
 *   softmax 1e-6 * (2 + sqrt(n)/4); attention (contiguous and paged) 1e-5 of sum p|v|;
 *   ffn_act 2e-6; add 1e-6 of |a|+|b|; copy bit-exact (round to even).
 *   Against the reference plugin: twice the oracle tolerance.
 *
 * Output: one "FAIL plugin=<p> op=<op> <case>: <what>" line per problem
 * (a few per case) and one "SUMMARY plugin=<p> ..." line per plugin with
 * the largest errors seen per op. Exit status 0 only if all passed.
 * BN_CONFORMANCE_ONLY=<group,...> limits the run to some test groups;
 * BN_CONFORMANCE_QUICK=1 leaves out the shapes of matmul, encode and
 * dequantize above 2^21 weights, except the extreme ones (for emulated
 * CPUs: conf_quick_skip).
 */
#define _POSIX_C_SOURCE 200809L /* strdup, strtok_r, clock_gettime */

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf_tests.h"

static double plugin_seconds[CONF_MAX_PLUGINS];

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* BN_CONFORMANCE_ONLY=matmul,rope,... runs just those groups (for work on
 * one op); unset runs everything. */
static int group_wanted(const char *group) {
    const char *only = getenv("BN_CONFORMANCE_ONLY");
    size_t n = strlen(group);
    if (!only || !*only)
        return 1;
    for (const char *p = strstr(only, group); p; p = strstr(p + 1, group))
        if ((p == only || p[-1] == ',') && (p[n] == ',' || p[n] == 0))
            return 1;
    return 0;
}

static void run_group(void (*fn)(int), int pi, const char *group) {
    if (!group_wanted(group))
        return;
    long before = conf_total_fails;
    double t0 = now();
    fn(pi);
    plugin_seconds[pi] += now() - t0;
    ck_assert_msg(conf_total_fails == before, "plugin %s: %ld failure(s) in %s (see FAIL lines)",
                  conf_plugins[pi].name, conf_total_fails - before, group);
}

#define GROUP(name)                                                                                    \
    START_TEST(t_##name) { run_group(conf_test_##name, _i, #name); }                                   \
    END_TEST

GROUP(refusals)
GROUP(encode)
GROUP(dequantize)
GROUP(get_rows)
GROUP(quantize_act)
GROUP(matmul)
GROUP(rms_norm)
GROUP(rope)
GROUP(softmax)
GROUP(attention)
GROUP(attention_paged)
GROUP(ffn_act)
GROUP(add)
GROUP(copy)

static int add_plugin(const char *name) {
    for (int i = 0; i < conf_n_plugins; i++)
        if (strcmp(conf_plugins[i].name, name) == 0)
            return i;
    if (conf_n_plugins == CONF_MAX_PLUGINS)
        return -1;
    conf_plugins[conf_n_plugins].name = name;
    conf_plugins[conf_n_plugins].is_reference = strcmp(name, "reference") == 0;
    return conf_n_plugins++;
}

/* Plugin names to test: BN_CONFORMANCE_PLUGINS or every usable plugin. */
static char *pick_plugins(bn_engine *e) {
    const char *env = getenv("BN_CONFORMANCE_PLUGINS");
    char *list = NULL;
    if (env && *env) {
        list = strdup(env);
        for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
            add_plugin(tok);
    } else {
        for (size_t i = 0; i < bn_engine_plugin_count(e); i++) {
            const bn_plugin_report *r = bn_engine_plugin(e, i);
            printf("plugin %s (%s): %s%s%s\n", r->name, r->path, r->usable ? "usable" : "not usable",
                   r->reason && r->reason[0] ? ": " : "", r->reason ? r->reason : "");
            if (r->usable)
                add_plugin(r->name);
        }
    }
    add_plugin("reference");
    return list;
}

static void print_summary(void) {
    for (int pi = 0; pi < conf_n_plugins; pi++) {
        printf("SUMMARY plugin=%s time=%.1fs ternary-kernels=", conf_plugins[pi].name, plugin_seconds[pi]);
        const char *sep = "";
        for (int k = BN_KERNEL_AUTO; k <= BN_KERNEL_TL2; k++)
            if (conf_kernels_seen[pi] & (1u << k)) {
                printf("%s%s", sep, conf_kernel_name(k));
                sep = ",";
            }
        for (int op = 0; op < BN_OP_COUNT; op++) {
            const conf_stats *s = &conf_stats_tab[pi][op];
            printf(" | %s checks=%ld fails=%ld skipped=%ld abs=%.2g rel=%.2g ref=%.2g", conf_op_name(op), s->checks,
                   s->fails, s->skipped, s->max_abs, s->max_rel, s->max_rel_ref);
        }
        printf("\n");
    }
}

int main(void) {
    bn_cli_overrides cli;
    bn_settings settings;
    bn_engine *engine = NULL;
    bn_cli_overrides_init(&cli);
    if (bn_settings_resolve(&cli, &settings) != BN_OK) {
        fprintf(stderr, "conformance: settings: %s\n", bn_last_error());
        return 1;
    }
    if (bn_engine_create(&settings, &engine) != BN_OK) {
        fprintf(stderr, "conformance: engine: %s\n", bn_last_error());
        bn_settings_free(&settings);
        return 1;
    }
    char *list = pick_plugins(engine);
    int open_failures = 0;
    for (int i = 0; i < conf_n_plugins; i++) {
        conf_plugin *p = &conf_plugins[i];
        if (bn_engine_open_backend(engine, p->name, &p->be, &p->ctx) != BN_OK) {
            printf("FAIL plugin=%s op=open: %s\n", p->name, bn_last_error());
            open_failures++;
            p->be = NULL;
        }
        if (p->is_reference)
            conf_ref = p;
    }
    int failed = open_failures;
    if (conf_ref && conf_ref->be) {
        /* drop plugins that could not be opened */
        int k = 0;
        for (int i = 0; i < conf_n_plugins; i++)
            if (conf_plugins[i].be)
                conf_plugins[k++] = conf_plugins[i];
        conf_n_plugins = k;
        for (int i = 0; i < k; i++)
            if (conf_plugins[i].is_reference)
                conf_ref = &conf_plugins[i];

        Suite *s = suite_create("conformance");
        TCase *tc = tcase_create("plugins");
        tcase_set_timeout(tc, 600);
        tcase_add_loop_test(tc, t_refusals, 0, k);
        tcase_add_loop_test(tc, t_encode, 0, k);
        tcase_add_loop_test(tc, t_dequantize, 0, k);
        tcase_add_loop_test(tc, t_get_rows, 0, k);
        tcase_add_loop_test(tc, t_quantize_act, 0, k);
        tcase_add_loop_test(tc, t_matmul, 0, k);
        tcase_add_loop_test(tc, t_rms_norm, 0, k);
        tcase_add_loop_test(tc, t_rope, 0, k);
        tcase_add_loop_test(tc, t_softmax, 0, k);
        tcase_add_loop_test(tc, t_attention, 0, k);
        tcase_add_loop_test(tc, t_attention_paged, 0, k);
        tcase_add_loop_test(tc, t_ffn_act, 0, k);
        tcase_add_loop_test(tc, t_add, 0, k);
        tcase_add_loop_test(tc, t_copy, 0, k);
        suite_add_tcase(s, tc);
        SRunner *sr = srunner_create(s);
        /* one process: the engine's thread pool does not survive fork() */
        srunner_set_fork_status(sr, CK_NOFORK);
        srunner_run_all(sr, CK_NORMAL);
        failed += srunner_ntests_failed(sr);
        srunner_free(sr);
        print_summary();
    } else {
        printf("FAIL plugin=reference op=open: the reference plugin is required as the comparison baseline\n");
        failed++;
    }
    free(list);
    bn_engine_free(engine);
    bn_settings_free(&settings);
    return failed ? 1 : 0;
}
