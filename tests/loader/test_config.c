/* Settings precedence (CLI > environment > file > defaults), the config
 * file search order, and warnings with file:line for bad lines. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bitnet/bitnet.h>

static char dir[256];

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static void setup(void) {
    snprintf(dir, sizeof dir, "/tmp/bitnet-config-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char sub[300];
    snprintf(sub, sizeof sub, "%s/bitnet", dir);
    mkdir(sub, 0700);
    /* isolate from the developer's own config */
    setenv("XDG_CONFIG_HOME", dir, 1);
    unsetenv("BITNET_CONFIG");
    unsetenv("BITNET_THREADS");
    unsetenv("BITNET_BACKEND");
    unsetenv("BITNET_KERNEL");
}

static const char *user_config(void) {
    static char p[320];
    snprintf(p, sizeof p, "%s/bitnet/config.ini", dir);
    return p;
}

/* Run bn_settings_resolve with stderr captured into `log`. */
static bn_status resolve_capture(const bn_cli_overrides *cli, bn_settings *s, char *log, size_t len) {
    char path[320];
    snprintf(path, sizeof path, "%s/stderr.txt", dir);
    fflush(stderr);
    int saved = dup(2);
    FILE *f = fopen(path, "w+");
    dup2(fileno(f), 2);
    bn_status st = bn_settings_resolve(cli, s);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(f);
    size_t n = fread(log, 1, len - 1, f);
    log[n] = 0;
    fclose(f);
    return st;
}

START_TEST(defaults) {
    bn_settings s;
    ck_assert_int_eq(bn_settings_resolve(NULL, &s), BN_OK);
    ck_assert_str_eq(s.backend, "");
    ck_assert_str_eq(s.kernel, "auto");
    ck_assert_int_eq(s.threads, 0);
    ck_assert_int_eq(s.pin_threads, 1);
    ck_assert_str_eq(s.config_file, "");
    bn_settings_free(&s);
}
END_TEST

START_TEST(precedence) {
    write_file(user_config(), "[backend]\nname = from-file\nkernel = tl2\n[runtime]\nthreads = 3\n");
    bn_settings s;
    ck_assert_int_eq(bn_settings_resolve(NULL, &s), BN_OK);
    ck_assert_str_eq(s.config_file, user_config());
    ck_assert_str_eq(s.backend, "from-file");
    ck_assert_str_eq(s.kernel, "tl2");
    ck_assert_int_eq(s.threads, 3);
    bn_settings_free(&s);

    setenv("BITNET_THREADS", "5", 1);
    setenv("BITNET_BACKEND", "from-env", 1);
    ck_assert_int_eq(bn_settings_resolve(NULL, &s), BN_OK);
    ck_assert_int_eq(s.threads, 5);
    ck_assert_str_eq(s.backend, "from-env");
    ck_assert_str_eq(s.kernel, "tl2"); /* untouched by env: file value stays */
    bn_settings_free(&s);

    bn_cli_overrides cli;
    bn_cli_overrides_init(&cli);
    cli.threads = 7;
    cli.backend = "from-cli";
    ck_assert_int_eq(bn_settings_resolve(&cli, &s), BN_OK);
    ck_assert_int_eq(s.threads, 7);
    ck_assert_str_eq(s.backend, "from-cli");
    bn_settings_free(&s);
}
END_TEST

START_TEST(explicit_file_wins_and_must_exist) {
    write_file(user_config(), "[runtime]\nthreads = 3\n");
    char other[320];
    snprintf(other, sizeof other, "%s/other.ini", dir);
    write_file(other, "[runtime]\nthreads = 4\n");
    bn_settings s;
    setenv("BITNET_CONFIG", other, 1);
    ck_assert_int_eq(bn_settings_resolve(NULL, &s), BN_OK);
    ck_assert_int_eq(s.threads, 4);
    bn_settings_free(&s);

    bn_cli_overrides cli;
    bn_cli_overrides_init(&cli);
    cli.config_path = "/nonexistent/bitnet.ini";
    ck_assert_int_eq(bn_settings_resolve(&cli, &s), BN_ERR_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(bn_last_error(), "/nonexistent/bitnet.ini"));
    ck_assert_ptr_nonnull(strstr(bn_last_error(), "--config"));
}
END_TEST

START_TEST(warnings_name_file_and_line) {
    write_file(user_config(), "; comment\n[backend]\nname = ok\ncolour = blue\n[runtime]\nthreads = many\n"
                              "pin_threads = maybe\nthreads = 2\nthis line is broken\n");
    bn_settings s;
    char log[4096];
    ck_assert_int_eq(resolve_capture(NULL, &s, log, sizeof log), BN_OK);
    char want[512];
    snprintf(want, sizeof want, "%s:4: unknown key 'colour'", user_config());
    ck_assert_msg(strstr(log, want), "log was: %s", log);
    snprintf(want, sizeof want, "%s:6: bad value 'many' for runtime.threads", user_config());
    ck_assert_msg(strstr(log, want), "log was: %s", log);
    snprintf(want, sizeof want, "%s:7: bad value 'maybe'", user_config());
    ck_assert_msg(strstr(log, want), "log was: %s", log);
    snprintf(want, sizeof want, "%s:9: malformed line", user_config());
    ck_assert_msg(strstr(log, want), "log was: %s", log);
    /* good lines around bad ones still apply */
    ck_assert_str_eq(s.backend, "ok");
    ck_assert_int_eq(s.threads, 2);
    bn_settings_free(&s);
}
END_TEST

START_TEST(bad_env_value_warns) {
    setenv("BITNET_THREADS", "-3", 1);
    bn_settings s;
    char log[4096];
    ck_assert_int_eq(resolve_capture(NULL, &s, log, sizeof log), BN_OK);
    ck_assert_msg(strstr(log, "BITNET_THREADS='-3'"), "log was: %s", log);
    ck_assert_int_eq(s.threads, 0);
    bn_settings_free(&s);
}
END_TEST

int main(void) {
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("config");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, defaults);
    tcase_add_test(tc, precedence);
    tcase_add_test(tc, explicit_file_wins_and_must_exist);
    tcase_add_test(tc, warnings_name_file_and_line);
    tcase_add_test(tc, bad_env_value_warns);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
