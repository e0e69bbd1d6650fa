/* `bitnet serve`: the OpenAI-compatible HTTP server. Flags, the [server]
 * section of the config file, API key files, signals. */
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/server.h"

static int usage(FILE *f, int code) {
    fprintf(f,
            "usage: bitnet serve [-m MODEL] [options]\n\n"
            "An OpenAI-compatible HTTP server: POST /v1/completions, /v1/chat/completions (JSON or SSE\n"
            "streams), GET /v1/models, /health, /health/ready, /metrics (Prometheus), POST /tokenize,\n"
            "/detokenize, /admin/model (load / swap / unload), and a chat page at /.\n"
            "Many requests share each forward pass; SIGINT / SIGTERM stop it.\n\noptions:\n"
            "      --host ADDR        numeric address to bind (default 127.0.0.1; 0.0.0.0 or :: for all)\n"
            "      --port N           TCP port (default 8080; 0 = any free port, printed)\n"
            "  -np, --parallel N      sequences decoded together (default 16)\n"
            "      --queue N          requests that may wait beyond those; more get 429 (default 256)\n"
            "      --step-tokens N    rows per forward pass: one per running sequence, the rest prompt\n"
            "                         chunks of new requests (default 256, at least --parallel)\n"
            "      --timeout SEC      a request ends (finish_reason \"length\") after SEC seconds (default 600; 0 = none)\n"
            "      --api-key-file F   require 'Authorization: Bearer KEY' with a key from F (one per line)\n"
            "      --admin-key-file F the key of POST /admin/model (first line of F); without it the route is off\n"
            "      --max-body SIZE    largest request body (default 4M; larger: 413)\n"
            "      --conn-limit N     open connections (default 1024)\n"
            "      --idle-timeout SEC close a connection idle for SEC seconds (default 30)\n"
            "      --http-threads N   threads serving HTTP (default 2)\n"
            "  -n, --n-predict N      default max_tokens of a request without one (default: to the context)\n"
            "Sampling options set the defaults of requests that do not send those fields.\n"
            "Config file: a [server] section with the keys host, port, parallel, queue, step_tokens, timeout,\n"
            "api_key_file, admin_key_file, max_body, conn_limit, idle_timeout, http_threads (flags win).\n"
            "\n" BN_MODEL_OPTS_HELP BN_SAMPLING_OPTS_HELP BN_COMMON_OPTS_HELP "  -h, --help             this text\n");
    return code;
}

/* Values from flags; the config file fills in only what no flag gave. */
typedef struct serve_opts {
    srv_config cfg;
    const char *key_file, *admin_file;
    char *owned_host, *owned_key_file, *owned_admin_file;
    unsigned given; /* bit per option set on the command line */
    const char *config_path;
    int bad;
} serve_opts;

enum { G_HOST = 1, G_PORT = 2, G_PAR = 4, G_QUEUE = 8, G_STEP = 16, G_TIMEOUT = 32, G_KEYS = 64, G_ADMIN = 128,
       G_BODY = 256, G_CONN = 512, G_IDLE = 1024, G_HTTP = 2048 };

static int parse_long(const char *v, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (end == v || *end || errno || x < lo || x > hi)
        return 0;
    *out = x;
    return 1;
}

/* One [server] key; warns like the core does for its own sections. */
static int on_ini(void *user, const char *section, const char *key, const char *value) {
    serve_opts *o = user;
    if (strcasecmp(section, "server"))
        return 1;
    long x;
    uint64_t b;
#define K(name, bit) (!strcasecmp(key, name) && !(o->given & (bit)))
#define KNOWN(name) !strcasecmp(key, name)
    if (K("host", G_HOST)) {
        free(o->owned_host);
        o->cfg.host = o->owned_host = strdup(value);
    } else if (K("port", G_PORT) && parse_long(value, 0, 65535, &x)) {
        o->cfg.port = (int)x;
    } else if (K("parallel", G_PAR) && parse_long(value, 1, 4096, &x)) {
        o->cfg.sched.parallel = (int32_t)x;
    } else if (K("queue", G_QUEUE) && parse_long(value, 0, 1 << 20, &x)) {
        o->cfg.sched.max_queue = (int32_t)x;
    } else if (K("step_tokens", G_STEP) && parse_long(value, 1, 1 << 16, &x)) {
        o->cfg.sched.step_tokens = (int32_t)x;
    } else if (K("timeout", G_TIMEOUT) && parse_long(value, 0, 1 << 30, &x)) {
        o->cfg.sched.timeout_s = (double)x;
    } else if (K("api_key_file", G_KEYS)) {
        free(o->owned_key_file);
        o->key_file = o->owned_key_file = strdup(value);
    } else if (K("admin_key_file", G_ADMIN)) {
        free(o->owned_admin_file);
        o->admin_file = o->owned_admin_file = strdup(value);
    } else if (K("max_body", G_BODY) && bn_parse_bytes(value, &b) && b > 0 && b <= (1ull << 32)) {
        o->cfg.max_body = (size_t)b;
    } else if (K("conn_limit", G_CONN) && parse_long(value, 1, 1 << 20, &x)) {
        o->cfg.conn_limit = (unsigned)x;
    } else if (K("idle_timeout", G_IDLE) && parse_long(value, 1, 1 << 20, &x)) {
        o->cfg.conn_timeout = (unsigned)x;
    } else if (K("http_threads", G_HTTP) && parse_long(value, 1, 256, &x)) {
        o->cfg.http_threads = (int)x;
    } else if (KNOWN("host") || KNOWN("port") || KNOWN("parallel") || KNOWN("queue") || KNOWN("step_tokens") ||
               KNOWN("timeout") || KNOWN("api_key_file") || KNOWN("admin_key_file") || KNOWN("max_body") ||
               KNOWN("conn_limit") || KNOWN("idle_timeout") || KNOWN("http_threads")) {
        /* a flag set it, or the value is bad: say which */
        static const unsigned bits[] = {G_HOST, G_PORT, G_PAR, G_QUEUE, G_STEP, G_TIMEOUT, G_KEYS, G_ADMIN,
                                        G_BODY, G_CONN, G_IDLE, G_HTTP};
        static const char *names[] = {"host", "port", "parallel", "queue", "step_tokens", "timeout",
                                      "api_key_file", "admin_key_file", "max_body", "conn_limit", "idle_timeout",
                                      "http_threads"};
        for (size_t i = 0; i < sizeof bits / sizeof bits[0]; i++)
            if (!strcasecmp(key, names[i]) && !(o->given & bits[i]))
                fprintf(stderr, "bitnet serve: config: bad value '%s' for server.%s, ignored\n", value, key);
    } else {
        fprintf(stderr, "bitnet serve: config: unknown key '%s' in section [server], ignored\n", key);
    }
#undef K
#undef KNOWN
    return 1;
}

/* Keys, one per line; blank lines and # comments skipped. */
static int read_keys(const char *path, char ***keys, size_t *n) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "bitnet serve: cannot read the key file '%s': %s\n", path, strerror(errno));
        return 1;
    }
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        char *p = line;
        while (isspace((unsigned char)*p))
            p++;
        size_t len = strlen(p);
        while (len && isspace((unsigned char)p[len - 1]))
            p[--len] = 0;
        if (!len || *p == '#')
            continue;
        char **k = realloc(*keys, sizeof *k * (*n + 1));
        if (!k || !(k[*n] = strdup(p))) {
            free(k ? k : *keys);
            fclose(f);
            return 1;
        }
        *keys = k;
        (*n)++;
    }
    fclose(f);
    if (*n == 0) {
        fprintf(stderr, "bitnet serve: the key file '%s' holds no key\n", path);
        return 1;
    }
    return 0;
}

static int serve_opt(int argc, char **argv, int *i, serve_opts *o) {
    const char *a = argv[*i], *v;
    long x;
    uint64_t b;
#define VAL(name) if (!(v = bn_cli_value(argc, argv, i, name))) return -1
#define NUM(name, lo, hi) if (!parse_long(v, lo, hi, &x)) { \
        fprintf(stderr, "bitnet serve: %s wants an integer in [%ld, %ld], got '%s'\n", name, (long)(lo), (long)(hi), v); \
        return -1; }
    if (bn_cli_matches(a, NULL, "--host")) {
        VAL("--host");
        o->cfg.host = v;
        o->given |= G_HOST;
    } else if (bn_cli_matches(a, NULL, "--port")) {
        VAL("--port");
        NUM("--port", 0, 65535);
        o->cfg.port = (int)x;
        o->given |= G_PORT;
    } else if (bn_cli_matches(a, "-np", "--parallel")) {
        VAL("--parallel");
        NUM("--parallel", 1, 4096);
        o->cfg.sched.parallel = (int32_t)x;
        o->given |= G_PAR;
    } else if (bn_cli_matches(a, NULL, "--queue")) {
        VAL("--queue");
        NUM("--queue", 0, 1 << 20);
        o->cfg.sched.max_queue = (int32_t)x;
        o->given |= G_QUEUE;
    } else if (bn_cli_matches(a, NULL, "--step-tokens")) {
        VAL("--step-tokens");
        NUM("--step-tokens", 1, 1 << 16);
        o->cfg.sched.step_tokens = (int32_t)x;
        o->given |= G_STEP;
    } else if (bn_cli_matches(a, NULL, "--timeout")) {
        VAL("--timeout");
        NUM("--timeout", 0, 1 << 30);
        o->cfg.sched.timeout_s = (double)x;
        o->given |= G_TIMEOUT;
    } else if (bn_cli_matches(a, NULL, "--api-key-file")) {
        VAL("--api-key-file");
        o->key_file = v;
        o->given |= G_KEYS;
    } else if (bn_cli_matches(a, NULL, "--admin-key-file")) {
        VAL("--admin-key-file");
        o->admin_file = v;
        o->given |= G_ADMIN;
    } else if (bn_cli_matches(a, NULL, "--max-body")) {
        VAL("--max-body");
        if (!bn_parse_bytes(v, &b) || b == 0 || b > (1ull << 32)) {
            fprintf(stderr, "bitnet serve: --max-body wants a size such as 4M (at most 4G), got '%s'\n", v);
            return -1;
        }
        o->cfg.max_body = (size_t)b;
        o->given |= G_BODY;
    } else if (bn_cli_matches(a, NULL, "--conn-limit")) {
        VAL("--conn-limit");
        NUM("--conn-limit", 1, 1 << 20);
        o->cfg.conn_limit = (unsigned)x;
        o->given |= G_CONN;
    } else if (bn_cli_matches(a, NULL, "--idle-timeout")) {
        VAL("--idle-timeout");
        NUM("--idle-timeout", 1, 1 << 20);
        o->cfg.conn_timeout = (unsigned)x;
        o->given |= G_IDLE;
    } else if (bn_cli_matches(a, NULL, "--http-threads")) {
        VAL("--http-threads");
        NUM("--http-threads", 1, 256);
        o->cfg.http_threads = (int)x;
        o->given |= G_HTTP;
    } else {
        return 0;
    }
#undef VAL
#undef NUM
    return 1;
}

int bn_cmd_serve(int argc, char **argv) {
    serve_opts o;
    memset(&o, 0, sizeof o);
    srv_config *cfg = &o.cfg;
    bn_host_opts_init(&cfg->model);
    cfg->host = "127.0.0.1";
    cfg->port = 8080;
    cfg->max_body = (size_t)4 << 20;
    cfg->conn_limit = 1024;
    cfg->conn_timeout = 30;
    cfg->http_threads = 2;
    cfg->sched = (srv_sched_opts){.parallel = 16, .max_queue = 256, .step_tokens = 256, .timeout_s = 600};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help"))
            return usage(stdout, 0);
        int r = serve_opt(argc, argv, &i, &o);
        if (!r)
            r = bn_host_opt(argc, argv, &i, &cfg->model);
        if (r < 0)
            return 2;
        if (r == 0) {
            fprintf(stderr, "bitnet serve: unknown option '%s'\n", a);
            return usage(stderr, 2);
        }
    }
    if (bn_sampler_params_check(&cfg->model.sp) != BN_OK) {
        bn_cli_error("sampling options");
        return 2;
    }
    cfg->max_tokens = cfg->model.n_predict;
    if (cfg->max_tokens == 0) {
        fprintf(stderr, "bitnet serve: -n 0 would answer every request with nothing; use -1 or a positive count\n");
        return 2;
    }
    /* The [server] section of the same config file the engine reads. */
    bn_settings st;
    if (bn_settings_resolve(&cfg->model.cli, &st) != BN_OK) {
        bn_cli_error("settings");
        return 2;
    }
    if (st.config_file && st.config_file[0] && ini_parse(st.config_file, on_ini, &o) < 0)
        fprintf(stderr, "bitnet serve: cannot read '%s'\n", st.config_file);
    bn_settings_free(&st);

    int rc = 1;
    srv_server *s = NULL;
    if (o.key_file && read_keys(o.key_file, &cfg->keys, &cfg->n_keys))
        goto done;
    if (o.admin_file) {
        char **k = NULL;
        size_t n = 0;
        if (read_keys(o.admin_file, &k, &n))
            goto done;
        cfg->admin_key = k[0];
        for (size_t i = 1; i < n; i++)
            free(k[i]);
        free(k);
    }
    if (strcmp(cfg->host, "127.0.0.1") && strcmp(cfg->host, "::1") && !cfg->n_keys)
        fprintf(stderr, "bitnet serve: warning: listening on %s without --api-key-file: anyone who can reach it "
                        "can use it\n", cfg->host);

    /* Signals go to this thread alone (sigwait), never into the server's. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (srv_server_start(cfg, &s))
        goto done;
    char err[700];
    if (srv_server_wait_ready(s, err, sizeof err)) {
        fprintf(stderr, "bitnet serve: no model to serve: %s\n", err);
        goto done;
    }
    int sig = 0;
    sigwait(&sigs, &sig);
    fprintf(stderr, "bitnet serve: %s: stopping (requests in flight end with an error)\n",
            sig == SIGINT ? "SIGINT" : "SIGTERM");
    rc = 0;
done:
    srv_server_stop(s);
    for (size_t i = 0; i < cfg->n_keys; i++)
        free(cfg->keys[i]);
    free(cfg->keys);
    free(cfg->admin_key);
    free(o.owned_host);
    free(o.owned_key_file);
    free(o.owned_admin_file);
    return rc;
}
