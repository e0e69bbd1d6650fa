/* GGUF writer -> reader round trips, v2/v3 headers, nested arrays, writer
 * errors and atomic replacement, and the real tokenizer fixtures. */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bitnet/gguf.h"
#include "gguf_test_util.h"

static bn_gguf *open_ok(const char *path) {
    bn_gguf *g = NULL;
    bn_status st = bn_gguf_open(path, &g);
    ck_assert_msg(st == BN_OK, "open %s: %s", path, bn_last_error());
    return g;
}

static bn_status write_to(bn_gguf_writer *w, const char *name, char *path, size_t len) {
    tmp_path(path, len, name);
    return bn_gguf_writer_write(w, path);
}

/* ---- metadata of every type ------------------------------------------------------ */

START_TEST(rw_metadata_all_types) {
    bn_gguf_writer *w;
    ck_assert_int_eq(bn_gguf_writer_create(&w), BN_OK);
    ck_assert_int_eq(bn_gguf_writer_set_u8(w, "t.u8", 200), BN_OK);
    ck_assert_int_eq(bn_gguf_writer_set_i8(w, "t.i8", -5), BN_OK);
    ck_assert_int_eq(bn_gguf_writer_set_u16(w, "t.u16", 60000), BN_OK);
    ck_assert_int_eq(bn_gguf_writer_set_i16(w, "t.i16", -30000), BN_OK);
    ck_assert_int_eq(bn_gguf_writer_set_u32(w, "t.u32", 4000000000u), BN_OK);
    ck_assert_int_eq(bn_gguf_writer_set_i32(w, "t.i32", -2000000000), BN_OK);
    ck_assert_int_eq(bn_gguf_writer_set_f32(w, "t.f32", 1.5f), BN_OK);
    ck_assert_int_eq(bn_gguf_writer_set_bool(w, "t.bool", 1), BN_OK);
    ck_assert_int_eq(bn_gguf_writer_set_str(w, "t.str", "h\xc3\xa9llo"), BN_OK);
    ck_assert_int_eq(bn_gguf_writer_set_u64(w, "t.u64", 1ull << 60), BN_OK);
    ck_assert_int_eq(bn_gguf_writer_set_i64(w, "t.i64", -(1ll << 60)), BN_OK);
    ck_assert_int_eq(bn_gguf_writer_set_f64(w, "t.f64", -2.25), BN_OK);
    ck_assert_int_eq(bn_gguf_writer_set_strn(w, "t.strn", "a\0b", 3), BN_OK);
    uint8_t au8[] = {1, 2, 255};
    int8_t ai8[] = {-128, 0, 127};
    uint16_t au16[] = {65535, 7};
    int16_t ai16[] = {-32768, 32767};
    uint32_t au32[] = {0, 4294967295u};
    int32_t ai32[] = {-1, 2, -3, 4};
    float af32[] = {0.25f, -1e30f};
    uint8_t abool[] = {1, 0, 1};
    uint64_t au64[] = {18446744073709551615ull};
    int64_t ai64[] = {-9223372036854775807ll - 1, 5};
    double af64[] = {3.5, -0.125};
    ck_assert_int_eq(bn_gguf_writer_set_array(w, "a.u8", BN_GGUF_U8, au8, 3), BN_OK);
    ck_assert_int_eq(bn_gguf_writer_set_array(w, "a.i8", BN_GGUF_I8, ai8, 3), BN_OK);
    ck_assert_int_eq(bn_gguf_writer_set_array(w, "a.u16", BN_GGUF_U16, au16, 2), BN_OK);
    ck_assert_int_eq(bn_gguf_writer_set_array(w, "a.i16", BN_GGUF_I16, ai16, 2), BN_OK);
    ck_assert_int_eq(bn_gguf_writer_set_array(w, "a.u32", BN_GGUF_U32, au32, 2), BN_OK);
    ck_assert_int_eq(bn_gguf_writer_set_array(w, "a.i32", BN_GGUF_I32, ai32, 4), BN_OK);
    ck_assert_int_eq(bn_gguf_writer_set_array(w, "a.f32", BN_GGUF_F32, af32, 2), BN_OK);
    ck_assert_int_eq(bn_gguf_writer_set_array(w, "a.bool", BN_GGUF_BOOL, abool, 3), BN_OK);
    ck_assert_int_eq(bn_gguf_writer_set_array(w, "a.u64", BN_GGUF_U64, au64, 1), BN_OK);
    ck_assert_int_eq(bn_gguf_writer_set_array(w, "a.i64", BN_GGUF_I64, ai64, 2), BN_OK);
    ck_assert_int_eq(bn_gguf_writer_set_array(w, "a.f64", BN_GGUF_F64, af64, 2), BN_OK);
    ck_assert_int_eq(bn_gguf_writer_set_array(w, "a.empty", BN_GGUF_I32, NULL, 0), BN_OK);
    const char *strs[] = {"<unk>", "", "\xe2\x96\x81the"};
    ck_assert_int_eq(bn_gguf_writer_set_str_array(w, "a.str", strs, 3), BN_OK);
    ck_assert_int_eq(bn_gguf_writer_set_array(w, "a.bad", BN_GGUF_STR, strs, 3), BN_ERR_INVALID);
    char path[1024];
    ck_assert_msg(write_to(w, "meta.gguf", path, sizeof path) == BN_OK, "%s", bn_last_error());
    bn_gguf_writer_free(w);

    bn_gguf *g = open_ok(path);
    ck_assert_uint_eq(bn_gguf_version(g), 3);
    ck_assert_uint_eq(bn_gguf_tensor_count(g), 0);
    ck_assert_uint_eq(bn_gguf_kv_count(g), 26);
    ck_assert_str_eq(bn_gguf_kv_key(g, 0), "t.u8");
    ck_assert_str_eq(bn_gguf_kv_key(g, 25), "a.str");
    ck_assert_ptr_null(bn_gguf_kv_key(g, 26));
    ck_assert_int_eq(bn_gguf_value_type(bn_gguf_find(g, "t.f64")), BN_GGUF_F64);
    ck_assert_int_eq(bn_gguf_value_type(bn_gguf_find(g, "t.i16")), BN_GGUF_I16);

    uint32_t u32; int32_t i32; uint64_t u64; int64_t i64; float f32; double f64; int b;
    ck_assert_int_eq(bn_gguf_get_u32(g, "t.u8", &u32), BN_OK); ck_assert_uint_eq(u32, 200);
    ck_assert_int_eq(bn_gguf_get_i32(g, "t.i8", &i32), BN_OK); ck_assert_int_eq(i32, -5);
    ck_assert_int_eq(bn_gguf_get_u32(g, "t.u16", &u32), BN_OK); ck_assert_uint_eq(u32, 60000);
    ck_assert_int_eq(bn_gguf_get_i32(g, "t.i16", &i32), BN_OK); ck_assert_int_eq(i32, -30000);
    ck_assert_int_eq(bn_gguf_get_u32(g, "t.u32", &u32), BN_OK); ck_assert_uint_eq(u32, 4000000000u);
    ck_assert_int_eq(bn_gguf_get_i32(g, "t.i32", &i32), BN_OK); ck_assert_int_eq(i32, -2000000000);
    ck_assert_int_eq(bn_gguf_get_f32(g, "t.f32", &f32), BN_OK); ck_assert(f32 == 1.5f);
    ck_assert_int_eq(bn_gguf_get_bool(g, "t.bool", &b), BN_OK); ck_assert_int_eq(b, 1);
    ck_assert_int_eq(bn_gguf_get_u64(g, "t.u64", &u64), BN_OK); ck_assert(u64 == 1ull << 60);
    ck_assert_int_eq(bn_gguf_get_i64(g, "t.i64", &i64), BN_OK); ck_assert(i64 == -(1ll << 60));
    ck_assert_int_eq(bn_gguf_get_f64(g, "t.f64", &f64), BN_OK); ck_assert(f64 == -2.25);
    const char *s; size_t sl;
    ck_assert_int_eq(bn_gguf_get_str(g, "t.str", &s, &sl), BN_OK);
    ck_assert_str_eq(s, "h\xc3\xa9llo"); ck_assert_uint_eq(sl, 6);
    ck_assert_int_eq(bn_gguf_get_str(g, "t.strn", &s, &sl), BN_OK);
    ck_assert_uint_eq(sl, 3); ck_assert(memcmp(s, "a\0b", 4) == 0);

    /* type and range checks, with the key in the message */
    ck_assert_int_eq(bn_gguf_get_u32(g, "t.str", &u32), BN_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(bn_last_error(), "t.str"));
    ck_assert_ptr_nonnull(strstr(bn_last_error(), "string"));
    ck_assert_int_eq(bn_gguf_get_u32(g, "t.i8", &u32), BN_ERR_FORMAT); /* negative */
    ck_assert_int_eq(bn_gguf_get_i32(g, "t.u32", &i32), BN_ERR_FORMAT); /* > INT32_MAX */
    ck_assert_int_eq(bn_gguf_get_u32(g, "t.u64", &u32), BN_ERR_FORMAT);
    ck_assert_int_eq(bn_gguf_get_f32(g, "t.u32", &f32), BN_ERR_FORMAT);
    ck_assert_int_eq(bn_gguf_get_bool(g, "t.u8", &b), BN_ERR_FORMAT);
    ck_assert_int_eq(bn_gguf_get_str(g, "t.u8", &s, NULL), BN_ERR_FORMAT);
    ck_assert_int_eq(bn_gguf_get_u32(g, "no.such.key", &u32), BN_ERR_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(bn_last_error(), "no.such.key"));
    ck_assert_ptr_null(bn_gguf_find(g, "no.such.key"));

    const bn_gguf_value *a; uint64_t n;
    ck_assert_int_eq(bn_gguf_get_array(g, "a.u8", BN_GGUF_U8, &a, &n), BN_OK);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(bn_gguf_array_u64(a, 2, &u64), BN_OK); ck_assert_uint_eq(u64, 255);
    ck_assert_int_eq(bn_gguf_array_u64(a, 3, &u64), BN_ERR_INVALID); /* out of range */
    ck_assert_int_eq(bn_gguf_get_array(g, "a.u8", BN_GGUF_I32, &a, &n), BN_ERR_FORMAT);
    ck_assert_int_eq(bn_gguf_get_array(g, "t.u8", -1, &a, &n), BN_ERR_FORMAT);
    ck_assert_int_eq(bn_gguf_get_array(g, "a.i8", BN_GGUF_I8, &a, &n), BN_OK);
    ck_assert_int_eq(bn_gguf_array_i64(a, 0, &i64), BN_OK); ck_assert_int_eq(i64, -128);
    ck_assert_int_eq(bn_gguf_get_array(g, "a.u16", BN_GGUF_U16, &a, &n), BN_OK);
    ck_assert_int_eq(bn_gguf_array_u64(a, 0, &u64), BN_OK); ck_assert_uint_eq(u64, 65535);
    ck_assert_int_eq(bn_gguf_get_array(g, "a.i16", BN_GGUF_I16, &a, &n), BN_OK);
    ck_assert_int_eq(bn_gguf_array_i64(a, 0, &i64), BN_OK); ck_assert_int_eq(i64, -32768);
    ck_assert_int_eq(bn_gguf_get_array(g, "a.u32", BN_GGUF_U32, &a, &n), BN_OK);
    ck_assert_int_eq(bn_gguf_array_u64(a, 1, &u64), BN_OK); ck_assert_uint_eq(u64, 4294967295u);
    int32_t ci[4];
    ck_assert_int_eq(bn_gguf_array_copy_i32(a, ci, 2), BN_ERR_FORMAT); /* 2^32-1 does not fit */
    ck_assert_int_eq(bn_gguf_get_array(g, "a.i32", BN_GGUF_I32, &a, &n), BN_OK);
    ck_assert_int_eq(bn_gguf_array_copy_i32(a, ci, 4), BN_OK);
    ck_assert(ci[0] == -1 && ci[1] == 2 && ci[2] == -3 && ci[3] == 4);
    ck_assert_int_eq(bn_gguf_array_copy_i32(a, ci, 3), BN_ERR_INVALID); /* wrong count */
    float cf[2];
    ck_assert_int_eq(bn_gguf_get_array(g, "a.f32", BN_GGUF_F32, &a, &n), BN_OK);
    ck_assert_int_eq(bn_gguf_array_copy_f32(a, cf, 2), BN_OK);
    ck_assert(cf[0] == 0.25f && cf[1] == -1e30f);
    ck_assert_int_eq(bn_gguf_get_array(g, "a.bool", BN_GGUF_BOOL, &a, &n), BN_OK);
    ck_assert_int_eq(bn_gguf_array_bool(a, 1, &b), BN_OK); ck_assert_int_eq(b, 0);
    ck_assert_int_eq(bn_gguf_array_bool(a, 2, &b), BN_OK); ck_assert_int_eq(b, 1);
    ck_assert_int_eq(bn_gguf_get_array(g, "a.u64", BN_GGUF_U64, &a, &n), BN_OK);
    ck_assert_int_eq(bn_gguf_array_u64(a, 0, &u64), BN_OK); ck_assert(u64 == 18446744073709551615ull);
    ck_assert_int_eq(bn_gguf_array_i64(a, 0, &i64), BN_ERR_FORMAT);
    ck_assert_int_eq(bn_gguf_get_array(g, "a.i64", BN_GGUF_I64, &a, &n), BN_OK);
    ck_assert_int_eq(bn_gguf_array_i64(a, 0, &i64), BN_OK); ck_assert(i64 == -9223372036854775807ll - 1);
    ck_assert_int_eq(bn_gguf_get_array(g, "a.f64", BN_GGUF_F64, &a, &n), BN_OK);
    ck_assert_int_eq(bn_gguf_array_f64(a, 1, &f64), BN_OK); ck_assert(f64 == -0.125);
    ck_assert_int_eq(bn_gguf_array_copy_f32(a, cf, 2), BN_OK); ck_assert(cf[0] == 3.5f);
    ck_assert_int_eq(bn_gguf_get_array(g, "a.empty", BN_GGUF_I32, &a, &n), BN_OK);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(bn_gguf_get_array(g, "a.str", BN_GGUF_STR, &a, &n), BN_OK);
    ck_assert_uint_eq(n, 3);
    bn_gguf_str e;
    ck_assert_int_eq(bn_gguf_array_str(a, 1, &e), BN_OK); ck_assert_uint_eq(e.len, 0);
    ck_assert_int_eq(bn_gguf_array_str(a, 2, &e), BN_OK);
    ck_assert_uint_eq(e.len, 6); ck_assert(memcmp(e.ptr, "\xe2\x96\x81the", 6) == 0);
    ck_assert_int_eq(bn_gguf_array_i64(a, 0, &i64), BN_ERR_FORMAT);
    ck_assert_int_eq(bn_gguf_array_type(a), BN_GGUF_STR);
    ck_assert_int_eq(bn_gguf_array_type(bn_gguf_find(g, "t.u8")), -1);
    bn_gguf_close(g);
}
END_TEST

/* ---- tensors -------------------------------------------------------------------- */

static bn_status fill_pattern(void *arg, uint64_t off, void *buf, size_t n) {
    (void)arg;
    for (size_t i = 0; i < n; i++)
        ((uint8_t *)buf)[i] = (uint8_t)((off + i) * 7 + 3);
    return BN_OK;
}

START_TEST(rw_tensors) {
    static float f32[6] = {1, 2, 3, 4, 5, 6};
    static uint16_t f16[4] = {0x3c00, 0x4000, 0xbc00, 0};
    static uint8_t q8[2 * 34], q4[18 * 2], tq2[66], i2s[256 / 4 + 32];
    for (size_t i = 0; i < sizeof q8; i++) q8[i] = (uint8_t)i;
    for (size_t i = 0; i < sizeof q4; i++) q4[i] = (uint8_t)(i * 3);
    for (size_t i = 0; i < sizeof tq2; i++) tq2[i] = (uint8_t)(i * 5);
    for (size_t i = 0; i < sizeof i2s; i++) i2s[i] = (uint8_t)(i * 11);
    bn_gguf_writer *w;
    ck_assert_int_eq(bn_gguf_writer_create(&w), BN_OK);
    ck_assert_int_eq(bn_gguf_writer_set_u32(w, "general.alignment", 64), BN_OK);
    ck_assert_int_eq(bn_gguf_writer_add_tensor(w, "a.f32", 0, 2, (int64_t[]){3, 2}, f32, sizeof f32), BN_OK);
    ck_assert_int_eq(bn_gguf_writer_add_tensor(w, "b.f16", 1, 1, (int64_t[]){4}, f16, sizeof f16), BN_OK);
    ck_assert_int_eq(bn_gguf_writer_add_tensor(w, "c.q8_0", 8, 2, (int64_t[]){32, 2}, q8, sizeof q8), BN_OK);
    ck_assert_int_eq(bn_gguf_writer_add_tensor(w, "d.q4_0", 2, 3, (int64_t[]){32, 1, 2}, q4, sizeof q4), BN_OK);
    ck_assert_int_eq(bn_gguf_writer_add_tensor(w, "e.tq2_0", 35, 1, (int64_t[]){256}, tq2, sizeof tq2), BN_OK);
    ck_assert_int_eq(bn_gguf_writer_add_tensor(w, "f.i2_s", 36, 2, (int64_t[]){128, 2}, i2s, sizeof i2s), BN_OK);
    /* 3 MB from a callback: more than one fill chunk */
    ck_assert_int_eq(bn_gguf_writer_add_tensor_fill(w, "g.i8", 24, 4, (int64_t[]){1024, 3, 1, 1024},
                                                    3u << 20, fill_pattern, NULL), BN_OK);
    char path[1024];
    ck_assert_msg(write_to(w, "tensors.gguf", path, sizeof path) == BN_OK, "%s", bn_last_error());
    bn_gguf_writer_free(w);

    bn_gguf *g = open_ok(path);
    ck_assert_uint_eq(bn_gguf_alignment(g), 64);
    ck_assert_uint_eq(bn_gguf_data_offset(g) % 64, 0);
    ck_assert_uint_eq(bn_gguf_tensor_count(g), 7);
    const uint8_t *base = bn_gguf_base(g);
    struct { const char *name; const void *data; size_t size; int32_t type; int sup; const char *tn; } want[] = {
        {"a.f32", f32, sizeof f32, BN_TYPE_F32, 1, "F32"},
        {"b.f16", f16, sizeof f16, BN_TYPE_F16, 1, "F16"},
        {"c.q8_0", q8, sizeof q8, BN_TYPE_Q8_0, 1, "Q8_0"},
        {"d.q4_0", q4, sizeof q4, -1, 0, "Q4_0"},
        {"e.tq2_0", tq2, sizeof tq2, BN_TYPE_TQ2_0, 1, "TQ2_0"},
        {"f.i2_s", i2s, sizeof i2s, BN_TYPE_I2_S, 1, "I2_S"},
    };
    for (size_t i = 0; i < 6; i++) {
        const bn_gguf_tensor *t = bn_gguf_find_tensor(g, want[i].name);
        ck_assert_ptr_nonnull(t);
        ck_assert_ptr_eq(t, bn_gguf_tensor_at(g, i));
        ck_assert_uint_eq(t->size, want[i].size);
        ck_assert_int_eq(t->type, want[i].type);
        ck_assert_int_eq(t->supported, want[i].sup);
        ck_assert_str_eq(t->type_name, want[i].tn);
        ck_assert_uint_eq(((const uint8_t *)t->data - base) % 64, 0);
        ck_assert_uint_eq(t->offset % 64, 0);
        ck_assert(memcmp(t->data, want[i].data, want[i].size) == 0);
    }
    const bn_gguf_tensor *t = bn_gguf_find_tensor(g, "d.q4_0");
    ck_assert_int_eq(t->n_dims, 3);
    ck_assert(t->ne[0] == 32 && t->ne[1] == 1 && t->ne[2] == 2 && t->ne[3] == 1 && t->n_elems == 64);
    ck_assert_ptr_nonnull(strstr(t->reason, "d.q4_0"));
    ck_assert_ptr_nonnull(strstr(t->reason, "Q4_0"));
    t = bn_gguf_find_tensor(g, "g.i8");
    ck_assert_uint_eq(t->size, 3u << 20);
    for (size_t i = 0; i < t->size; i += 4099)
        ck_assert_uint_eq(((const uint8_t *)t->data)[i], (uint8_t)(i * 7 + 3));
    ck_assert_ptr_null(bn_gguf_find_tensor(g, "nope"));
    bn_gguf_close(g);
}
END_TEST

/* ---- nested arrays (hand-built) and copying values through the writer ------------ */

static void nested_image(img *b) {
    img_bytes(b, "GGUF", 4);
    img_u32(b, 3);
    img_u64(b, 0);
    img_u64(b, 1);
    img_str(b, "x.nested");
    img_u32(b, 9);  /* array */
    img_u32(b, 9);  /* of arrays */
    img_u64(b, 2);
    img_u32(b, 8);  /* [0]: array of 2 strings */
    img_u64(b, 2);
    img_str(b, "ab");
    img_str(b, "cde");
    img_u32(b, 8);  /* [1]: empty array of strings */
    img_u64(b, 0);
}

static void check_nested(bn_gguf *g) {
    const bn_gguf_value *a, *e;
    uint64_t n;
    bn_gguf_str s;
    ck_assert_int_eq(bn_gguf_get_array(g, "x.nested", BN_GGUF_ARR, &a, &n), BN_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(bn_gguf_array_elem(a, 0, &e), BN_OK);
    ck_assert_int_eq(bn_gguf_array_type(e), BN_GGUF_STR);
    ck_assert_uint_eq(bn_gguf_array_len(e), 2);
    ck_assert_int_eq(bn_gguf_array_str(e, 1, &s), BN_OK);
    ck_assert(s.len == 3 && memcmp(s.ptr, "cde", 3) == 0);
    ck_assert_int_eq(bn_gguf_array_elem(a, 1, &e), BN_OK);
    ck_assert_uint_eq(bn_gguf_array_len(e), 0);
    ck_assert_int_eq(bn_gguf_array_elem(a, 2, &e), BN_ERR_INVALID);
    ck_assert_int_eq(bn_gguf_array_str(a, 0, &s), BN_ERR_FORMAT);
}

START_TEST(rw_nested_arrays_copy) {
    img b = {0};
    nested_image(&b);
    bn_gguf *g = NULL;
    ck_assert_msg(bn_gguf_open_memory(b.p, b.len, &g) == BN_OK, "%s", bn_last_error());
    check_nested(g);
    bn_gguf_writer *w;
    ck_assert_int_eq(bn_gguf_writer_create(&w), BN_OK);
    ck_assert_int_eq(bn_gguf_writer_set_value(w, "x.nested", bn_gguf_find(g, "x.nested")), BN_OK);
    bn_gguf_close(g);
    free(b.p);
    char path[1024];
    ck_assert_msg(write_to(w, "nested.gguf", path, sizeof path) == BN_OK, "%s", bn_last_error());
    bn_gguf_writer_free(w);
    g = open_ok(path);
    check_nested(g);
    bn_gguf_close(g);
}
END_TEST

START_TEST(rw_copy_all_scalars) {
    /* every kv of a file copied with set_value must read back identically */
    bn_gguf_writer *w;
    ck_assert_int_eq(bn_gguf_writer_create(&w), BN_OK);
    bn_gguf_writer_set_i8(w, "i8", -7);
    bn_gguf_writer_set_u16(w, "u16", 9);
    bn_gguf_writer_set_f32(w, "f32", 0.1f);
    bn_gguf_writer_set_f64(w, "f64", 0.1);
    bn_gguf_writer_set_bool(w, "bool", 0);
    bn_gguf_writer_set_str(w, "s", "x");
    char p1[1024], p2[1024];
    ck_assert_int_eq(write_to(w, "c1.gguf", p1, sizeof p1), BN_OK);
    bn_gguf_writer_free(w);
    bn_gguf *g = open_ok(p1);
    ck_assert_int_eq(bn_gguf_writer_create(&w), BN_OK);
    for (uint64_t i = 0; i < bn_gguf_kv_count(g); i++)
        ck_assert_int_eq(bn_gguf_writer_set_value(w, bn_gguf_kv_key(g, i), bn_gguf_kv_value(g, i)), BN_OK);
    ck_assert_int_eq(write_to(w, "c2.gguf", p2, sizeof p2), BN_OK);
    bn_gguf_writer_free(w);
    bn_gguf_close(g);
    size_t n1, n2;
    uint8_t *a = read_file(p1, &n1), *c = read_file(p2, &n2);
    ck_assert(a && c && n1 == n2 && memcmp(a, c, n1) == 0);
    free(a);
    free(c);
}
END_TEST

/* ---- versions ------------------------------------------------------------------ */

START_TEST(rw_v2_file) {
    /* v2 has the same layout as v3 (64-bit counts and lengths) */
    img b = {0};
    tinfo t[] = {{"w", 2, {8, 2}, 0, 0}};
    img_model(&b, 2, t, 1, 64);
    char path[1024];
    tmp_path(path, sizeof path, "v2.gguf");
    ck_assert_int_eq(write_file(path, b.p, b.len), 0);
    bn_gguf *g = open_ok(path);
    ck_assert_uint_eq(bn_gguf_version(g), 2);
    const char *s;
    ck_assert_int_eq(bn_gguf_get_str(g, "general.architecture", &s, NULL), BN_OK);
    ck_assert_str_eq(s, "test");
    const bn_gguf_tensor *w = bn_gguf_find_tensor(g, "w");
    ck_assert_ptr_nonnull(w);
    ck_assert_uint_eq(w->size, 64);
    ck_assert_uint_eq(((const uint8_t *)w->data)[63], 0xAB);
    bn_gguf_close(g);
    free(b.p);
}
END_TEST

START_TEST(rw_version_refused) {
    uint32_t versions[] = {1, 4, 0x03000000};
    for (int i = 0; i < 3; i++) {
        img b = {0};
        img_model(&b, versions[i], NULL, 0, 0);
        bn_gguf *g = (bn_gguf *)1;
        ck_assert_int_eq(bn_gguf_open_memory(b.p, b.len, &g), BN_ERR_UNSUPPORTED);
        ck_assert_ptr_null(g);
        ck_assert_ptr_nonnull(strstr(bn_last_error(), "version"));
        free(b.p);
    }
}
END_TEST

/* ---- writer behaviour ------------------------------------------------------------ */

START_TEST(rw_replace_and_remove_key) {
    bn_gguf_writer *w;
    ck_assert_int_eq(bn_gguf_writer_create(&w), BN_OK);
    bn_gguf_writer_set_u32(w, "a", 1);
    bn_gguf_writer_set_u32(w, "b", 2);
    bn_gguf_writer_set_str(w, "a", "again"); /* replaced in place, keeps position */
    bn_gguf_writer_set_u32(w, "c", 3);
    bn_gguf_writer_remove(w, "b");
    char path[1024];
    ck_assert_int_eq(write_to(w, "replace.gguf", path, sizeof path), BN_OK);
    bn_gguf_writer_free(w);
    bn_gguf *g = open_ok(path);
    ck_assert_uint_eq(bn_gguf_kv_count(g), 2);
    ck_assert_str_eq(bn_gguf_kv_key(g, 0), "a");
    ck_assert_str_eq(bn_gguf_kv_key(g, 1), "c");
    const char *s;
    ck_assert_int_eq(bn_gguf_get_str(g, "a", &s, NULL), BN_OK);
    ck_assert_str_eq(s, "again");
    bn_gguf_close(g);
}
END_TEST

START_TEST(rw_writer_errors) {
    bn_gguf_writer *w;
    uint8_t buf[1024] = {0};
    ck_assert_int_eq(bn_gguf_writer_create(&w), BN_OK);
    ck_assert_int_eq(bn_gguf_writer_add_tensor(w, "q", 8, 1, (int64_t[]){32}, buf, 33), BN_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(bn_last_error(), "'q'"));
    ck_assert_int_eq(bn_gguf_writer_add_tensor(w, "q", 8, 1, (int64_t[]){33}, buf, 34), BN_ERR_INVALID);
    ck_assert_int_eq(bn_gguf_writer_add_tensor(w, "q", 0, 0, (int64_t[]){1}, buf, 4), BN_ERR_INVALID);
    ck_assert_int_eq(bn_gguf_writer_add_tensor(w, "q", 0, 5, (int64_t[]){1, 1, 1, 1, 1}, buf, 4), BN_ERR_INVALID);
    ck_assert_int_eq(bn_gguf_writer_add_tensor(w, "q", 0, 1, (int64_t[]){0}, buf, 4), BN_ERR_INVALID);
    ck_assert_int_eq(bn_gguf_writer_add_tensor(w, "", 0, 1, (int64_t[]){1}, buf, 4), BN_ERR_INVALID);
    ck_assert_int_eq(bn_gguf_writer_add_tensor(w, "q", 0, 1, (int64_t[]){1}, buf, 4), BN_OK);
    ck_assert_int_eq(bn_gguf_writer_add_tensor(w, "q", 0, 1, (int64_t[]){1}, buf, 4), BN_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(bn_last_error(), "duplicate"));
    ck_assert_int_eq(bn_gguf_writer_set_u32(w, "", 1), BN_ERR_INVALID);
    /* directory that does not exist: I/O error naming the path */
    ck_assert_int_eq(bn_gguf_writer_write(w, "/nonexistent-dir-bitnet/x.gguf"), BN_ERR_IO);
    ck_assert_ptr_nonnull(strstr(bn_last_error(), "/nonexistent-dir-bitnet/x.gguf"));
    /* alignment must be a uint32 power of two */
    char path[1024];
    bn_gguf_writer_set_u32(w, "general.alignment", 48);
    ck_assert_int_eq(write_to(w, "align.gguf", path, sizeof path), BN_ERR_INVALID);
    bn_gguf_writer_set_str(w, "general.alignment", "32");
    ck_assert_int_eq(write_to(w, "align.gguf", path, sizeof path), BN_ERR_INVALID);
    ck_assert_int_eq(access(path, F_OK), -1);
    bn_gguf_writer_free(w);
}
END_TEST

static bn_status fill_fail(void *arg, uint64_t off, void *buf, size_t n) {
    (void)arg; (void)buf; (void)n;
    return off ? bn_fail(BN_ERR_IO, "source went away") : BN_OK;
}

static int count_dir_entries(void) {
    DIR *d = opendir(tmp_dir());
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

START_TEST(rw_atomic_replace) {
    char path[1024];
    tmp_path(path, sizeof path, "atomic.gguf");
    ck_assert_int_eq(write_file(path, "old", 3), 0);
    int before = count_dir_entries();
    bn_gguf_writer *w;
    ck_assert_int_eq(bn_gguf_writer_create(&w), BN_OK);
    ck_assert_int_eq(bn_gguf_writer_add_tensor_fill(w, "t", 24, 1, (int64_t[]){3 << 20}, 3 << 20, fill_fail, NULL),
                     BN_OK);
    ck_assert_int_eq(bn_gguf_writer_write(w, path), BN_ERR_IO);
    ck_assert_ptr_nonnull(strstr(bn_last_error(), "source went away"));
    bn_gguf_writer_free(w);
    size_t n;
    uint8_t *p = read_file(path, &n);
    ck_assert(p && n == 3 && memcmp(p, "old", 3) == 0); /* old file intact */
    free(p);
    ck_assert_int_eq(count_dir_entries(), before);     /* no temp file left */
}
END_TEST

/* ---- real fixtures ----------------------------------------------------------------- */

static int fixture(const char *name, char *path, size_t len) {
    snprintf(path, len, "%s/%s/vocab.gguf", GGUF_FIXTURES_DIR, name);
    ck_assert_msg(access(path, R_OK) == 0, "fixture %s is missing from the repository", path);
    return 1;
}

/* Expected values: the fixture README (model, vocab size, special ids,
 * add_bos) and the kv count in each file's header bytes (offset 16). */
START_TEST(rw_fixture_llama2_spm) {
    char path[1024];
    if (!fixture("llama2-spm", path, sizeof path))
        return;
    bn_gguf *g = open_ok(path);
    ck_assert_uint_eq(bn_gguf_version(g), 3);
    ck_assert_uint_eq(bn_gguf_kv_count(g), 22);
    ck_assert_uint_eq(bn_gguf_tensor_count(g), 0);
    const char *s;
    ck_assert_int_eq(bn_gguf_get_str(g, "tokenizer.ggml.model", &s, NULL), BN_OK);
    ck_assert_str_eq(s, "llama");
    uint64_t n;
    const bn_gguf_value *a;
    ck_assert_int_eq(bn_gguf_get_array(g, "tokenizer.ggml.tokens", BN_GGUF_STR, &a, &n), BN_OK);
    ck_assert_uint_eq(n, 32000);
    ck_assert_int_eq(bn_gguf_get_array(g, "tokenizer.ggml.scores", BN_GGUF_F32, NULL, &n), BN_OK);
    ck_assert_uint_eq(n, 32000);
    ck_assert_int_eq(bn_gguf_get_array(g, "tokenizer.ggml.token_type", -1, &a, &n), BN_OK);
    ck_assert_uint_eq(n, 32000);
    int32_t *types = malloc(n * sizeof *types);
    ck_assert_int_eq(bn_gguf_array_copy_i32(a, types, n), BN_OK);
    free(types);
    uint32_t id;
    ck_assert_int_eq(bn_gguf_get_u32(g, "tokenizer.ggml.bos_token_id", &id), BN_OK);
    ck_assert_uint_eq(id, 1);
    ck_assert_int_eq(bn_gguf_get_u32(g, "tokenizer.ggml.eos_token_id", &id), BN_OK);
    ck_assert_uint_eq(id, 2);
    ck_assert_int_eq(bn_gguf_get_u32(g, "tokenizer.ggml.unknown_token_id", &id), BN_OK);
    ck_assert_uint_eq(id, 0);
    int b;
    ck_assert_int_eq(bn_gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &b), BN_OK);
    ck_assert_int_eq(b, 1);
    bn_gguf_close(g);
}
END_TEST

START_TEST(rw_fixture_gpt2_bpe) {
    char path[1024];
    if (!fixture("gpt2-bpe", path, sizeof path))
        return;
    bn_gguf *g = open_ok(path);
    ck_assert_uint_eq(bn_gguf_kv_count(g), 16);
    const char *s;
    ck_assert_int_eq(bn_gguf_get_str(g, "tokenizer.ggml.model", &s, NULL), BN_OK);
    ck_assert_str_eq(s, "gpt2");
    uint64_t n;
    const bn_gguf_value *a;
    ck_assert_int_eq(bn_gguf_get_array(g, "tokenizer.ggml.tokens", BN_GGUF_STR, &a, &n), BN_OK);
    ck_assert_uint_eq(n, 50257);
    bn_gguf_str t;
    ck_assert_int_eq(bn_gguf_array_str(a, 50256, &t), BN_OK);
    ck_assert(t.len == 13 && memcmp(t.ptr, "<|endoftext|>", 13) == 0); /* GPT-2's last token */
    bn_gguf_close(g);
}
END_TEST

/* The fuzzer's committed seeds must stay valid files, or fuzzing starts
 * from nothing. */
START_TEST(rw_fuzz_seeds_open) {
    DIR *d = opendir(GGUF_SEEDS_DIR);
    ck_assert_msg(d != NULL, "%s missing", GGUF_SEEDS_DIR);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", GGUF_SEEDS_DIR, e->d_name);
        bn_gguf_close(open_ok(path));
        n++;
    }
    closedir(d);
    ck_assert_int_ge(n, 3);
}
END_TEST

static Suite *rw_suite(void) {
    Suite *s = suite_create("gguf_rw");
    TCase *tc;
#define ADD(fn) tc = tcase_create(#fn); tcase_add_test(tc, fn); tcase_set_timeout(tc, 30); suite_add_tcase(s, tc)
    ADD(rw_metadata_all_types);
    ADD(rw_tensors);
    ADD(rw_nested_arrays_copy);
    ADD(rw_copy_all_scalars);
    ADD(rw_v2_file);
    ADD(rw_version_refused);
    ADD(rw_replace_and_remove_key);
    ADD(rw_writer_errors);
    ADD(rw_atomic_replace);
    ADD(rw_fixture_llama2_spm);
    ADD(rw_fixture_gpt2_bpe);
    ADD(rw_fuzz_seeds_open);
#undef ADD
    return s;
}

int main(int argc, char **argv) {
    SRunner *sr = srunner_create(rw_suite());
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run(sr, NULL, argc > 1 ? argv[1] : NULL, CK_NORMAL);
    int failed = srunner_ntests_failed(sr), run = srunner_ntests_run(sr);
    srunner_free(sr);
    tmp_cleanup();
    return failed == 0 && run > 0 ? 0 : 1;
}
