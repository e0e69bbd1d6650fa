/* Finds backend plugins and decides, for each, whether it can serve here.
 * A bad plugin is reported with a one-line reason and skipped. */
#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "loader.h"
#include "paths.h"

#define PLUGIN_PREFIX "bitnet-plugin-"
#define PLUGIN_SUFFIX ".so"

static int str_append(char **dst, const char *sep, const char *add) {
    size_t a = *dst ? strlen(*dst) : 0, b = strlen(add), c = (a && *sep) ? strlen(sep) : 0;
    char *n = realloc(*dst, a + b + c + 1);
    if (!n)
        return 0;
    if (c)
        memcpy(n + a, sep, c);
    memcpy(n + a + c, add, b + 1);
    *dst = n;
    return 1;
}

/* Is `name` in the comma/space separated list? */
static int in_list(const char *list, const char *name) {
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        while (*p == ',' || isspace((unsigned char)*p))
            p++;
        const char *e = p;
        while (*e && *e != ',' && !isspace((unsigned char)*e))
            e++;
        if ((size_t)(e - p) == n && !strncmp(p, name, n))
            return 1;
        p = e;
    }
    return 0;
}

static bn_plugin *push(bn_plugin_set *set, const char *path) {
    if (set->n == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 8;
        bn_plugin *n = realloc(set->items, cap * sizeof *n);
        if (!n)
            return NULL;
        set->items = n;
        set->cap = cap;
    }
    bn_plugin *p = &set->items[set->n++];
    memset(p, 0, sizeof *p);
    p->path = bn_strdup(path);
    return p;
}

static void set_reason(bn_plugin *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_reason(bn_plugin *p, const char *fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    /* one line: a dlerror() text may carry newlines */
    for (char *c = buf; *c; c++)
        if (*c == '\n' || *c == '\r')
            *c = ' ';
    free(p->reason);
    p->reason = bn_strdup(buf);
}

/* File stem between the prefix and ".so": the name until the plugin
 * tells its own. */
static char *stem_of(const char *path) {
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (!strncmp(base, PLUGIN_PREFIX, strlen(PLUGIN_PREFIX)))
        base += strlen(PLUGIN_PREFIX);
    char *s = bn_strdup(base);
    if (s) {
        size_t n = strlen(s), k = strlen(PLUGIN_SUFFIX);
        if (n > k && !strcmp(s + n - k, PLUGIN_SUFFIX))
            s[n - k] = 0;
    }
    return s;
}

static int valid_name(const char *n) {
    if (!n || !*n || strlen(n) > 63)
        return 0;
    for (; *n; n++)
        if (!(islower((unsigned char)*n) || isdigit((unsigned char)*n) || *n == '-' || *n == '_'))
            return 0;
    return 1;
}

static const bn_plugin *find_name(const bn_plugin_set *set, const char *name, const bn_plugin *self) {
    for (size_t i = 0; i < set->n; i++)
        if (&set->items[i] != self && set->items[i].be && set->items[i].name && !strcmp(set->items[i].name, name))
            return &set->items[i];
    return NULL;
}

/* Load one file and fill its report. */
static void probe_file(bn_plugin_set *set, bn_plugin *p, const bn_settings *s, const bn_hw_info *hw) {
    p->name = stem_of(p->path);
    p->handle = dlopen(p->path, RTLD_NOW | RTLD_LOCAL);
    if (!p->handle) {
        const char *e = dlerror();
        set_reason(p, "cannot be loaded: %s", e ? e : "unknown dlopen error");
        return;
    }
    dlerror();
    void *sym = dlsym(p->handle, BN_PLUGIN_ENTRY_SYMBOL);
    if (!sym) {
        set_reason(p, "no entry symbol '%s': not a bitnet plugin", BN_PLUGIN_ENTRY_SYMBOL);
        return;
    }
    bn_plugin_entry_fn entry;
    memcpy(&entry, &sym, sizeof entry); /* object -> function pointer */
    const bn_backend *be = entry();
    if (!be) {
        set_reason(p, "entry symbol returned no backend");
        return;
    }
    p->rep.abi_major = be->info.abi_major;
    p->rep.abi_minor = be->info.abi_minor;
    if (be->info.abi_major != BN_ABI_MAJOR) {
        set_reason(p, "plugin ABI %d.%d, this core speaks %d.x", be->info.abi_major, be->info.abi_minor,
                   BN_ABI_MAJOR);
        return;
    }
    if (be->info.struct_size < BN_BACKEND_MIN_SIZE) {
        set_reason(p, "vtable size %u is smaller than ABI %d.0 needs (%zu)", be->info.struct_size, BN_ABI_MAJOR,
                   (size_t)BN_BACKEND_MIN_SIZE);
        return;
    }
    if (!valid_name(be->info.name)) {
        set_reason(p, "invalid plugin name (want 1-63 of [a-z0-9_-])");
        return;
    }
    free(p->name);
    p->name = bn_strdup(be->info.name);
    p->version = bn_strdup(be->info.version ? be->info.version : "");
    if (!be->score || !be->init) {
        set_reason(p, "vtable lacks score() or init()");
        return;
    }
    const bn_plugin *dup = find_name(set, p->name, p);
    if (dup) {
        set_reason(p, "shadowed by %s (same name earlier in the search path)", dup->path);
        return;
    }
    p->be = be;
    if (in_list(s->deny, p->name)) {
        set_reason(p, "denied by configuration (deny list)");
        return;
    }
    char why[256] = "";
    int sc = be->score(hw, why, sizeof why);
    why[sizeof why - 1] = 0;
    if (sc <= 0) {
        set_reason(p, "%s", why[0] ? why : "plugin scored 0 on this machine");
        return;
    }
    p->rep.score = sc;
    p->rep.usable = 1;
    if (why[0]) /* a usable plugin may say which of its paths run here */
        set_reason(p, "%s", why);
}

static int has_plugin_name(const char *f) {
    size_t n = strlen(f), k = strlen(PLUGIN_SUFFIX);
    return !strncmp(f, PLUGIN_PREFIX, strlen(PLUGIN_PREFIX)) && n > k && !strcmp(f + n - k, PLUGIN_SUFFIX);
}

static bn_status scan_dir(bn_plugin_set *set, const char *dir, const bn_settings *s, const bn_hw_info *hw) {
    struct dirent **list = NULL;
    int n = scandir(dir, &list, NULL, alphasort);
    if (n < 0) {
        bn_log(BN_LOG_DEBUG, "plugin directory %s: not readable, skipped", dir);
        return BN_OK;
    }
    bn_status st = BN_OK;
    for (int i = 0; i < n; i++) {
        if (st == BN_OK && has_plugin_name(list[i]->d_name)) {
            char path[PATH_MAX];
            snprintf(path, sizeof path, "%s/%s", dir, list[i]->d_name);
            bn_plugin *p = push(set, path);
            if (!p || !p->path)
                st = bn_fail(BN_ERR_NOMEM, "out of memory listing plugins");
            else
                probe_file(set, p, s, hw);
        }
        free(list[i]);
    }
    free(list);
    return st;
}

/* Add each ':'-separated entry of `dirs` to the path unless present. */
static int add_dirs(char **path, const char *dirs) {
    char *copy = bn_strdup(dirs ? dirs : ""), *save = NULL;
    if (!copy)
        return 0;
    for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        char canon[PATH_MAX];
        const char *use = realpath(d, canon) ? canon : d;
        int seen = 0;
        if (*path) {
            char *scan = bn_strdup(*path), *s2 = NULL;
            if (!scan) {
                free(copy);
                return 0;
            }
            for (char *e = strtok_r(scan, ":", &s2); e && !seen; e = strtok_r(NULL, ":", &s2))
                seen = !strcmp(e, use);
            free(scan);
        }
        if (!seen && !str_append(path, ":", use)) {
            free(copy);
            return 0;
        }
    }
    free(copy);
    return 1;
}

bn_status bn_plugins_discover(bn_plugin_set *set, const bn_settings *s, const bn_hw_info *hw) {
    memset(set, 0, sizeof *set);
    char builtin[PATH_MAX] = "";
    if (bn_install_relative(BITNET_PLUGIN_REL_DIR, builtin, sizeof builtin) != BN_OK)
        builtin[0] = 0;
    if (!add_dirs(&set->search_path, getenv("BITNET_PLUGIN_PATH")) || !add_dirs(&set->search_path, s->plugin_path) ||
        !add_dirs(&set->search_path, builtin))
        return bn_fail(BN_ERR_NOMEM, "out of memory building the plugin search path");
    if (!set->search_path)
        set->search_path = bn_strdup("");
    char *dirs = bn_strdup(set->search_path), *save = NULL;
    if (!dirs)
        return bn_fail(BN_ERR_NOMEM, "out of memory");
    bn_status st = BN_OK;
    for (char *d = strtok_r(dirs, ":", &save); d && st == BN_OK; d = strtok_r(NULL, ":", &save))
        st = scan_dir(set, d, s, hw);
    free(dirs);
    for (size_t i = 0; i < set->n; i++) { /* reports point at owned strings */
        bn_plugin *p = &set->items[i];
        p->rep.name = p->name ? p->name : "?";
        p->rep.path = p->path;
        p->rep.version = p->version ? p->version : "";
        p->rep.reason = p->reason ? p->reason : "";
    }
    return st;
}

void bn_plugins_free(bn_plugin_set *set) {
    for (size_t i = 0; i < set->n; i++) {
        bn_plugin *p = &set->items[i];
        if (p->ctx && p->be && p->be->shutdown)
            p->be->shutdown(p->ctx);
        /* Sanitizer builds keep modules mapped so leak reports can name
         * plugin frames. */
#if !defined(__SANITIZE_ADDRESS__)
        if (p->handle)
            dlclose(p->handle);
#endif
        free(p->name);
        free(p->path);
        free(p->version);
        free(p->reason);
    }
    free(set->items);
    free(set->search_path);
    memset(set, 0, sizeof *set);
}
