/* Option parsing shared by subcommands. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

void bn_cli_error(const char *what) {
    const char *e = bn_last_error();
    fprintf(stderr, "bitnet: %s%s%s\n", what, e[0] ? ": " : "", e);
}

const char *bn_cli_value(int argc, char **argv, int *i, const char *name) {
    const char *a = argv[*i], *eq = strchr(a, '=');
    if (a[1] == '-' && eq)
        return eq + 1;
    if (*i + 1 >= argc) {
        fprintf(stderr, "bitnet: option %s needs a value\n", name);
        return NULL;
    }
    return argv[++*i];
}

int bn_cli_matches(const char *arg, const char *shrt, const char *lng) {
    size_t n = strlen(lng);
    return (shrt && !strcmp(arg, shrt)) || !strcmp(arg, lng) || (!strncmp(arg, lng, n) && arg[n] == '=');
}

int bn_cli_common_opt(int argc, char **argv, int *i, bn_cli_overrides *cli) {
    const char *a = argv[*i], *v;
    if (bn_cli_matches(a, NULL, "--backend")) {
        if (!(v = bn_cli_value(argc, argv, i, "--backend")))
            return -1;
        cli->backend = v;
    } else if (bn_cli_matches(a, NULL, "--deny")) {
        if (!(v = bn_cli_value(argc, argv, i, "--deny")))
            return -1;
        cli->deny = v;
    } else if (bn_cli_matches(a, NULL, "--plugin-path")) {
        if (!(v = bn_cli_value(argc, argv, i, "--plugin-path")))
            return -1;
        cli->plugin_path = v;
    } else if (bn_cli_matches(a, NULL, "--kernel")) {
        if (!(v = bn_cli_value(argc, argv, i, "--kernel")))
            return -1;
        if (strcmp(v, "auto") && strcmp(v, "mad") && strcmp(v, "tl1") && strcmp(v, "tl2")) {
            fprintf(stderr, "bitnet: --kernel wants auto, mad, tl1 or tl2, got '%s'\n", v);
            return -1;
        }
        cli->kernel = v;
    } else if (bn_cli_matches(a, "-t", "--threads")) {
        if (!(v = bn_cli_value(argc, argv, i, "--threads")))
            return -1;
        return bn_cli_int(v, "--threads", 1, 4096, &cli->threads) ? 1 : -1;
    } else if (!strcmp(a, "--no-pin")) {
        cli->pin_threads = 0;
    } else if (bn_cli_matches(a, NULL, "--config")) {
        if (!(v = bn_cli_value(argc, argv, i, "--config")))
            return -1;
        cli->config_path = v;
    } else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
        cli->log_level = cli->log_level < BN_LOG_INFO ? BN_LOG_INFO : BN_LOG_DEBUG;
    } else if (!strcmp(a, "-vv")) {
        cli->log_level = BN_LOG_DEBUG;
    } else {
        return 0;
    }
    return 1;
}

int bn_cli_int(const char *v, const char *name, long lo, long hi, int *out) {
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > hi) {
        fprintf(stderr, "bitnet: %s wants an integer from %ld to %ld, got '%s'\n", name, lo, hi, v);
        return 0;
    }
    *out = (int)x;
    return 1;
}

int bn_cli_float(const char *v, const char *name, double lo, double hi, float *out) {
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v || *end || !(x >= lo && x <= hi)) {
        fprintf(stderr, "bitnet: %s wants a number from %g to %g, got '%s'\n", name, lo, hi, v);
        return 0;
    }
    *out = (float)x;
    return 1;
}
