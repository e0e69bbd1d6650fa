/* The engine: probed hardware, the pinned thread pool, the services table
 * handed to plugins, and the plugin chosen to run. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "loader.h"

struct bn_engine {
    bn_hw_info hw;
    bn_pool *pool;
    bn_services svc;
    bn_plugin_set plugins;
    int chosen; /* index into plugins, -1 if none */
};

/* ---- services ---------------------------------------------------------- */

static void svc_log(void *core, int level, const char *fmt, ...) {
    (void)core;
    va_list ap;
    va_start(ap, fmt);
    bn_vlog(level, fmt, ap);
    va_end(ap);
}

static void *svc_aligned_alloc(void *core, size_t alignment, size_t size) {
    (void)core;
    void *p = NULL;
    if (alignment < sizeof(void *))
        alignment = sizeof(void *);
    if (size == 0)
        size = 1;
    return posix_memalign(&p, alignment, size) == 0 ? p : NULL;
}

static void svc_aligned_free(void *core, void *ptr) {
    (void)core;
    free(ptr);
}

static void svc_parallel_for(void *core, int64_t n, int64_t grain, bn_range_fn fn, void *arg) {
    bn_pool_parallel_for(((bn_engine *)core)->pool, n, grain, fn, arg);
}

static int svc_n_threads(void *core) { return bn_pool_size(((bn_engine *)core)->pool); }

/* ---- choosing ------------------------------------------------------------ */

static bn_status init_plugin(bn_engine *e, bn_plugin *p) {
    if (p->ctx)
        return BN_OK;
    bn_status st = p->be->init(&e->svc, &e->hw, &p->ctx);
    if (st != BN_OK || !p->ctx) {
        p->ctx = NULL;
        return bn_fail(st != BN_OK ? st : BN_ERR_INTERNAL, "plugin '%s' failed to initialise (%s)", p->name,
                       bn_status_str(st));
    }
    return BN_OK;
}

static int find_plugin(const bn_engine *e, const char *name) {
    for (size_t i = 0; i < e->plugins.n; i++)
        if (e->plugins.items[i].name && !strcmp(e->plugins.items[i].name, name))
            return (int)i;
    return -1;
}

static bn_status choose(bn_engine *e, const char *forced) {
    if (forced && *forced) {
        int i = find_plugin(e, forced);
        if (i < 0)
            return bn_fail(BN_ERR_NOT_FOUND, "backend '%s' was asked for but no such plugin was found (searched %s)",
                           forced, e->plugins.search_path);
        bn_plugin *p = &e->plugins.items[i];
        if (!p->rep.usable)
            return bn_fail(BN_ERR_UNSUPPORTED, "backend '%s' was asked for but cannot run: %s", forced, p->rep.reason);
        bn_status st = init_plugin(e, p);
        if (st == BN_OK)
            e->chosen = i;
        return st;
    }
    /* Best score first; a plugin that fails to initialise is skipped. */
    for (;;) {
        int best = -1;
        for (size_t i = 0; i < e->plugins.n; i++) {
            const bn_plugin *p = &e->plugins.items[i];
            if (p->rep.usable && (best < 0 || p->rep.score > e->plugins.items[best].rep.score))
                best = (int)i;
        }
        if (best < 0)
            return bn_fail(BN_ERR_NOT_FOUND, "no usable backend plugin (searched %s); run `bitnet plugins` for reasons",
                           e->plugins.search_path[0] ? e->plugins.search_path : "nothing");
        bn_plugin *p = &e->plugins.items[best];
        if (init_plugin(e, p) == BN_OK) {
            e->chosen = best;
            return BN_OK;
        }
        bn_log(BN_LOG_WARN, "%s; trying the next plugin", bn_last_error());
        p->rep.usable = 0;
        p->rep.score = 0;
        free(p->reason);
        p->reason = bn_strdup("init() failed on this machine");
        p->rep.reason = p->reason ? p->reason : "";
    }
}

/* ---- public -------------------------------------------------------------- */

bn_status bn_engine_create_ex(const bn_settings *s, int flags, bn_engine **out) {
    *out = NULL;
    bn_engine *e = calloc(1, sizeof *e);
    if (!e)
        return bn_fail(BN_ERR_NOMEM, "out of memory creating the engine");
    e->chosen = -1;
    bn_log_set_level(s->log_level);
    bn_status st = bn_hw_probe(&e->hw);
    if (st != BN_OK)
        bn_log(BN_LOG_WARN, "hardware probe incomplete: %s", bn_last_error());
    int threads = s->threads > 0 ? s->threads : (e->hw.n_cores > 0 ? e->hw.n_cores : 1);
    st = bn_pool_create(threads, s->pin_threads, &e->pool);
    if (st != BN_OK) {
        free(e);
        return st;
    }
    e->svc = (bn_services){
        .struct_size = sizeof(bn_services),
        .core = e,
        .log = svc_log,
        .aligned_alloc = svc_aligned_alloc,
        .aligned_free = svc_aligned_free,
        .parallel_for = svc_parallel_for,
        .n_threads = svc_n_threads,
    };
    st = bn_plugins_discover(&e->plugins, s, &e->hw);
    if (st == BN_OK && !(flags & BN_ENGINE_NO_CHOICE))
        st = choose(e, s->backend);
    if (st != BN_OK && !(flags & BN_ENGINE_KEEP_ON_ERROR)) {
        bn_engine_free(e);
        return st;
    }
    if (e->chosen >= 0)
        e->plugins.items[e->chosen].rep.chosen = 1;
    *out = e;
    return st;
}

bn_status bn_engine_create(const bn_settings *s, bn_engine **out) { return bn_engine_create_ex(s, 0, out); }

void bn_engine_free(bn_engine *e) {
    if (!e)
        return;
    bn_plugins_free(&e->plugins);
    bn_pool_free(e->pool);
    free(e);
}

const bn_hw_info *bn_engine_hw(const bn_engine *e) { return &e->hw; }
const bn_services *bn_engine_services(bn_engine *e) { return &e->svc; }
int bn_engine_threads(const bn_engine *e) { return bn_pool_size(e->pool); }
size_t bn_engine_plugin_count(const bn_engine *e) { return e->plugins.n; }

const bn_plugin_report *bn_engine_plugin(const bn_engine *e, size_t i) {
    return i < e->plugins.n ? &e->plugins.items[i].rep : NULL;
}

const char *bn_engine_search_path(const bn_engine *e) { return e->plugins.search_path; }

const bn_backend *bn_engine_backend(const bn_engine *e) {
    return e->chosen >= 0 ? e->plugins.items[e->chosen].be : NULL;
}

bn_backend_ctx *bn_engine_backend_ctx(const bn_engine *e) {
    return e->chosen >= 0 ? e->plugins.items[e->chosen].ctx : NULL;
}

bn_status bn_engine_open_backend(bn_engine *e, const char *name, const bn_backend **be, bn_backend_ctx **ctx) {
    int i = find_plugin(e, name);
    if (i < 0)
        return bn_fail(BN_ERR_NOT_FOUND, "no plugin named '%s' (searched %s)", name, e->plugins.search_path);
    bn_plugin *p = &e->plugins.items[i];
    if (!p->rep.usable)
        return bn_fail(BN_ERR_UNSUPPORTED, "plugin '%s' cannot run: %s", name, p->rep.reason);
    bn_status st = init_plugin(e, p);
    if (st != BN_OK)
        return st;
    *be = p->be;
    *ctx = p->ctx;
    return BN_OK;
}
