/*
 * bitnet engine API for hosts and bindings.
 *
 * Every function that can fail returns a bn_status; on failure a message
 * naming the problem is available from bn_last_error() on the same thread.
 */
#ifndef BITNET_BITNET_H
#define BITNET_BITNET_H

#include <stdio.h>

#include "bitnet/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define BN_API __attribute__((visibility("default")))
#else
#define BN_API
#endif

/* ---- version and errors ------------------------------------------------- */

BN_API const char *bn_version(void);
BN_API const char *bn_status_str(bn_status st);
/* Message of the last failed call on this thread ("" if none). */
BN_API const char *bn_last_error(void);
/* Set the message (printf-style); returns st so callers can `return
 * bn_fail(BN_ERR_INVALID, "...")`. For hosts and plugins-in-tests too. */
BN_API bn_status bn_fail(bn_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* ---- logging ------------------------------------------------------------ */

BN_API void bn_log_set_level(int level); /* BN_LOG_* ; default BN_LOG_WARN */
BN_API int bn_log_get_level(void);
BN_API void bn_log(int level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* ---- hardware ----------------------------------------------------------- */

/* Probe the machine (hwloc topology + cpuid/XCR0 ISA bits). For testing,
 * BITNET_ISA_DISABLE="avx512f,avx512vnni,..." (or "avx512" for the whole
 * family, "all" for everything) removes ISA bits as if the CPU lacked them. */
BN_API bn_status bn_hw_probe(bn_hw_info *out);
/* Comma-separated names of the ISA bits set in `isa` into buf. */
BN_API void bn_isa_to_string(uint32_t isa, char *buf, size_t len);
/* Bit for one ISA name ("avx2", "avx512vnni", ...), 0 if unknown. */
BN_API uint32_t bn_isa_from_name(const char *name);

/* ---- configuration ------------------------------------------------------ */

/* Settings with their precedence resolved: CLI > environment > file >
 * defaults. Strings are owned by the config. */
typedef struct bn_settings {
    char *backend;      /* force this plugin by name ("" = best score) */
    char *deny;         /* comma-separated plugin names never loaded */
    char *plugin_path;  /* extra ':'-separated plugin directories */
    char *model;        /* default model path */
    char *kernel;       /* "auto", "mad", "tl1", "tl2" */
    int threads;        /* 0 = one per physical core */
    int pin_threads;    /* pin pool threads to cores with hwloc */
    int log_level;      /* BN_LOG_* */
    char *config_file;  /* the file that was read, "" if none */
    int kv_page_tokens; /* [kv] page_tokens: KV pool page in tokens (0 = default) */
    uint64_t kv_budget_bytes; /* [kv] budget: KV pool bytes (0 = default) */
} bn_settings;

/* Values given on the command line; NULL / -1 mean "not given". */
typedef struct bn_cli_overrides {
    const char *config_path; /* --config */
    const char *backend;
    const char *deny;
    const char *plugin_path;
    const char *model;
    const char *kernel;
    int threads;
    int pin_threads;
    int log_level;
} bn_cli_overrides;

BN_API void bn_cli_overrides_init(bn_cli_overrides *cli);
/* A byte count with an optional binary suffix: "4096", "512K", "64M",
 * "4G", "1T" (case-insensitive, "B"/"iB" allowed after it). 1 if valid. */
BN_API int bn_parse_bytes(const char *s, uint64_t *out);
/* Resolve settings. The file is the first that exists of: cli->config_path,
 * $BITNET_CONFIG, $XDG_CONFIG_HOME/bitnet/config.ini (or
 * ~/.config/bitnet/config.ini), <install prefix>/etc/bitnet/config.ini,
 * /etc/bitnet/config.ini. An explicit path (--config / BITNET_CONFIG) that
 * does not exist is an error. Unknown keys and bad values are warned about
 * with file:line and otherwise ignored. */
BN_API bn_status bn_settings_resolve(const bn_cli_overrides *cli, bn_settings *out);
BN_API void bn_settings_free(bn_settings *s);

/* The model the install bundles: <prefix>/share/bitnet/models/default.gguf
 * relative to libbitnet (BN_ERR_NOT_FOUND with the path tried if absent). */
BN_API bn_status bn_default_model_path(char *out, size_t len);

/* ---- engine: hardware + thread pool + plugins --------------------------- */

typedef struct bn_engine bn_engine;

/* One plugin file the loader looked at. */
typedef struct bn_plugin_report {
    const char *name;    /* plugin's own name, or file stem if unreadable */
    const char *path;
    const char *version; /* "" if unknown */
    int abi_major, abi_minor;
    int score;           /* 0 = cannot run here (or refused) */
    const char *reason;  /* why score is 0 / why refused; "" if fine */
    int usable;          /* loaded, ABI ok, score > 0, not denied */
    int chosen;
} bn_plugin_report;

BN_API bn_status bn_engine_create(const bn_settings *s, bn_engine **out);
/* Flags for bn_engine_create_ex. */
enum {
    BN_ENGINE_NO_CHOICE = 1,     /* discover and score only; init nothing */
    BN_ENGINE_KEEP_ON_ERROR = 2  /* on failure to choose, still return the
                                    engine in *out (for listing reasons) */
};
BN_API bn_status bn_engine_create_ex(const bn_settings *s, int flags, bn_engine **out);
BN_API void bn_engine_free(bn_engine *e);

BN_API const bn_hw_info *bn_engine_hw(const bn_engine *e);
BN_API const bn_services *bn_engine_services(bn_engine *e);
BN_API int bn_engine_threads(const bn_engine *e);

BN_API size_t bn_engine_plugin_count(const bn_engine *e);
BN_API const bn_plugin_report *bn_engine_plugin(const bn_engine *e, size_t i);
/* Directories searched, in order, ':'-joined (for `bitnet plugins`). */
BN_API const char *bn_engine_search_path(const bn_engine *e);

/* The chosen backend, initialised. */
BN_API const bn_backend *bn_engine_backend(const bn_engine *e);
BN_API bn_backend_ctx *bn_engine_backend_ctx(const bn_engine *e);
/* Open (and initialise, once) a usable plugin by name - for A/B runs and
 * conformance testing. The engine owns the result. */
BN_API bn_status bn_engine_open_backend(bn_engine *e, const char *name, const bn_backend **be,
                                        bn_backend_ctx **ctx);

/* Measured sustainable memory read rate with the engine's threads (a
 * STREAM-style sum over 512 MiB, best of 5 passes). */
BN_API bn_status bn_engine_read_bandwidth(bn_engine *e, double *bytes_per_s);

/* Safe slot access: NULL if the plugin's struct is too old for the slot. */
#define BN_BACKEND_SLOT(be, slot)                                                                   \
    ((offsetof(bn_backend, slot) + sizeof((be)->slot) <= (be)->info.struct_size) ? (be)->slot : NULL)

#ifdef __cplusplus
}
#endif
#endif /* BITNET_BITNET_H */
