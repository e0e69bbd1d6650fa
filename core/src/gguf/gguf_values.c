/* Typed access to GGUF metadata values, with type and range checks. */
#include <inttypes.h>
#include <string.h>

#include "gguf_internal.h"

int bn_gguf_value_type(const bn_gguf_value *v) { return v ? (int)v->type : -1; }
const char *bn_gguf_value_key(const bn_gguf_value *v) { return v ? v->key : NULL; }

static int is_signed(uint32_t t) { return t == BN_GGUF_I8 || t == BN_GGUF_I16 || t == BN_GGUF_I32 || t == BN_GGUF_I64; }
static int is_unsigned(uint32_t t) { return t == BN_GGUF_U8 || t == BN_GGUF_U16 || t == BN_GGUF_U32 || t == BN_GGUF_U64; }

static bn_status mismatch(const bn_gguf_value *v, const char *want) {
    if (!v)
        return bn_fail(BN_ERR_INVALID, "no value (NULL)");
    return bn_fail(BN_ERR_FORMAT, "key '%s': expected %s, found %s", v->key, want, bn_gguf_vtype_name((int)v->type));
}

/* Integer value within [lo, hi] (signed view) or [0, uhi] (unsigned view). */
static bn_status get_int(const bn_gguf_value *v, int64_t lo, uint64_t hi, const char *dst, uint64_t *u, int64_t *s) {
    if (!v || !(is_signed(v->type) || is_unsigned(v->type)))
        return mismatch(v, "an integer");
    if (is_signed(v->type)) {
        if (v->num.i < lo || (v->num.i >= 0 && (uint64_t)v->num.i > hi))
            return bn_fail(BN_ERR_FORMAT, "key '%s': value %" PRId64 " out of range for %s", v->key, v->num.i, dst);
        *s = v->num.i;
        *u = (uint64_t)v->num.i;
    } else {
        if (v->num.u > hi)
            return bn_fail(BN_ERR_FORMAT, "key '%s': value %" PRIu64 " out of range for %s", v->key, v->num.u, dst);
        *u = v->num.u;
        *s = (int64_t)v->num.u;
    }
    return BN_OK;
}

bn_status bn_gguf_value_u32(const bn_gguf_value *v, uint32_t *out) {
    uint64_t u = 0; int64_t s = 0;
    bn_status st = get_int(v, 0, UINT32_MAX, "uint32", &u, &s);
    if (!st) *out = (uint32_t)u;
    return st;
}

bn_status bn_gguf_value_i32(const bn_gguf_value *v, int32_t *out) {
    uint64_t u = 0; int64_t s = 0;
    bn_status st = get_int(v, INT32_MIN, INT32_MAX, "int32", &u, &s);
    if (!st) *out = (int32_t)s;
    return st;
}

bn_status bn_gguf_value_u64(const bn_gguf_value *v, uint64_t *out) {
    uint64_t u = 0; int64_t s = 0;
    bn_status st = get_int(v, 0, UINT64_MAX, "uint64", &u, &s);
    if (!st) *out = u;
    return st;
}

bn_status bn_gguf_value_i64(const bn_gguf_value *v, int64_t *out) {
    uint64_t u = 0; int64_t s = 0;
    bn_status st = get_int(v, INT64_MIN, INT64_MAX, "int64", &u, &s);
    if (!st) *out = s;
    return st;
}

bn_status bn_gguf_value_f64(const bn_gguf_value *v, double *out) {
    if (!v || (v->type != BN_GGUF_F32 && v->type != BN_GGUF_F64))
        return mismatch(v, "a float");
    *out = v->num.f;
    return BN_OK;
}

bn_status bn_gguf_value_f32(const bn_gguf_value *v, float *out) {
    double d = 0;
    bn_status st = bn_gguf_value_f64(v, &d);
    if (!st)
        *out = (float)d;
    return st;
}

bn_status bn_gguf_value_bool(const bn_gguf_value *v, int *out) {
    if (!v || v->type != BN_GGUF_BOOL)
        return mismatch(v, "bool");
    *out = v->num.u != 0;
    return BN_OK;
}

bn_status bn_gguf_value_str(const bn_gguf_value *v, const char **s, size_t *len) {
    if (!v || v->type != BN_GGUF_STR)
        return mismatch(v, "string");
    *s = v->str;
    if (len)
        *len = (size_t)v->len;
    return BN_OK;
}

/* ---- by key ---------------------------------------------------------------- */

static bn_status lookup(const bn_gguf *g, const char *key, const bn_gguf_value **v) {
    *v = key ? bn_gguf_find(g, key) : NULL;
    return *v ? BN_OK : bn_fail(BN_ERR_NOT_FOUND, "key '%s' not found", key ? key : "(null)");
}

#define BY_KEY(fn, T)                                                          \
    bn_status bn_gguf_get_##fn(const bn_gguf *g, const char *key, T *out) {    \
        const bn_gguf_value *v;                                                \
        bn_status st = lookup(g, key, &v);                                     \
        return st ? st : bn_gguf_value_##fn(v, out);                           \
    }
BY_KEY(u32, uint32_t)
BY_KEY(i32, int32_t)
BY_KEY(u64, uint64_t)
BY_KEY(i64, int64_t)
BY_KEY(f32, float)
BY_KEY(f64, double)
BY_KEY(bool, int)
#undef BY_KEY

bn_status bn_gguf_get_str(const bn_gguf *g, const char *key, const char **s, size_t *len) {
    const bn_gguf_value *v;
    bn_status st = lookup(g, key, &v);
    return st ? st : bn_gguf_value_str(v, s, len);
}

/* ---- arrays ------------------------------------------------------------------ */

bn_status bn_gguf_get_array(const bn_gguf *g, const char *key, int elem_type, const bn_gguf_value **arr,
                            uint64_t *n) {
    const bn_gguf_value *v;
    bn_status st = lookup(g, key, &v);
    if (st)
        return st;
    if (v->type != BN_GGUF_ARR)
        return mismatch(v, "array");
    if (elem_type >= 0 && (uint32_t)elem_type != v->elem_type)
        return bn_fail(BN_ERR_FORMAT, "key '%s': expected an array of %s, found an array of %s", key,
                       bn_gguf_vtype_name(elem_type), bn_gguf_vtype_name((int)v->elem_type));
    if (arr)
        *arr = v;
    if (n)
        *n = v->len;
    return BN_OK;
}

int bn_gguf_array_type(const bn_gguf_value *arr) {
    return arr && arr->type == BN_GGUF_ARR ? (int)arr->elem_type : -1;
}

uint64_t bn_gguf_array_len(const bn_gguf_value *arr) {
    return arr && arr->type == BN_GGUF_ARR ? arr->len : 0;
}

static bn_status check_index(const bn_gguf_value *arr, uint64_t i) {
    if (!arr || arr->type != BN_GGUF_ARR)
        return mismatch(arr, "array");
    if (i >= arr->len)
        return bn_fail(BN_ERR_INVALID, "key '%s': index %" PRIu64 " out of range (array of %" PRIu64 ")",
                       arr->key, i, arr->len);
    return BN_OK;
}

/* Element i of a fixed-size array as a scalar value (unaligned-safe). */
static bn_status load(const bn_gguf_value *arr, uint64_t i, bn_gguf_value *e) {
    bn_status st = check_index(arr, i);
    if (st)
        return st;
    memset(e, 0, sizeof *e);
    e->key = arr->key;
    e->type = arr->elem_type;
    size_t sz = gguf_vtype_size(arr->elem_type);
    if (!sz)
        return bn_fail(BN_ERR_FORMAT, "key '%s': array elements are %s, not scalars", arr->key,
                       bn_gguf_vtype_name((int)arr->elem_type));
    const uint8_t *p = arr->raw + i * sz;
    switch (arr->elem_type) {
    case BN_GGUF_U8: case BN_GGUF_BOOL: e->num.u = p[0]; break;
    case BN_GGUF_I8: e->num.i = (int8_t)p[0]; break;
    case BN_GGUF_U16: { uint16_t x; memcpy(&x, p, 2); e->num.u = x; break; }
    case BN_GGUF_I16: { int16_t x; memcpy(&x, p, 2); e->num.i = x; break; }
    case BN_GGUF_U32: { uint32_t x; memcpy(&x, p, 4); e->num.u = x; break; }
    case BN_GGUF_I32: { int32_t x; memcpy(&x, p, 4); e->num.i = x; break; }
    case BN_GGUF_F32: { float x; memcpy(&x, p, 4); e->num.f = x; break; }
    case BN_GGUF_U64: memcpy(&e->num.u, p, 8); break;
    case BN_GGUF_I64: memcpy(&e->num.i, p, 8); break;
    case BN_GGUF_F64: memcpy(&e->num.f, p, 8); break;
    }
    return BN_OK;
}

bn_status bn_gguf_array_str(const bn_gguf_value *arr, uint64_t i, bn_gguf_str *out) {
    bn_status st = check_index(arr, i);
    if (st)
        return st;
    if (arr->elem_type != BN_GGUF_STR)
        return bn_fail(BN_ERR_FORMAT, "key '%s': expected an array of string, found an array of %s", arr->key,
                       bn_gguf_vtype_name((int)arr->elem_type));
    *out = arr->strs[i];
    return BN_OK;
}

bn_status bn_gguf_array_elem(const bn_gguf_value *arr, uint64_t i, const bn_gguf_value **out) {
    bn_status st = check_index(arr, i);
    if (st)
        return st;
    if (arr->elem_type != BN_GGUF_ARR)
        return bn_fail(BN_ERR_FORMAT, "key '%s': expected an array of array, found an array of %s", arr->key,
                       bn_gguf_vtype_name((int)arr->elem_type));
    *out = &arr->elems[i];
    return BN_OK;
}

#define ELEM(fn, T, conv)                                                             \
    bn_status bn_gguf_array_##fn(const bn_gguf_value *arr, uint64_t i, T *out) {      \
        bn_gguf_value e;                                                              \
        bn_status st = load(arr, i, &e);                                              \
        return st ? st : bn_gguf_value_##conv(&e, out);                               \
    }
ELEM(i64, int64_t, i64)
ELEM(u64, uint64_t, u64)
ELEM(f64, double, f64)
ELEM(bool, int, bool)
#undef ELEM

static bn_status check_copy(const bn_gguf_value *arr, uint64_t n) {
    if (!arr || arr->type != BN_GGUF_ARR)
        return mismatch(arr, "array");
    if (n != arr->len)
        return bn_fail(BN_ERR_INVALID, "key '%s': array has %" PRIu64 " elements, caller expects %" PRIu64,
                       arr->key, arr->len, n);
    return BN_OK;
}

bn_status bn_gguf_array_copy_i32(const bn_gguf_value *arr, int32_t *dst, uint64_t n) {
    bn_status st = check_copy(arr, n);
    if (!st && n && !is_signed(arr->elem_type) && !is_unsigned(arr->elem_type))
        return bn_fail(BN_ERR_FORMAT, "key '%s': expected an array of integers, found an array of %s", arr->key,
                       bn_gguf_vtype_name((int)arr->elem_type));
    for (uint64_t i = 0; !st && i < n; i++) {
        bn_gguf_value e;
        if (!(st = load(arr, i, &e)))
            st = bn_gguf_value_i32(&e, &dst[i]);
    }
    return st;
}

bn_status bn_gguf_array_copy_f32(const bn_gguf_value *arr, float *dst, uint64_t n) {
    bn_status st = check_copy(arr, n);
    if (st)
        return st;
    if (arr->elem_type == BN_GGUF_F32) {
        if (n)
            memcpy(dst, arr->raw, (size_t)n * sizeof(float));
        return BN_OK;
    }
    for (uint64_t i = 0; !st && i < n; i++) {
        bn_gguf_value e;
        if (!(st = load(arr, i, &e)))
            st = bn_gguf_value_f32(&e, &dst[i]);
    }
    return st;
}
