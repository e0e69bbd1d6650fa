/* Settings: defaults < config file (inih) < environment < command line.
 * Every value records where it came from so warnings can say file:line. */
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "internal.h"
#include "paths.h"

/* Debian's inih does not pass line numbers to handlers, so the stream
 * reader counts lines itself: the handler runs right after its line. */
typedef struct parse_state {
    bn_settings *s;
    const char *file;
    FILE *fp;
    int line;
} parse_state;

static char *counting_reader(char *str, int num, void *stream) {
    parse_state *ps = stream;
    char *r = fgets(str, num, ps->fp);
    if (r)
        ps->line++;
    return r;
}

static void set_str(char **dst, const char *v) {
    char *d = bn_strdup(v ? v : "");
    if (d) {
        free(*dst);
        *dst = d;
    }
}

/* Strict integer parse: whole string, in [lo, hi]. */
static int parse_int(const char *v, int lo, int hi, int *out) {
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < lo || x > hi)
        return 0;
    *out = (int)x;
    return 1;
}

static int parse_bool(const char *v, int *out) {
    static const char *const yes[] = {"1", "true", "yes", "on"}, *const no[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (!strcasecmp(v, yes[i])) {
            *out = 1;
            return 1;
        }
        if (!strcasecmp(v, no[i])) {
            *out = 0;
            return 1;
        }
    }
    return 0;
}

static int parse_log_level(const char *v, int *out) {
    static const char *const names[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++)
        if (!strcasecmp(v, names[i]) || (i == 1 && !strcasecmp(v, "warning"))) {
            *out = i;
            return 1;
        }
    return parse_int(v, 0, 3, out);
}

static int parse_kernel(const char *v) {
    return !strcasecmp(v, "auto") || !strcasecmp(v, "mad") || !strcasecmp(v, "tl1") || !strcasecmp(v, "tl2");
}

/* Apply one key; `where` names the source for warnings. Returns 0 if the
 * key is unknown, -1 if the value is bad, 1 if applied. */
static int apply_key(bn_settings *s, const char *section, const char *key, const char *v) {
    int x;
#define IS(sec, k) (!strcasecmp(section, sec) && !strcasecmp(key, k))
    if (IS("backend", "name")) {
        set_str(&s->backend, v);
    } else if (IS("backend", "deny")) {
        set_str(&s->deny, v);
    } else if (IS("backend", "plugin_path")) {
        set_str(&s->plugin_path, v);
    } else if (IS("backend", "kernel")) {
        if (!parse_kernel(v))
            return -1;
        set_str(&s->kernel, v);
    } else if (IS("runtime", "threads")) {
        if (!parse_int(v, 0, 4096, &x))
            return -1;
        s->threads = x;
    } else if (IS("runtime", "pin_threads")) {
        if (!parse_bool(v, &x))
            return -1;
        s->pin_threads = x;
    } else if (IS("model", "path")) {
        set_str(&s->model, v);
    } else if (IS("kv", "page_tokens")) {
        if (!parse_int(v, 16, 65536, &x) || x % 16)
            return -1;
        s->kv_page_tokens = x;
    } else if (IS("kv", "budget")) {
        uint64_t b;
        if (!bn_parse_bytes(v, &b) || b == 0)
            return -1;
        s->kv_budget_bytes = b;
    } else if (IS("log", "level")) {
        if (!parse_log_level(v, &x))
            return -1;
        s->log_level = x;
    } else if (!strcasecmp(section, "server")) {
        return 1; /* `bitnet serve` reads and checks its own section */
    } else {
        return 0;
    }
#undef IS
    return 1;
}

static int on_ini_entry(void *user, const char *section, const char *key, const char *value) {
    parse_state *ps = user;
    int lineno = ps->line;
    int r = apply_key(ps->s, section, key, value);
    if (r == 0)
        bn_log(BN_LOG_WARN, "%s:%d: unknown key '%s' in section [%s], ignored", ps->file, lineno, key, section);
    else if (r < 0)
        bn_log(BN_LOG_WARN, "%s:%d: bad value '%s' for %s.%s, ignored", ps->file, lineno, value, section, key);
    return 1; /* keep going: one bad line must not drop the rest */
}

static int file_exists(const char *p) { return p && *p && access(p, R_OK) == 0; }

/* First existing config file in the documented order. */
static bn_status find_config(const char *cli_path, char *out, size_t len) {
    out[0] = 0;
    const char *explicit_path = cli_path ? cli_path : getenv("BITNET_CONFIG");
    if (explicit_path && *explicit_path) {
        if (!file_exists(explicit_path))
            return bn_fail(BN_ERR_NOT_FOUND, "config file '%s' (from %s) cannot be read", explicit_path,
                           cli_path ? "--config" : "BITNET_CONFIG");
        snprintf(out, len, "%s", explicit_path);
        return BN_OK;
    }
    char cand[PATH_MAX];
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    if (xdg && *xdg)
        snprintf(cand, sizeof cand, "%s/bitnet/config.ini", xdg);
    else if (home && *home)
        snprintf(cand, sizeof cand, "%s/.config/bitnet/config.ini", home);
    else
        cand[0] = 0;
    if (file_exists(cand)) {
        snprintf(out, len, "%s", cand);
        return BN_OK;
    }
    if (bn_install_relative(BITNET_SYSCONF_REL_DIR "/config.ini", cand, sizeof cand) == BN_OK && file_exists(cand)) {
        snprintf(out, len, "%s", cand);
        return BN_OK;
    }
    if (file_exists("/etc/bitnet/config.ini"))
        snprintf(out, len, "%s", "/etc/bitnet/config.ini");
    return BN_OK;
}

static void apply_env(bn_settings *s) {
    static const struct {
        const char *env, *section, *key;
    } map[] = {
        {"BITNET_BACKEND", "backend", "name"},      {"BITNET_DENY", "backend", "deny"},
        {"BITNET_KERNEL", "backend", "kernel"},     {"BITNET_THREADS", "runtime", "threads"},
        {"BITNET_PIN_THREADS", "runtime", "pin_threads"}, {"BITNET_MODEL", "model", "path"},
        {"BITNET_LOG_LEVEL", "log", "level"},       {"BITNET_KV_PAGE", "kv", "page_tokens"},
        {"BITNET_KV_BUDGET", "kv", "budget"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        const char *v = getenv(map[i].env);
        if (v && *v && apply_key(s, map[i].section, map[i].key, v) < 0)
            bn_log(BN_LOG_WARN, "environment %s='%s': bad value, ignored", map[i].env, v);
    }
}

int bn_parse_bytes(const char *s, uint64_t *out) {
    char *end;
    errno = 0;
    if (!s || !isdigit((unsigned char)*s))
        return 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (errno || end == s)
        return 0;
    int shift = 0;
    switch (tolower((unsigned char)*end)) {
    case 'k': shift = 10; break;
    case 'm': shift = 20; break;
    case 'g': shift = 30; break;
    case 't': shift = 40; break;
    default: break;
    }
    if (shift) {
        end++;
        if (tolower((unsigned char)*end) == 'i' && tolower((unsigned char)end[1]) == 'b')
            end += 2;
    }
    if (tolower((unsigned char)*end) == 'b')
        end++;
    if (*end || (shift && x > (UINT64_MAX >> shift)))
        return 0;
    *out = (uint64_t)x << shift;
    return 1;
}

void bn_cli_overrides_init(bn_cli_overrides *cli) {
    memset(cli, 0, sizeof *cli);
    cli->threads = -1;
    cli->pin_threads = -1;
    cli->log_level = -1;
}

static void apply_cli(bn_settings *s, const bn_cli_overrides *cli) {
    if (cli->backend)
        set_str(&s->backend, cli->backend);
    if (cli->deny)
        set_str(&s->deny, cli->deny);
    if (cli->plugin_path)
        set_str(&s->plugin_path, cli->plugin_path);
    if (cli->model)
        set_str(&s->model, cli->model);
    if (cli->kernel)
        set_str(&s->kernel, cli->kernel);
    if (cli->threads >= 0)
        s->threads = cli->threads;
    if (cli->pin_threads >= 0)
        s->pin_threads = cli->pin_threads;
    if (cli->log_level >= 0)
        s->log_level = cli->log_level;
}

bn_status bn_settings_resolve(const bn_cli_overrides *cli, bn_settings *s) {
    bn_cli_overrides none;
    if (!cli) {
        bn_cli_overrides_init(&none);
        cli = &none;
    }
    memset(s, 0, sizeof *s);
    s->pin_threads = 1;
    s->log_level = BN_LOG_WARN;
    set_str(&s->backend, "");
    set_str(&s->deny, "");
    set_str(&s->plugin_path, "");
    set_str(&s->model, "");
    set_str(&s->kernel, "auto");
    set_str(&s->config_file, "");
    if (!s->backend || !s->deny || !s->plugin_path || !s->model || !s->kernel || !s->config_file) {
        bn_settings_free(s);
        return bn_fail(BN_ERR_NOMEM, "out of memory resolving settings");
    }
    if (cli->kernel && !parse_kernel(cli->kernel)) {
        bn_settings_free(s);
        return bn_fail(BN_ERR_INVALID, "unknown kernel '%s' (expected auto, mad, tl1 or tl2)", cli->kernel);
    }

    char path[PATH_MAX];
    bn_status st = find_config(cli->config_path, path, sizeof path);
    if (st != BN_OK) {
        bn_settings_free(s);
        return st;
    }
    if (path[0]) {
        parse_state ps = {s, path, fopen(path, "r"), 0};
        if (!ps.fp) {
            bn_settings_free(s);
            return bn_fail(BN_ERR_IO, "config file '%s' cannot be opened: %s", path, strerror(errno));
        }
        int rc = ini_parse_stream(counting_reader, &ps, on_ini_entry, &ps);
        fclose(ps.fp);
        if (rc > 0) /* inih reports the first line it could not parse */
            bn_log(BN_LOG_WARN, "%s:%d: malformed line ignored", path, rc);
        set_str(&s->config_file, path);
    }
    apply_env(s);
    apply_cli(s, cli);
    return BN_OK;
}

void bn_settings_free(bn_settings *s) {
    if (!s)
        return;
    free(s->backend);
    free(s->deny);
    free(s->plugin_path);
    free(s->model);
    free(s->kernel);
    free(s->config_file);
    memset(s, 0, sizeof *s);
}
