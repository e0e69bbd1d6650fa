/* GGUF header and metadata parsing. Every read is bounds-checked against
 * the file size; counts are checked against the bytes left before anything
 * is allocated for them, so a hostile file cannot make us allocate more
 * than a small multiple of its own size. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "gguf_internal.h"

#define GGUF_MAX_KEY_LEN 65535u
#define GGUF_MAX_DEPTH 8 /* nested arrays; real files use 1 level */
#define GGUF_MIN_KV_BYTES 14 /* key len 8 + 1 char + type 4 + 1 byte value */

typedef struct cursor {
    const uint8_t *base;
    uint64_t size, pos;
} cursor;

static uint64_t left(const cursor *c) { return c->size - c->pos; }

static bn_status need(const cursor *c, uint64_t n, const char *what) {
    if (n > left(c))
        return bn_fail(BN_ERR_FORMAT, "truncated file: %s at offset %" PRIu64 " needs %" PRIu64
                       " bytes, only %" PRIu64 " left (file size %" PRIu64 ")",
                       what, c->pos, n, left(c), c->size);
    return BN_OK;
}

static bn_status rd(cursor *c, void *dst, uint64_t n, const char *what) {
    bn_status st = need(c, n, what);
    if (st)
        return st;
    memcpy(dst, c->base + c->pos, (size_t)n);
    c->pos += n;
    return BN_OK;
}

static bn_status rd_u32(cursor *c, uint32_t *v, const char *what) { return rd(c, v, 4, what); }
static bn_status rd_u64(cursor *c, uint64_t *v, const char *what) { return rd(c, v, 8, what); }

/* A string: uint64 length + bytes. Returns a pointer into the file. */
static bn_status rd_str(cursor *c, bn_gguf_str *s, const char *what) {
    bn_status st = rd_u64(c, &s->len, what);
    if (st)
        return st;
    if (s->len > left(c))
        return bn_fail(BN_ERR_FORMAT, "%s at offset %" PRIu64 ": string length %" PRIu64
                       " runs past end of file (size %" PRIu64 ")", what, c->pos - 8, s->len, c->size);
    s->ptr = (const char *)c->base + c->pos;
    c->pos += s->len;
    return BN_OK;
}

/* Keys and tensor names: non-empty, no NUL (so a C string names them exactly). */
bn_status gguf_check_name(const bn_gguf_str *s, const char *what, uint64_t i) {
    if (s->len == 0)
        return bn_fail(BN_ERR_FORMAT, "%s %" PRIu64 " has an empty name", what, i);
    if (s->len > GGUF_MAX_KEY_LEN)
        return bn_fail(BN_ERR_FORMAT, "%s %" PRIu64 ": name length %" PRIu64 " exceeds %u", what, i,
                       s->len, GGUF_MAX_KEY_LEN);
    if (memchr(s->ptr, 0, (size_t)s->len))
        return bn_fail(BN_ERR_FORMAT, "%s %" PRIu64 ": name contains a NUL byte", what, i);
    return BN_OK;
}

static bn_status parse_value(bn_gguf *g, cursor *c, bn_gguf_value *v, uint32_t type, int depth);

static bn_status parse_scalar(cursor *c, bn_gguf_value *v, uint32_t type) {
    const char *k = v->key;
    uint8_t b[8] = {0};
    size_t n = gguf_vtype_size(type);
    char what[96];
    snprintf(what, sizeof what, "value of key '%.60s'", k);
    bn_status st = rd(c, b, n, what);
    if (st)
        return st;
    switch (type) {
    case BN_GGUF_U8: case BN_GGUF_BOOL: v->num.u = b[0]; break;
    case BN_GGUF_I8: v->num.i = (int8_t)b[0]; break;
    case BN_GGUF_U16: { uint16_t x; memcpy(&x, b, 2); v->num.u = x; break; }
    case BN_GGUF_I16: { int16_t x; memcpy(&x, b, 2); v->num.i = x; break; }
    case BN_GGUF_U32: { uint32_t x; memcpy(&x, b, 4); v->num.u = x; break; }
    case BN_GGUF_I32: { int32_t x; memcpy(&x, b, 4); v->num.i = x; break; }
    case BN_GGUF_F32: { float x; memcpy(&x, b, 4); v->num.f = x; break; }
    case BN_GGUF_U64: memcpy(&v->num.u, b, 8); break;
    case BN_GGUF_I64: memcpy(&v->num.i, b, 8); break;
    case BN_GGUF_F64: memcpy(&v->num.f, b, 8); break;
    }
    return BN_OK;
}

static bn_status parse_array(bn_gguf *g, cursor *c, bn_gguf_value *v, int depth) {
    const char *k = v->key;
    if (depth >= GGUF_MAX_DEPTH)
        return bn_fail(BN_ERR_FORMAT, "key '%s': arrays nested deeper than %d levels", k, GGUF_MAX_DEPTH);
    uint32_t et = 0;
    uint64_t n = 0;
    bn_status st = rd_u32(c, &et, "array element type");
    if (!st)
        st = rd_u64(c, &n, "array length");
    if (st)
        return st;
    if (et >= BN_GGUF_VTYPE_COUNT)
        return bn_fail(BN_ERR_FORMAT, "key '%s': unknown array element type %" PRIu32, k, et);
    v->elem_type = et;
    v->len = n;
    /* Smallest encoding of one element: fixed size, 8 (string length),
     * 12 (nested array header). Refuse counts the file cannot hold. */
    uint64_t min = et == BN_GGUF_STR ? 8 : et == BN_GGUF_ARR ? 12 : gguf_vtype_size(et);
    if (n > left(c) / min)
        return bn_fail(BN_ERR_FORMAT, "key '%s': array of %" PRIu64 " %s elements at offset %" PRIu64
                       " cannot fit in the %" PRIu64 " bytes left", k, n, bn_gguf_vtype_name((int)et),
                       c->pos, left(c));
    if (et == BN_GGUF_STR) {
        v->strs = gguf_arena_alloc(&g->arena, (size_t)n * sizeof(bn_gguf_str));
        if (!v->strs && n)
            return bn_fail(BN_ERR_NOMEM, "key '%s': out of memory for %" PRIu64 " strings", k, n);
        for (uint64_t i = 0; i < n; i++)
            if ((st = rd_str(c, &v->strs[i], "array string")))
                return st;
    } else if (et == BN_GGUF_ARR) {
        v->elems = gguf_arena_alloc(&g->arena, (size_t)n * sizeof(bn_gguf_value));
        if (!v->elems && n)
            return bn_fail(BN_ERR_NOMEM, "key '%s': out of memory for %" PRIu64 " arrays", k, n);
        for (uint64_t i = 0; i < n; i++) {
            v->elems[i].key = k;
            if ((st = parse_value(g, c, &v->elems[i], BN_GGUF_ARR, depth + 1)))
                return st;
        }
    } else {
        v->raw = c->base + c->pos;
        c->pos += n * min;
    }
    return BN_OK;
}

static bn_status parse_value(bn_gguf *g, cursor *c, bn_gguf_value *v, uint32_t type, int depth) {
    v->type = type;
    if (type == BN_GGUF_ARR)
        return parse_array(g, c, v, depth);
    if (type == BN_GGUF_STR) {
        bn_gguf_str s = {0};
        bn_status st = rd_str(c, &s, "string value");
        if (st)
            return st;
        v->len = s.len;
        v->str = gguf_arena_strndup(&g->arena, s.ptr, (size_t)s.len);
        if (!v->str)
            return bn_fail(BN_ERR_NOMEM, "key '%s': out of memory for a string", v->key);
        return BN_OK;
    }
    if (type >= BN_GGUF_VTYPE_COUNT)
        return bn_fail(BN_ERR_FORMAT, "key '%s': unknown value type %" PRIu32, v->key, type);
    return parse_scalar(c, v, type);
}

static bn_status parse_header(bn_gguf *g, cursor *c, uint64_t *n_tensors, uint64_t *n_kv) {
    if (g->size < 4 || memcmp(g->base, BN_GGUF_MAGIC, 4) != 0)
        return bn_fail(BN_ERR_FORMAT, "not a GGUF file (bad magic; file size %" PRIu64 ")", g->size);
    c->pos = 4;
    uint32_t version = 0;
    bn_status st = rd_u32(c, &version, "version");
    if (st)
        return st;
    if (version == 1)
        return bn_fail(BN_ERR_UNSUPPORTED, "GGUF version 1 is not supported (32-bit counts); "
                       "re-convert the model with a current tool");
    if (version == 0 || (version & 0xffff) == 0)
        return bn_fail(BN_ERR_UNSUPPORTED, "GGUF version %" PRIu32 " not supported "
                       "(big-endian files are not supported)", version);
    if (version > 3)
        return bn_fail(BN_ERR_UNSUPPORTED, "GGUF version %" PRIu32 " is newer than this reader (2, 3)",
                       version);
    g->version = version;
    if ((st = rd_u64(c, n_tensors, "tensor count")) || (st = rd_u64(c, n_kv, "metadata count")))
        return st;
    /* Each tensor info needs >= 33 bytes (name 8+1, n_dims 4, ne 8, type 4, offset 8). */
    if (*n_tensors > left(c) / 33)
        return bn_fail(BN_ERR_FORMAT, "tensor count %" PRIu64 " cannot fit in a file of %" PRIu64 " bytes",
                       *n_tensors, g->size);
    if (*n_kv > left(c) / GGUF_MIN_KV_BYTES)
        return bn_fail(BN_ERR_FORMAT, "metadata count %" PRIu64 " cannot fit in a file of %" PRIu64 " bytes",
                       *n_kv, g->size);
    return BN_OK;
}

static bn_status parse_kvs(bn_gguf *g, cursor *c) {
    g->keys = gguf_arena_alloc(&g->arena, (size_t)g->n_kv * sizeof(char *) + 1);
    g->values = gguf_arena_alloc(&g->arena, (size_t)g->n_kv * sizeof(bn_gguf_value) + 1);
    if (!g->keys || !g->values)
        return bn_fail(BN_ERR_NOMEM, "out of memory for %" PRIu64 " metadata entries", g->n_kv);
    for (uint64_t i = 0; i < g->n_kv; i++) {
        bn_gguf_str k = {0};
        uint32_t type = 0;
        bn_status st = rd_str(c, &k, "metadata key");
        if (!st)
            st = gguf_check_name(&k, "metadata key", i);
        if (st)
            return st;
        if (!(g->keys[i] = gguf_arena_strndup(&g->arena, k.ptr, (size_t)k.len)))
            return bn_fail(BN_ERR_NOMEM, "out of memory for metadata keys");
        g->values[i].key = g->keys[i];
        if ((st = rd_u32(c, &type, "value type")))
            return st;
        if ((st = parse_value(g, c, &g->values[i], type, 0)))
            return st;
    }
    return gguf_index_build(&g->arena, &g->kv_index, g->keys, sizeof(char *), g->n_kv, "metadata key");
}

static bn_status read_alignment(bn_gguf *g) {
    g->alignment = BN_GGUF_DEFAULT_ALIGNMENT;
    const bn_gguf_value *v = bn_gguf_find(g, "general.alignment");
    if (!v)
        return BN_OK;
    uint32_t a = 0;
    bn_status st = bn_gguf_value_u32(v, &a);
    if (st)
        return st;
    if (a == 0 || (a & (a - 1)) || a > (1u << 30))
        return bn_fail(BN_ERR_FORMAT, "general.alignment %" PRIu32 " is not a power of two in [1, 2^30]", a);
    g->alignment = a;
    return BN_OK;
}

bn_status gguf_parse(bn_gguf *g) {
    cursor c = {g->base, g->size, 0};
    uint64_t n_tensors = 0, n_kv = 0;
    bn_status st = parse_header(g, &c, &n_tensors, &n_kv);
    if (st)
        return st;
    g->n_kv = n_kv;
    if ((st = parse_kvs(g, &c)) || (st = read_alignment(g)))
        return st;
    if (n_tensors > left(&c) / 33)
        return bn_fail(BN_ERR_FORMAT, "tensor count %" PRIu64 " cannot fit in the %" PRIu64
                       " bytes after the metadata", n_tensors, left(&c));
    g->n_tensors = n_tensors;
    uint64_t pos = c.pos;
    if ((st = gguf_parse_tensors(g, &pos)))
        return st;
    return gguf_layout_tensors(g);
}

/* Tensor-table reads share the cursor helpers through these wrappers. */
bn_status gguf_read_u32(const bn_gguf *g, uint64_t *pos, uint32_t *v, const char *what) {
    cursor c = {g->base, g->size, *pos};
    bn_status st = rd_u32(&c, v, what);
    *pos = c.pos;
    return st;
}

bn_status gguf_read_u64(const bn_gguf *g, uint64_t *pos, uint64_t *v, const char *what) {
    cursor c = {g->base, g->size, *pos};
    bn_status st = rd_u64(&c, v, what);
    *pos = c.pos;
    return st;
}

bn_status gguf_read_str(const bn_gguf *g, uint64_t *pos, bn_gguf_str *s, const char *what) {
    cursor c = {g->base, g->size, *pos};
    bn_status st = rd_str(&c, s, what);
    *pos = c.pos;
    return st;
}
