/* GGUF writer: collecting metadata and tensor descriptions. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "gguf_writer.h"

#define MAX_TENSOR_NAME 63 /* llama.cpp cannot read longer names */

void gguf_buf_put(gguf_buf *b, const void *data, size_t n) {
    if (b->oom || !n)
        return;
    if (n > SIZE_MAX / 2 - b->len) {
        b->oom = 1;
        return;
    }
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

void gguf_buf_u32(gguf_buf *b, uint32_t v) { gguf_buf_put(b, &v, 4); }
void gguf_buf_u64(gguf_buf *b, uint64_t v) { gguf_buf_put(b, &v, 8); }

void gguf_buf_str(gguf_buf *b, const char *s, uint64_t len) {
    gguf_buf_u64(b, len);
    gguf_buf_put(b, s, (size_t)len);
}

bn_status bn_gguf_writer_create(bn_gguf_writer **out) {
    if (!out)
        return bn_fail(BN_ERR_INVALID, "bn_gguf_writer_create: out is NULL");
    *out = calloc(1, sizeof **out);
    return *out ? BN_OK : bn_fail(BN_ERR_NOMEM, "out of memory");
}

void bn_gguf_writer_free(bn_gguf_writer *w) {
    if (!w)
        return;
    for (size_t i = 0; i < w->n_kv; i++) {
        free(w->kv[i].key);
        free(w->kv[i].val.p);
    }
    for (size_t i = 0; i < w->n_t; i++)
        free(w->t[i].name);
    free(w->kv);
    free(w->t);
    free(w);
}

static gguf_wkv *find_kv(bn_gguf_writer *w, const char *key) {
    for (size_t i = 0; i < w->n_kv; i++)
        if (strcmp(w->kv[i].key, key) == 0)
            return &w->kv[i];
    return NULL;
}

void bn_gguf_writer_remove(bn_gguf_writer *w, const char *key) {
    gguf_wkv *kv = w && key ? find_kv(w, key) : NULL;
    if (!kv)
        return;
    free(kv->key);
    free(kv->val.p);
    size_t i = (size_t)(kv - w->kv);
    memmove(kv, kv + 1, (w->n_kv - i - 1) * sizeof *kv);
    w->n_kv--;
}

/* Take ownership of an encoded value (type tag + body) for key. */
static bn_status set_encoded(bn_gguf_writer *w, const char *key, gguf_buf *val) {
    if (val->oom) {
        free(val->p);
        return bn_fail(BN_ERR_NOMEM, "out of memory encoding key '%s'", key);
    }
    gguf_wkv *kv = find_kv(w, key);
    if (kv) {
        free(kv->val.p);
        kv->val = *val;
        return BN_OK;
    }
    if (w->n_kv == w->cap_kv) {
        size_t cap = w->cap_kv ? w->cap_kv * 2 : 16;
        gguf_wkv *p = realloc(w->kv, cap * sizeof *p);
        if (!p) {
            free(val->p);
            return bn_fail(BN_ERR_NOMEM, "out of memory");
        }
        w->kv = p;
        w->cap_kv = cap;
    }
    char *k = bn_strdup(key);
    if (!k) {
        free(val->p);
        return bn_fail(BN_ERR_NOMEM, "out of memory");
    }
    w->kv[w->n_kv++] = (gguf_wkv){k, *val};
    return BN_OK;
}

static bn_status check_key(const bn_gguf_writer *w, const char *key) {
    if (!w || !key)
        return bn_fail(BN_ERR_INVALID, "gguf writer: NULL writer or key");
    if (!*key || strlen(key) > 65535)
        return bn_fail(BN_ERR_INVALID, "gguf writer: key must be 1..65535 bytes");
    return BN_OK;
}

static bn_status set_scalar(bn_gguf_writer *w, const char *key, uint32_t type, const void *v) {
    bn_status st = check_key(w, key);
    if (st)
        return st;
    gguf_buf b = {0};
    gguf_buf_u32(&b, type);
    gguf_buf_put(&b, v, gguf_vtype_size(type));
    return set_encoded(w, key, &b);
}

#define SETTER(fn, T, vt)                                                             \
    bn_status bn_gguf_writer_set_##fn(bn_gguf_writer *w, const char *key, T v) {      \
        return set_scalar(w, key, vt, &v);                                            \
    }
SETTER(u8, uint8_t, BN_GGUF_U8)
SETTER(i8, int8_t, BN_GGUF_I8)
SETTER(u16, uint16_t, BN_GGUF_U16)
SETTER(i16, int16_t, BN_GGUF_I16)
SETTER(u32, uint32_t, BN_GGUF_U32)
SETTER(i32, int32_t, BN_GGUF_I32)
SETTER(u64, uint64_t, BN_GGUF_U64)
SETTER(i64, int64_t, BN_GGUF_I64)
SETTER(f32, float, BN_GGUF_F32)
SETTER(f64, double, BN_GGUF_F64)
#undef SETTER

bn_status bn_gguf_writer_set_bool(bn_gguf_writer *w, const char *key, int v) {
    uint8_t b = v != 0;
    return set_scalar(w, key, BN_GGUF_BOOL, &b);
}

bn_status bn_gguf_writer_set_strn(bn_gguf_writer *w, const char *key, const char *s, size_t len) {
    bn_status st = check_key(w, key);
    if (st)
        return st;
    if (!s && len)
        return bn_fail(BN_ERR_INVALID, "gguf writer: key '%s': NULL string", key);
    gguf_buf b = {0};
    gguf_buf_u32(&b, BN_GGUF_STR);
    gguf_buf_str(&b, s, len);
    return set_encoded(w, key, &b);
}

bn_status bn_gguf_writer_set_str(bn_gguf_writer *w, const char *key, const char *s) {
    if (!s)
        return bn_fail(BN_ERR_INVALID, "gguf writer: key '%s': NULL string", key ? key : "(null)");
    return bn_gguf_writer_set_strn(w, key, s, strlen(s));
}

bn_status bn_gguf_writer_set_array(bn_gguf_writer *w, const char *key, int elem_type, const void *data,
                                   uint64_t n) {
    bn_status st = check_key(w, key);
    if (st)
        return st;
    size_t es = elem_type >= 0 ? gguf_vtype_size((uint32_t)elem_type) : 0;
    if (!es)
        return bn_fail(BN_ERR_INVALID, "gguf writer: key '%s': element type %d is not a fixed-size type "
                       "(use the string-array setters)", key, elem_type);
    if (n && !data)
        return bn_fail(BN_ERR_INVALID, "gguf writer: key '%s': NULL array data", key);
    if (n > SIZE_MAX / 2 / es)
        return bn_fail(BN_ERR_INVALID, "gguf writer: key '%s': array too large", key);
    gguf_buf b = {0};
    gguf_buf_u32(&b, BN_GGUF_ARR);
    gguf_buf_u32(&b, (uint32_t)elem_type);
    gguf_buf_u64(&b, n);
    gguf_buf_put(&b, data, (size_t)n * es);
    return set_encoded(w, key, &b);
}

bn_status bn_gguf_writer_set_strn_array(bn_gguf_writer *w, const char *key, const bn_gguf_str *strs,
                                        uint64_t n) {
    bn_status st = check_key(w, key);
    if (st)
        return st;
    if (n && !strs)
        return bn_fail(BN_ERR_INVALID, "gguf writer: key '%s': NULL string array", key);
    gguf_buf b = {0};
    gguf_buf_u32(&b, BN_GGUF_ARR);
    gguf_buf_u32(&b, BN_GGUF_STR);
    gguf_buf_u64(&b, n);
    for (uint64_t i = 0; i < n; i++) {
        if (!strs[i].ptr && strs[i].len) {
            free(b.p);
            return bn_fail(BN_ERR_INVALID, "gguf writer: key '%s': element %" PRIu64 " is NULL", key, i);
        }
        gguf_buf_str(&b, strs[i].ptr, strs[i].len);
    }
    return set_encoded(w, key, &b);
}

bn_status bn_gguf_writer_set_str_array(bn_gguf_writer *w, const char *key, const char *const *strs,
                                       uint64_t n) {
    bn_status st = check_key(w, key);
    if (st)
        return st;
    if (n && !strs)
        return bn_fail(BN_ERR_INVALID, "gguf writer: key '%s': NULL string array", key);
    gguf_buf b = {0};
    gguf_buf_u32(&b, BN_GGUF_ARR);
    gguf_buf_u32(&b, BN_GGUF_STR);
    gguf_buf_u64(&b, n);
    for (uint64_t i = 0; i < n; i++) {
        if (!strs[i]) {
            free(b.p);
            return bn_fail(BN_ERR_INVALID, "gguf writer: key '%s': element %" PRIu64 " is NULL", key, i);
        }
        gguf_buf_str(&b, strs[i], strlen(strs[i]));
    }
    return set_encoded(w, key, &b);
}

/* Value body as it appears in the file (no leading type tag). */
static void encode_body(gguf_buf *b, const bn_gguf_value *v) {
    if (v->type == BN_GGUF_STR) {
        gguf_buf_str(b, v->str, v->len);
    } else if (v->type == BN_GGUF_ARR) {
        gguf_buf_u32(b, v->elem_type);
        gguf_buf_u64(b, v->len);
        for (uint64_t i = 0; i < v->len && !b->oom; i++) {
            if (v->elem_type == BN_GGUF_STR)
                gguf_buf_str(b, v->strs[i].ptr, v->strs[i].len);
            else if (v->elem_type == BN_GGUF_ARR)
                encode_body(b, &v->elems[i]);
        }
        if (v->elem_type != BN_GGUF_STR && v->elem_type != BN_GGUF_ARR)
            gguf_buf_put(b, v->raw, (size_t)v->len * gguf_vtype_size(v->elem_type));
    } else {
        uint8_t x[8];
        switch (v->type) {
        case BN_GGUF_U8: case BN_GGUF_BOOL: x[0] = (uint8_t)v->num.u; break;
        case BN_GGUF_I8: x[0] = (uint8_t)(int8_t)v->num.i; break;
        case BN_GGUF_U16: { uint16_t y = (uint16_t)v->num.u; memcpy(x, &y, 2); break; }
        case BN_GGUF_I16: { int16_t y = (int16_t)v->num.i; memcpy(x, &y, 2); break; }
        case BN_GGUF_U32: { uint32_t y = (uint32_t)v->num.u; memcpy(x, &y, 4); break; }
        case BN_GGUF_I32: { int32_t y = (int32_t)v->num.i; memcpy(x, &y, 4); break; }
        case BN_GGUF_F32: { float y = (float)v->num.f; memcpy(x, &y, 4); break; }
        default: memcpy(x, &v->num, 8); break; /* U64, I64, F64 */
        }
        gguf_buf_put(b, x, gguf_vtype_size(v->type));
    }
}

bn_status bn_gguf_writer_set_value(bn_gguf_writer *w, const char *key, const bn_gguf_value *v) {
    bn_status st = check_key(w, key);
    if (st)
        return st;
    if (!v)
        return bn_fail(BN_ERR_INVALID, "gguf writer: key '%s': NULL value", key);
    gguf_buf b = {0};
    gguf_buf_u32(&b, v->type);
    encode_body(&b, v);
    return set_encoded(w, key, &b);
}

/* ---- tensors ------------------------------------------------------------------ */

static bn_status add_tensor(bn_gguf_writer *w, const char *name, uint32_t type, int n_dims, const int64_t *ne,
                            uint64_t size, const void *data, bn_gguf_fill_fn fill, void *arg) {
    if (!w || !name || !ne)
        return bn_fail(BN_ERR_INVALID, "gguf writer: NULL argument to add_tensor");
    size_t nl = strlen(name);
    if (nl == 0 || nl > MAX_TENSOR_NAME)
        return bn_fail(BN_ERR_INVALID, "gguf writer: tensor name '%s' must be 1..%d bytes", name, MAX_TENSOR_NAME);
    if (n_dims < 1 || n_dims > BN_GGUF_MAX_DIMS)
        return bn_fail(BN_ERR_INVALID, "gguf writer: tensor '%s': n_dims %d out of range 1..%d", name, n_dims,
                       BN_GGUF_MAX_DIMS);
    for (size_t i = 0; i < w->n_t; i++)
        if (strcmp(w->t[i].name, name) == 0)
            return bn_fail(BN_ERR_INVALID, "gguf writer: duplicate tensor name '%s'", name);
    gguf_wtensor t = {.type = type, .n_dims = (uint32_t)n_dims, .size = size, .data = data, .fill = fill, .arg = arg};
    int64_t n = 1;
    for (int d = 0; d < BN_GGUF_MAX_DIMS; d++) {
        t.ne[d] = d < n_dims ? ne[d] : 1;
        if (t.ne[d] < 1 || t.ne[d] > INT64_MAX / n)
            return bn_fail(BN_ERR_INVALID, "gguf writer: tensor '%s': ne[%d] = %" PRId64 " invalid or overflows",
                           name, d, t.ne[d]);
        n *= t.ne[d];
    }
    if (size == 0)
        return bn_fail(BN_ERR_INVALID, "gguf writer: tensor '%s': size 0", name);
    const bn_ggml_type_desc *d = bn_ggml_type_lookup(type);
    if (d) {
        uint64_t want = gguf_fixed_size(d, t.ne, n);
        if (want != size)
            return bn_fail(BN_ERR_INVALID, "gguf writer: tensor '%s': %" PRIu64 " bytes given, %s shape needs %"
                           PRIu64 "%s", name, size, d->name, want, want ? "" : " (ne[0] not a multiple of the block)");
    }
    if (w->n_t == w->cap_t) {
        size_t cap = w->cap_t ? w->cap_t * 2 : 64;
        gguf_wtensor *p = realloc(w->t, cap * sizeof *p);
        if (!p)
            return bn_fail(BN_ERR_NOMEM, "out of memory");
        w->t = p;
        w->cap_t = cap;
    }
    if (!(t.name = bn_strdup(name)))
        return bn_fail(BN_ERR_NOMEM, "out of memory");
    w->t[w->n_t++] = t;
    return BN_OK;
}

bn_status bn_gguf_writer_add_tensor(bn_gguf_writer *w, const char *name, uint32_t ggml_type, int n_dims,
                                    const int64_t *ne, const void *data, uint64_t size) {
    if (!data)
        return bn_fail(BN_ERR_INVALID, "gguf writer: tensor '%s': NULL data", name ? name : "(null)");
    return add_tensor(w, name, ggml_type, n_dims, ne, size, data, NULL, NULL);
}

bn_status bn_gguf_writer_add_tensor_fill(bn_gguf_writer *w, const char *name, uint32_t ggml_type, int n_dims,
                                         const int64_t *ne, uint64_t size, bn_gguf_fill_fn fill, void *arg) {
    if (!fill)
        return bn_fail(BN_ERR_INVALID, "gguf writer: tensor '%s': NULL fill callback", name ? name : "(null)");
    return add_tensor(w, name, ggml_type, n_dims, ne, size, NULL, fill, arg);
}
