/* .safetensors: 8-byte little-endian header length, a JSON header mapping
 * names to {dtype, shape, data_offsets}, then the data. Every entry is
 * checked: known dtype, shape product and byte size agree, offsets inside
 * the data section and not overlapping. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "safetensors.h"

#define MAX_HEADER (100u << 20)

typedef struct st_map {
    void *base;
    size_t size;
    int owned; /* munmap on close */
} st_map;

struct bn_st_set {
    st_map *maps;
    size_t n_maps;
    bn_st_tensor *t;
    size_t n, cap;
};

static const struct {
    const char *name;
    int32_t dtype, bytes;
} dtypes[] = {
    {"F32", BN_ST_F32, 4}, {"F16", BN_ST_F16, 2}, {"BF16", BN_ST_BF16, 2}, {"F64", BN_ST_F64, 8},
    {"U8", BN_ST_U8, 1},   {"I8", BN_ST_I8, 1},   {"I16", BN_ST_I16, 2},   {"I32", BN_ST_I32, 4},
    {"I64", BN_ST_I64, 8}, {"BOOL", BN_ST_BOOL, 1},
};

static int entry_cmp(const void *a, const void *b) {
    const bn_st_tensor *x = a, *y = b;
    return x->data < y->data ? -1 : x->data > y->data;
}

static bn_status parse_entry(bn_st_set *s, const cJSON *e, const unsigned char *data, uint64_t data_len,
                             const char *label) {
    const char *name = e->string;
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype"), *shape = cJSON_GetObjectItemCaseSensitive(e, "shape"),
                *offs = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    if (!cJSON_IsString(dt) || !cJSON_IsArray(shape) || !cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2)
        return bn_fail(BN_ERR_FORMAT, "%s: tensor '%s' lacks dtype, shape or data_offsets", label, name);
    int32_t dtype = BN_ST_UNKNOWN, bytes = 0;
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (!strcmp(dt->valuestring, dtypes[i].name)) {
            dtype = dtypes[i].dtype;
            bytes = dtypes[i].bytes;
        }
    if (dtype == BN_ST_UNKNOWN)
        return bn_fail(BN_ERR_UNSUPPORTED, "%s: tensor '%s' has unsupported dtype '%s'", label, name, dt->valuestring);
    int nd = cJSON_GetArraySize(shape);
    if (nd > 8)
        return bn_fail(BN_ERR_FORMAT, "%s: tensor '%s' has %d dimensions (max 8)", label, name, nd);
    bn_st_tensor t = {.dtype = dtype, .dtype_name = dt->valuestring, .n_dims = nd, .n_elems = 1};
    for (int i = 0; i < nd; i++) {
        const cJSON *d = cJSON_GetArrayItem(shape, i);
        if (!cJSON_IsNumber(d) || d->valuedouble < 0 || d->valuedouble > 1e15 || d->valuedouble != (double)(int64_t)d->valuedouble)
            return bn_fail(BN_ERR_FORMAT, "%s: tensor '%s' has a bad shape entry", label, name);
        t.shape[i] = (int64_t)d->valuedouble;
        if (t.shape[i] && t.n_elems > INT64_MAX / t.shape[i])
            return bn_fail(BN_ERR_FORMAT, "%s: tensor '%s' shape overflows", label, name);
        t.n_elems *= t.shape[i];
    }
    const cJSON *o0 = cJSON_GetArrayItem(offs, 0), *o1 = cJSON_GetArrayItem(offs, 1);
    if (!cJSON_IsNumber(o0) || !cJSON_IsNumber(o1) || o0->valuedouble < 0 || o1->valuedouble < o0->valuedouble ||
        o1->valuedouble > (double)data_len)
        return bn_fail(BN_ERR_FORMAT, "%s: tensor '%s' data_offsets lie outside the data section (%llu bytes)", label,
                       name, (unsigned long long)data_len);
    uint64_t b = (uint64_t)o0->valuedouble, end = (uint64_t)o1->valuedouble;
    if (t.n_elems > (int64_t)(UINT64_MAX / 8) || end - b != (uint64_t)t.n_elems * (uint64_t)bytes)
        return bn_fail(BN_ERR_FORMAT, "%s: tensor '%s' spans %llu bytes but %s x %lld elements need %llu", label, name,
                       (unsigned long long)(end - b), dt->valuestring, (long long)t.n_elems,
                       (unsigned long long)t.n_elems * (unsigned long long)bytes);
    t.data = data + b;
    t.size = end - b;
    t.name = bn_strdup(name);
    if (!t.name)
        return bn_fail(BN_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->t[i].name, name)) {
            free(t.name);
            return bn_fail(BN_ERR_FORMAT, "%s: tensor '%s' appears twice", label, name);
        }
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        bn_st_tensor *nt = realloc(s->t, cap * sizeof *nt);
        if (!nt) {
            free(t.name);
            return bn_fail(BN_ERR_NOMEM, "out of memory");
        }
        s->t = nt;
        s->cap = cap;
    }
    s->t[s->n++] = t;
    return BN_OK;
}

static bn_status parse_image(bn_st_set *s, const unsigned char *img, size_t size, const char *label) {
    if (size < 8)
        return bn_fail(BN_ERR_FORMAT, "%s: too short for a safetensors file", label);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | img[i];
    if (hlen > MAX_HEADER || hlen > size - 8)
        return bn_fail(BN_ERR_FORMAT, "%s: header length %llu is past the end of the file or absurd", label,
                       (unsigned long long)hlen);
    cJSON *root = cJSON_ParseWithLength((const char *)img + 8, (size_t)hlen);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return bn_fail(BN_ERR_FORMAT, "%s: header is not a JSON object", label);
    }
    size_t first = s->n;
    const unsigned char *data = img + 8 + hlen;
    uint64_t data_len = size - 8 - hlen;
    bn_status st = BN_OK;
    for (const cJSON *e = root->child; e && st == BN_OK; e = e->next) {
        if (!strcmp(e->string, "__metadata__"))
            continue;
        if (!cJSON_IsObject(e))
            st = bn_fail(BN_ERR_FORMAT, "%s: entry '%s' is not an object", label, e->string);
        else
            st = parse_entry(s, e, data, data_len, label);
    }
    cJSON_Delete(root);
    if (st != BN_OK)
        return st;
    /* No two tensors of this file may share bytes. */
    size_t n = s->n - first;
    if (n < 2)
        return BN_OK;
    bn_st_tensor *sorted = malloc((n ? n : 1) * sizeof *sorted);
    if (!sorted)
        return bn_fail(BN_ERR_NOMEM, "out of memory");
    memcpy(sorted, s->t + first, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, entry_cmp);
    for (size_t i = 1; i < n && st == BN_OK; i++)
        if ((const char *)sorted[i - 1].data + sorted[i - 1].size > (const char *)sorted[i].data)
            st = bn_fail(BN_ERR_FORMAT, "%s: tensors '%s' and '%s' overlap", label, sorted[i - 1].name, sorted[i].name);
    free(sorted);
    return st;
}

static bn_status add_map(bn_st_set *s, void *base, size_t size, int owned) {
    st_map *m = realloc(s->maps, (s->n_maps + 1) * sizeof *m);
    if (!m)
        return bn_fail(BN_ERR_NOMEM, "out of memory");
    s->maps = m;
    s->maps[s->n_maps++] = (st_map){base, size, owned};
    return BN_OK;
}

static bn_status map_file(bn_st_set *s, const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return bn_fail(errno == ENOENT ? BN_ERR_NOT_FOUND : BN_ERR_IO, "%s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size < 8) {
        close(fd);
        return bn_fail(BN_ERR_FORMAT, "%s: not a regular file of at least 8 bytes", path);
    }
    void *base = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (base == MAP_FAILED)
        return bn_fail(BN_ERR_IO, "%s: mmap failed: %s", path, strerror(errno));
    bn_status st = add_map(s, base, (size_t)sb.st_size, 1);
    if (st != BN_OK) {
        munmap(base, (size_t)sb.st_size);
        return st;
    }
    return parse_image(s, base, (size_t)sb.st_size, path);
}

bn_status bn_st_open_memory(const void *data, size_t size, const char *label, bn_st_set **out) {
    *out = NULL;
    bn_st_set *s = calloc(1, sizeof *s);
    if (!s)
        return bn_fail(BN_ERR_NOMEM, "out of memory");
    bn_status st = add_map(s, (void *)data, size, 0);
    if (st == BN_OK)
        st = parse_image(s, data, size, label ? label : "safetensors");
    if (st != BN_OK) {
        bn_st_close(s);
        return st;
    }
    *out = s;
    return BN_OK;
}

bn_status bn_st_open_file(const char *path, bn_st_set **out) {
    *out = NULL;
    bn_st_set *s = calloc(1, sizeof *s);
    if (!s)
        return bn_fail(BN_ERR_NOMEM, "out of memory");
    bn_status st = map_file(s, path);
    if (st != BN_OK) {
        bn_st_close(s);
        return st;
    }
    *out = s;
    return BN_OK;
}

static int is_st(const struct dirent *d) {
    size_t n = strlen(d->d_name);
    return n > 12 && !strcmp(d->d_name + n - 12, ".safetensors");
}

bn_status bn_st_open_dir(const char *dir, bn_st_set **out) {
    *out = NULL;
    struct dirent **list;
    int n = scandir(dir, &list, is_st, alphasort);
    if (n < 0)
        return bn_fail(BN_ERR_NOT_FOUND, "%s: cannot list the folder: %s", dir, strerror(errno));
    bn_st_set *s = calloc(1, sizeof *s);
    bn_status st = s ? BN_OK : bn_fail(BN_ERR_NOMEM, "out of memory");
    if (st == BN_OK && n == 0)
        st = bn_fail(BN_ERR_NOT_FOUND, "%s: no *.safetensors files in the folder", dir);
    for (int i = 0; i < n; i++) {
        if (st == BN_OK) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", dir, list[i]->d_name);
            st = map_file(s, path);
        }
        free(list[i]);
    }
    free(list);
    if (st != BN_OK) {
        bn_st_close(s);
        return st;
    }
    *out = s;
    return BN_OK;
}

void bn_st_close(bn_st_set *s) {
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        free(s->t[i].name);
    for (size_t i = 0; i < s->n_maps; i++)
        if (s->maps[i].owned)
            munmap(s->maps[i].base, s->maps[i].size);
    free(s->maps);
    free(s->t);
    free(s);
}

size_t bn_st_count(const bn_st_set *s) { return s->n; }
const bn_st_tensor *bn_st_at(const bn_st_set *s, size_t i) { return i < s->n ? &s->t[i] : NULL; }

const bn_st_tensor *bn_st_find(const bn_st_set *s, const char *name) {
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->t[i].name, name))
            return &s->t[i];
    return NULL;
}
