/*
 * ggufpy-write OUT_DIR
 *
 * Writes, with our GGUF writer API (core/include/bitnet/gguf.h), files
 * that use every metadata value type and every writer entry point, for
 * check_reader.py to read back with gguf-py:
 *
 *   values.gguf    every scalar type (with its extreme values), float
 *                  specials (-0, inf, NaN, subnormal), strings (empty,
 *                  UTF-8, embedded NUL), arrays of every element type
 *                  (empty ones too), string arrays, nested arrays (copied
 *                  with set_value from a hand-built image), a replaced and
 *                  a removed key; tensors of F32, F16, BF16, Q8_0, Q4_0,
 *                  Q6_K, TQ1_0, TQ2_0, I2_S, I8, I16, I32, I64, F64 in 1 to 4
 *                  dimensions, one produced by a fill callback.
 *   align64.gguf   general.alignment = 64 and tensors with odd sizes.
 *   empty.gguf     no metadata, no tensors.
 *
 * Tensor payloads are deterministic pseudo-random but valid for their
 * type (finite fp16 block scales, ternary 2-bit codes 0..2), so both
 * sides can dequantise them.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bitnet/gguf.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint32_t next(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

/* A finite fp16 of moderate magnitude (exponent 5..25, either sign). */
static uint16_t rand_f16(void) {
    uint32_t r = next();
    return (uint16_t)((r & 0x8000u) | ((5u + (r >> 16) % 21u) << 10) | (r & 0x3ffu));
}

static int failed;

static void ck(bn_status st, const char *what) {
    if (st != BN_OK) {
        fprintf(stderr, "ggufpy-write: %s: %s\n", what, bn_last_error());
        failed = 1;
    }
}

/* ---- hand-built image holding nested arrays (the writer has no API to
 * build them, only to copy them from a file) ---- */
typedef struct {
    uint8_t b[1024];
    size_t n;
} img;

static void put(img *m, const void *p, size_t n) {
    memcpy(m->b + m->n, p, n);
    m->n += n;
}
static void put32(img *m, uint32_t v) { put(m, &v, 4); }
static void put64(img *m, uint64_t v) { put(m, &v, 8); }
static void putstr(img *m, const char *s) {
    put64(m, strlen(s));
    put(m, s, strlen(s));
}

static void nested_image(img *m) {
    m->n = 0;
    put(m, "GGUF", 4);
    put32(m, 3);
    put64(m, 0); /* tensors */
    put64(m, 3); /* kvs */
    /* x.nested_str: [["ab", "cde"], [], ["", "\xc3\xa9"]] */
    putstr(m, "x.nested_str");
    put32(m, BN_GGUF_ARR);
    put32(m, BN_GGUF_ARR);
    put64(m, 3);
    put32(m, BN_GGUF_STR);
    put64(m, 2);
    putstr(m, "ab");
    putstr(m, "cde");
    put32(m, BN_GGUF_STR);
    put64(m, 0);
    put32(m, BN_GGUF_STR);
    put64(m, 2);
    putstr(m, "");
    putstr(m, "\xc3\xa9");
    /* x.nested_i32: [[1, -2, 3], [2147483647]] */
    putstr(m, "x.nested_i32");
    put32(m, BN_GGUF_ARR);
    put32(m, BN_GGUF_ARR);
    put64(m, 2);
    put32(m, BN_GGUF_I32);
    put64(m, 3);
    int32_t a[3] = {1, -2, 3}, b = 2147483647;
    put(m, a, sizeof a);
    put32(m, BN_GGUF_I32);
    put64(m, 1);
    put(m, &b, 4);
    /* x.nested3: [[[0.5f], []], [[1.5f, -0.0f]]] (float32 three deep) */
    putstr(m, "x.nested3");
    put32(m, BN_GGUF_ARR);
    put32(m, BN_GGUF_ARR);
    put64(m, 2);
    put32(m, BN_GGUF_ARR);
    put64(m, 2);
    put32(m, BN_GGUF_F32);
    put64(m, 1);
    float h = 0.5f, c[2] = {1.5f, -0.0f};
    put(m, &h, 4);
    put32(m, BN_GGUF_F32);
    put64(m, 0);
    put32(m, BN_GGUF_ARR);
    put64(m, 1);
    put32(m, BN_GGUF_F32);
    put64(m, 2);
    put(m, c, sizeof c);
}

static void metadata(bn_gguf_writer *w) {
    ck(bn_gguf_writer_set_str(w, "general.architecture", "ggufpy-test"), "arch");
    ck(bn_gguf_writer_set_u8(w, "s.u8.max", 255), "u8");
    ck(bn_gguf_writer_set_u8(w, "s.u8.zero", 0), "u8");
    ck(bn_gguf_writer_set_i8(w, "s.i8.min", -128), "i8");
    ck(bn_gguf_writer_set_i8(w, "s.i8.max", 127), "i8");
    ck(bn_gguf_writer_set_u16(w, "s.u16.max", 65535), "u16");
    ck(bn_gguf_writer_set_i16(w, "s.i16.min", -32768), "i16");
    ck(bn_gguf_writer_set_u32(w, "s.u32.max", 4294967295u), "u32");
    ck(bn_gguf_writer_set_i32(w, "s.i32.min", INT32_MIN), "i32");
    ck(bn_gguf_writer_set_i32(w, "s.i32.max", INT32_MAX), "i32");
    ck(bn_gguf_writer_set_u64(w, "s.u64.max", UINT64_MAX), "u64");
    ck(bn_gguf_writer_set_i64(w, "s.i64.min", INT64_MIN), "i64");
    ck(bn_gguf_writer_set_i64(w, "s.i64.max", INT64_MAX), "i64");
    ck(bn_gguf_writer_set_f32(w, "s.f32.pi", 3.14159265f), "f32");
    ck(bn_gguf_writer_set_f32(w, "s.f32.negzero", -0.0f), "f32");
    ck(bn_gguf_writer_set_f32(w, "s.f32.inf", INFINITY), "f32");
    ck(bn_gguf_writer_set_f32(w, "s.f32.nan", NAN), "f32");
    ck(bn_gguf_writer_set_f32(w, "s.f32.subnormal", 1e-45f), "f32");
    ck(bn_gguf_writer_set_f32(w, "s.f32.max", 3.4028235e38f), "f32");
    ck(bn_gguf_writer_set_f64(w, "s.f64.tenth", 0.1), "f64");
    ck(bn_gguf_writer_set_f64(w, "s.f64.min_sub", 4.9406564584124654e-324), "f64");
    ck(bn_gguf_writer_set_f64(w, "s.f64.neginf", -INFINITY), "f64");
    ck(bn_gguf_writer_set_bool(w, "s.bool.true", 1), "bool");
    ck(bn_gguf_writer_set_bool(w, "s.bool.false", 0), "bool");
    ck(bn_gguf_writer_set_str(w, "s.str.empty", ""), "str");
    ck(bn_gguf_writer_set_str(w, "s.str.utf8", "h\xc3\xa9llo \xe2\x96\x81w\xf0\x9f\x98\x80"), "str");
    ck(bn_gguf_writer_set_strn(w, "s.str.nul", "a\0b\0", 4), "strn");
    ck(bn_gguf_writer_set_str(w, "s.str.newline", "line1\nline2\t\"q\"\\"), "str");
    /* replaced in place (keeps its position) and removed */
    ck(bn_gguf_writer_set_u32(w, "s.replaced", 1), "replace");
    ck(bn_gguf_writer_set_str(w, "s.removed", "gone"), "remove");
    ck(bn_gguf_writer_set_f32(w, "s.replaced", 2.5f), "replace");
    bn_gguf_writer_remove(w, "s.removed");

    static const uint8_t au8[] = {0, 1, 255};
    static const int8_t ai8[] = {-128, 0, 127};
    static const uint16_t au16[] = {0, 65535};
    static const int16_t ai16[] = {-32768, 32767, -1};
    static const uint32_t au32[] = {0, 4294967295u, 7};
    static const int32_t ai32[] = {INT32_MIN, -1, 0, INT32_MAX};
    static const uint64_t au64[] = {0, UINT64_MAX, 1ull << 63};
    static const int64_t ai64[] = {INT64_MIN, -1, INT64_MAX};
    static const uint8_t abool[] = {1, 0, 1, 1};
    const float af32[] = {0.0f, -0.0f, 1.0f / 3.0f, -1e-40f, INFINITY, -65504.0f, NAN};
    const double af64[] = {0.1, -2.5, 1e308, -0.0, 5e-324};
    ck(bn_gguf_writer_set_array(w, "a.u8", BN_GGUF_U8, au8, 3), "a.u8");
    ck(bn_gguf_writer_set_array(w, "a.i8", BN_GGUF_I8, ai8, 3), "a.i8");
    ck(bn_gguf_writer_set_array(w, "a.u16", BN_GGUF_U16, au16, 2), "a.u16");
    ck(bn_gguf_writer_set_array(w, "a.i16", BN_GGUF_I16, ai16, 3), "a.i16");
    ck(bn_gguf_writer_set_array(w, "a.u32", BN_GGUF_U32, au32, 3), "a.u32");
    ck(bn_gguf_writer_set_array(w, "a.i32", BN_GGUF_I32, ai32, 4), "a.i32");
    ck(bn_gguf_writer_set_array(w, "a.u64", BN_GGUF_U64, au64, 3), "a.u64");
    ck(bn_gguf_writer_set_array(w, "a.i64", BN_GGUF_I64, ai64, 3), "a.i64");
    ck(bn_gguf_writer_set_array(w, "a.bool", BN_GGUF_BOOL, abool, 4), "a.bool");
    ck(bn_gguf_writer_set_array(w, "a.f32", BN_GGUF_F32, af32, sizeof af32 / sizeof af32[0]), "a.f32");
    ck(bn_gguf_writer_set_array(w, "a.f64", BN_GGUF_F64, af64, sizeof af64 / sizeof af64[0]), "a.f64");
    ck(bn_gguf_writer_set_array(w, "a.empty_i32", BN_GGUF_I32, NULL, 0), "a.empty");
    ck(bn_gguf_writer_set_array(w, "a.empty_f64", BN_GGUF_F64, NULL, 0), "a.empty");
    const char *strs[] = {"", "x", "\xe2\x96\x81the", "<0x0A>"};
    ck(bn_gguf_writer_set_str_array(w, "a.str", strs, 4), "a.str");
    ck(bn_gguf_writer_set_str_array(w, "a.str_empty", NULL, 0), "a.str_empty");
    const bn_gguf_str sn[] = {{"a\0b", 3}, {"", 0}, {"\xff\xfe", 2}};
    ck(bn_gguf_writer_set_strn_array(w, "a.strn", sn, 3), "a.strn");
    /* a large array (arrays are read element by element on both sides) */
    int32_t *big = malloc(sizeof(int32_t) * 5000);
    for (int i = 0; i < 5000; i++)
        big[i] = (int32_t)(next() >> 1) - (1 << 30); /* [-2^30, 2^30) */
    ck(bn_gguf_writer_set_array(w, "a.i32_big", BN_GGUF_I32, big, 5000), "a.i32_big");
    free(big);

    img m;
    nested_image(&m);
    bn_gguf *g = NULL;
    ck(bn_gguf_open_memory(m.b, m.n, &g), "nested image");
    if (g) {
        static const char *const keys[] = {"x.nested_str", "x.nested_i32", "x.nested3"};
        for (int i = 0; i < 3; i++)
            ck(bn_gguf_writer_set_value(w, keys[i], bn_gguf_find(g, keys[i])), keys[i]);
        bn_gguf_close(g);
    }
}

/* Tensor buffers live until the file is written. */
static void *bufs[64];
static int n_bufs;

static void *buf(size_t n) {
    void *p = calloc(1, n ? n : 1);
    bufs[n_bufs++] = p;
    return p;
}

static void tensor(bn_gguf_writer *w, const char *name, uint32_t type, int n_dims, const int64_t *ne) {
    int64_t n = 1;
    for (int d = 0; d < n_dims; d++)
        n *= ne[d];
    size_t size;
    uint8_t *p;
    switch (type) {
    case 0: /* F32: finite values of every magnitude */
        size = (size_t)n * 4;
        p = buf(size);
        for (int64_t i = 0; i < n; i++) {
            float v = ldexpf((float)((int32_t)next() % 100000) / 1000.0f, (int)(next() % 40) - 20);
            memcpy(p + 4 * i, &v, 4);
        }
        break;
    case 1: /* F16 */
    case 30: /* BF16: any finite bits (bf16 and f32 share the exponent) */
        size = (size_t)n * 2;
        p = buf(size);
        for (int64_t i = 0; i < n; i++) {
            uint16_t h = type == 1 ? rand_f16() : (uint16_t)(next() & 0xbfffu);
            if (i % 17 == 3)
                h = (uint16_t)(next() & 0x83ffu); /* zeros and subnormals */
            memcpy(p + 2 * i, &h, 2);
        }
        break;
    case 8: /* Q8_0: fp16 d + 32 int8 (incl. -128) */
        size = (size_t)(n / 32) * 34;
        p = buf(size);
        for (int64_t b = 0; b < n / 32; b++) {
            uint16_t d = rand_f16();
            memcpy(p + 34 * b, &d, 2);
            for (int i = 0; i < 32; i++)
                p[34 * b + 2 + i] = (uint8_t)next();
        }
        break;
    case 2: /* Q4_0 */
        size = (size_t)(n / 32) * 18;
        p = buf(size);
        for (size_t i = 0; i < size; i++)
            p[i] = (uint8_t)next();
        break;
    case 14: /* Q6_K: ql[128] qh[64] int8 scales[16], finite fp16 d last */
        size = (size_t)(n / 256) * 210;
        p = buf(size);
        for (size_t i = 0; i < size; i++)
            p[i] = (uint8_t)next();
        for (int64_t b = 0; b < n / 256; b++) {
            uint16_t d = rand_f16();
            memcpy(p + 210 * b + 208, &d, 2);
        }
        break;
    case 34: /* TQ1_0: any byte decodes to five trits */
        size = (size_t)(n / 256) * 54;
        p = buf(size);
        for (int64_t b = 0; b < n / 256; b++) {
            for (int i = 0; i < 52; i++)
                p[54 * b + i] = (uint8_t)next();
            uint16_t d = rand_f16();
            memcpy(p + 54 * b + 52, &d, 2);
        }
        break;
    case 35: /* TQ2_0: codes 0..2 */
        size = (size_t)(n / 256) * 66;
        p = buf(size);
        for (int64_t b = 0; b < n / 256; b++) {
            for (int i = 0; i < 64; i++) {
                uint8_t v = 0;
                for (int k = 0; k < 4; k++)
                    v |= (uint8_t)((next() % 3) << (2 * k));
                p[66 * b + i] = v;
            }
            uint16_t d = rand_f16();
            memcpy(p + 66 * b + 64, &d, 2);
        }
        break;
    case 36: /* I2_S: n/4 code bytes + float32 scale + 28 padding */
        size = (size_t)n / 4 + 32;
        p = buf(size);
        for (int64_t i = 0; i < n / 4; i++) {
            uint8_t v = 0;
            for (int k = 0; k < 4; k++)
                v |= (uint8_t)((next() % 3) << (2 * k));
            p[i] = v;
        }
        {
            float s = 0.03125f;
            memcpy(p + n / 4, &s, 4);
        }
        break;
    case 24: /* I8 */
    case 25: /* I16 */
    case 26: /* I32 */
    case 27: /* I64 */
    case 28: { /* F64 */
        size_t es = type == 24 ? 1 : type == 25 ? 2 : type == 26 ? 4 : 8;
        size = (size_t)n * es;
        p = buf(size);
        for (size_t i = 0; i < size; i++)
            p[i] = (uint8_t)next();
        if (type == 28) /* keep the doubles finite: clear one exponent bit */
            for (int64_t i = 0; i < n; i++)
                p[8 * i + 7] &= 0xbf;
        break;
    }
    default:
        fprintf(stderr, "ggufpy-write: no generator for type %u\n", type);
        failed = 1;
        return;
    }
    ck(bn_gguf_writer_add_tensor(w, name, type, n_dims, ne, p, size), name);
}

static bn_status fill(void *arg, uint64_t off, void *dst, size_t n) {
    (void)arg;
    for (size_t i = 0; i < n; i++)
        ((uint8_t *)dst)[i] = (uint8_t)(((off + i) * 2654435761u) >> 13);
    return BN_OK;
}

static void write_file(bn_gguf_writer *w, const char *dir, const char *name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    ck(bn_gguf_writer_write(w, path), path);
    bn_gguf_writer_free(w);
    for (int i = 0; i < n_bufs; i++)
        free(bufs[i]);
    n_bufs = 0;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: ggufpy-write OUT_DIR\n");
        return 2;
    }
    bn_gguf_writer *w = NULL;

    ck(bn_gguf_writer_create(&w), "create");
    metadata(w);
    tensor(w, "t.f32.1d", 0, 1, (int64_t[]){37});
    tensor(w, "t.f32.4d", 0, 4, (int64_t[]){3, 2, 5, 2});
    tensor(w, "t.f16.2d", 1, 2, (int64_t[]){96, 5});
    tensor(w, "t.f16.1d", 1, 1, (int64_t[]){3});
    tensor(w, "t.bf16.3d", 30, 3, (int64_t[]){64, 3, 2});
    tensor(w, "t.q8_0.2d", 8, 2, (int64_t[]){96, 7});
    tensor(w, "t.q8_0.3d", 8, 3, (int64_t[]){32, 2, 3});
    tensor(w, "t.q4_0", 2, 2, (int64_t[]){64, 3});
    tensor(w, "t.q6_k", 14, 2, (int64_t[]){256, 2});
    tensor(w, "t.tq1_0.2d", 34, 2, (int64_t[]){512, 3});
    tensor(w, "t.tq1_0.1d", 34, 1, (int64_t[]){256});
    tensor(w, "t.tq2_0.2d", 35, 2, (int64_t[]){768, 2});
    tensor(w, "t.tq2_0.4d", 35, 4, (int64_t[]){256, 1, 2, 2});
    tensor(w, "t.i2_s.2d", 36, 2, (int64_t[]){256, 3});
    tensor(w, "t.i8", 24, 2, (int64_t[]){5, 3});
    tensor(w, "t.i16", 25, 1, (int64_t[]){9});
    tensor(w, "t.i32", 26, 3, (int64_t[]){2, 2, 2});
    tensor(w, "t.i64", 27, 1, (int64_t[]){4});
    tensor(w, "t.f64", 28, 2, (int64_t[]){3, 3});
    ck(bn_gguf_writer_add_tensor_fill(w, "t.fill.i8", 24, 2, (int64_t[]){4096, 300}, 4096u * 300u, fill, NULL),
       "fill");
    tensor(w, "t.i2_s.last", 36, 2, (int64_t[]){128, 1});
    write_file(w, argv[1], "values.gguf");

    ck(bn_gguf_writer_create(&w), "create");
    ck(bn_gguf_writer_set_str(w, "general.architecture", "llama"), "arch");
    ck(bn_gguf_writer_set_u32(w, "general.alignment", 64), "alignment");
    tensor(w, "odd.f32", 0, 1, (int64_t[]){5});
    tensor(w, "odd.i8", 24, 1, (int64_t[]){3});
    tensor(w, "odd.q8_0", 8, 2, (int64_t[]){32, 3});
    tensor(w, "odd.i2_s", 36, 2, (int64_t[]){128, 3});
    tensor(w, "odd.tq2_0", 35, 2, (int64_t[]){256, 1});
    tensor(w, "odd.f16", 1, 1, (int64_t[]){7});
    write_file(w, argv[1], "align64.gguf");

    ck(bn_gguf_writer_create(&w), "create");
    write_file(w, argv[1], "empty.gguf");
    return failed;
}
