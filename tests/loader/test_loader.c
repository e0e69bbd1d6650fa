/* The loader's refusals: each bad plugin gets a one-line reason and is
 * skipped; forcing and denying work; nothing crashes. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <bitnet/bitnet.h>

/* The project's SIMD plugins would outscore the test doubles; the tests
 * below reason about reference + doubles only. */
#define SIMD_PLUGINS "cpu-avx2,cpu-avx512,cpu-neon,cuda"

static bn_engine *engine_with(const char *backend, const char *deny, int flags, bn_status *st) {
    bn_cli_overrides cli;
    bn_cli_overrides_init(&cli);
    cli.plugin_path = LOADER_PLUGIN_DIR;
    cli.backend = backend;
    cli.deny = deny ? deny : SIMD_PLUGINS;
    cli.threads = 1;
    bn_settings s;
    ck_assert_int_eq(bn_settings_resolve(&cli, &s), BN_OK);
    bn_engine *e = NULL;
    *st = bn_engine_create_ex(&s, flags, &e);
    bn_settings_free(&s);
    return e;
}

static const bn_plugin_report *report(bn_engine *e, const char *name) {
    for (size_t i = 0; i < bn_engine_plugin_count(e); i++)
        if (!strcmp(bn_engine_plugin(e, i)->name, name))
            return bn_engine_plugin(e, i);
    ck_abort_msg("plugin %s not listed", name);
    return NULL;
}

static void expect_refused(bn_engine *e, const char *name, const char *needle) {
    const bn_plugin_report *r = report(e, name);
    ck_assert_msg(!r->usable, "%s should be refused", name);
    ck_assert_int_eq(r->score, 0);
    ck_assert_msg(strstr(r->reason, needle), "%s: reason '%s' lacks '%s'", name, r->reason, needle);
    ck_assert_msg(!strchr(r->reason, '\n'), "%s: reason is not one line", name);
}

START_TEST(refusals_have_reasons) {
    bn_status st;
    bn_engine *e = engine_with(NULL, NULL, BN_ENGINE_NO_CHOICE, &st);
    ck_assert_int_eq(st, BN_OK);
    expect_refused(e, "test-abi2", "plugin ABI 2.0, this core speaks 1.x");
    expect_refused(e, "test-nosym", "no entry symbol 'bn_plugin_entry'");
    expect_refused(e, "test-score0", "needs the frobnicator");
    expect_refused(e, "test-small", "is smaller than ABI 1.0 needs");
    expect_refused(e, "test-corrupt", "cannot be loaded");
    ck_assert(report(e, "test-good")->usable);
    ck_assert(report(e, "reference")->usable);
    bn_engine_free(e);
}
END_TEST

START_TEST(best_score_wins_and_init_failure_falls_back) {
    bn_status st;
    bn_engine *e = engine_with(NULL, NULL, 0, &st);
    ck_assert_msg(st == BN_OK, "%s", bn_last_error());
    /* test-initfail scores highest but cannot initialise */
    ck_assert_str_eq(bn_engine_backend(e)->info.name, "reference");
    ck_assert(report(e, "reference")->chosen);
    const bn_plugin_report *f = report(e, "test-initfail");
    ck_assert(!f->usable && !f->chosen);
    ck_assert_ptr_nonnull(strstr(f->reason, "init() failed"));
    bn_engine_free(e);
}
END_TEST

START_TEST(force_by_name) {
    bn_status st;
    bn_engine *e = engine_with("test-good", NULL, 0, &st);
    ck_assert_int_eq(st, BN_OK);
    ck_assert_str_eq(bn_engine_backend(e)->info.name, "test-good");
    bn_engine_free(e);

    e = engine_with("test-abi2", NULL, 0, &st);
    ck_assert_ptr_null(e);
    ck_assert_int_eq(st, BN_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(bn_last_error(), "plugin ABI 2.0"));

    e = engine_with("nope", NULL, 0, &st);
    ck_assert_ptr_null(e);
    ck_assert_int_eq(st, BN_ERR_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(bn_last_error(), "'nope'"));
}
END_TEST

START_TEST(deny_list) {
    bn_status st;
    bn_engine *e = engine_with(NULL, "test-initfail, reference," SIMD_PLUGINS, BN_ENGINE_KEEP_ON_ERROR, &st);
    ck_assert_int_eq(st, BN_OK);
    expect_refused(e, "reference", "denied");
    ck_assert_str_eq(bn_engine_backend(e)->info.name, "test-good");
    bn_engine_free(e);
}
END_TEST

START_TEST(env_plugin_path_and_backend) {
    setenv("BITNET_PLUGIN_PATH", LOADER_PLUGIN_DIR, 1);
    setenv("BITNET_BACKEND", "test-good", 1);
    bn_settings s;
    ck_assert_int_eq(bn_settings_resolve(NULL, &s), BN_OK);
    bn_engine *e = NULL;
    ck_assert_int_eq(bn_engine_create(&s, &e), BN_OK);
    ck_assert_str_eq(bn_engine_backend(e)->info.name, "test-good");
    ck_assert_ptr_nonnull(strstr(bn_engine_search_path(e), "loader-plugins"));
    bn_engine_free(e);
    bn_settings_free(&s);
    unsetenv("BITNET_PLUGIN_PATH");
    unsetenv("BITNET_BACKEND");
}
END_TEST

START_TEST(services_work) {
    bn_status st;
    bn_engine *e = engine_with("reference", NULL, 0, &st);
    ck_assert_int_eq(st, BN_OK);
    const bn_services *svc = bn_engine_services(e);
    ck_assert_uint_eq(svc->struct_size, sizeof(bn_services));
    void *p = svc->aligned_alloc(svc->core, 64, 1000);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq((uintptr_t)p % 64, 0);
    svc->aligned_free(svc->core, p);
    ck_assert_int_ge(svc->n_threads(svc->core), 1);
    bn_engine_free(e);
}
END_TEST

int main(void) {
    Suite *s = suite_create("loader");
    TCase *tc = tcase_create("loader");
    tcase_add_test(tc, refusals_have_reasons);
    tcase_add_test(tc, best_score_wins_and_init_failure_falls_back);
    tcase_add_test(tc, force_by_name);
    tcase_add_test(tc, deny_list);
    tcase_add_test(tc, env_plugin_path_and_backend);
    tcase_add_test(tc, services_work);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
