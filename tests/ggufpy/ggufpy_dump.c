/*
 * ggufpy-dump FILE.gguf [DEQ.bin]
 *
 * Our side of the gguf-py cross-check (check_reader.py): everything our
 * GGUF reader (core/include/bitnet/gguf.h) sees in a file, as JSON on
 * stdout, so a script can compare it field by field with what gguf-py's
 * GGUFReader sees in the same file.
 *
 *   {"version", "alignment", "data_offset", "file_size", "kv_count",
 *    "tensor_count",
 *    "kv": [{"k": HEX(key), "t": vtype, "v": VALUE}, ...]      (file order)
 *    "tensors": [{"name": HEX, "ggml_type", "type_name", "n_dims",
 *                 "ne": [ne0..], "offset", "file_offset", "size",
 *                 "crc32", "supported", "deq": [byte offset into DEQ.bin,
 *                 element count] or null, "deq_err": "..."}, ...]}
 *
 * VALUE: integers (u8..i64, and bool as 0/1) as JSON numbers; float32 as
 * "f32:XXXXXXXX" and float64 as "f64:XXXXXXXXXXXXXXXX" (the bit patterns,
 * so the comparison is exact); strings as "s:" + hex of their bytes;
 * arrays as {"et": element vtype, "n": count, "items": [VALUE...]} (nested
 * arrays recurse).
 *
 * With DEQ.bin, every F16 / BF16 / Q8_0 / Q6_K / TQ1_0 / TQ2_0 tensor is
 * dequantised by the reference plugin (weight_prepare + dequantize, extra
 * scale 1, rows = product of ne[1..3]) and its float32 values appended to
 * DEQ.bin; "deq" says where. Exit status 0 on success, 1 on any failure of
 * our reader (message on stderr).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bitnet/backend.h"
#include "bitnet/bitnet.h"
#include "bitnet/gguf.h"

static uint32_t crc_table[256];

static void crc_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

/* The zlib / PNG CRC-32 (Python's zlib.crc32). */
static uint32_t crc32_of(const void *p, uint64_t n) {
    const uint8_t *b = p;
    uint32_t c = 0xFFFFFFFFu;
    for (uint64_t i = 0; i < n; i++)
        c = crc_table[(c ^ b[i]) & 0xff] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

static void put_hex(FILE *f, const char *prefix, const void *p, uint64_t n) {
    static const char dig[] = "0123456789abcdef";
    const uint8_t *b = p;
    fprintf(f, "\"%s", prefix);
    for (uint64_t i = 0; i < n; i++) {
        fputc(dig[b[i] >> 4], f);
        fputc(dig[b[i] & 15], f);
    }
    fputc('"', f);
}

static int fail(const char *what) {
    fprintf(stderr, "ggufpy-dump: %s: %s\n", what, bn_last_error());
    return 0;
}

static int is_signed(int t) {
    return t == BN_GGUF_I8 || t == BN_GGUF_I16 || t == BN_GGUF_I32 || t == BN_GGUF_I64;
}

static int is_int(int t) {
    return t == BN_GGUF_U8 || t == BN_GGUF_U16 || t == BN_GGUF_U32 || t == BN_GGUF_U64 || is_signed(t);
}

static void put_f32(FILE *f, float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    fprintf(f, "\"f32:%08" PRIx32 "\"", u);
}

static void put_f64(FILE *f, double x) {
    uint64_t u;
    memcpy(&u, &x, 8);
    fprintf(f, "\"f64:%016" PRIx64 "\"", u);
}

static int put_value(FILE *f, const bn_gguf_value *v);

/* Element i of array a, whose elements have type et. */
static int put_elem(FILE *f, const bn_gguf_value *a, int et, uint64_t i) {
    if (is_int(et)) {
        if (is_signed(et)) {
            int64_t x;
            if (bn_gguf_array_i64(a, i, &x) != BN_OK)
                return fail("array_i64");
            fprintf(f, "%" PRId64, x);
        } else {
            uint64_t x;
            if (bn_gguf_array_u64(a, i, &x) != BN_OK)
                return fail("array_u64");
            fprintf(f, "%" PRIu64, x);
        }
        return 1;
    }
    switch (et) {
    case BN_GGUF_F32:
    case BN_GGUF_F64: {
        double x;
        if (bn_gguf_array_f64(a, i, &x) != BN_OK)
            return fail("array_f64");
        if (et == BN_GGUF_F32)
            put_f32(f, (float)x); /* float -> double -> float is exact */
        else
            put_f64(f, x);
        return 1;
    }
    case BN_GGUF_BOOL: {
        int x;
        if (bn_gguf_array_bool(a, i, &x) != BN_OK)
            return fail("array_bool");
        fprintf(f, "%d", x ? 1 : 0);
        return 1;
    }
    case BN_GGUF_STR: {
        bn_gguf_str s;
        if (bn_gguf_array_str(a, i, &s) != BN_OK)
            return fail("array_str");
        put_hex(f, "s:", s.ptr, s.len);
        return 1;
    }
    case BN_GGUF_ARR: {
        const bn_gguf_value *e;
        if (bn_gguf_array_elem(a, i, &e) != BN_OK)
            return fail("array_elem");
        return put_value(f, e);
    }
    default:
        fprintf(stderr, "ggufpy-dump: array element type %d unknown\n", et);
        return 0;
    }
}

static int put_value(FILE *f, const bn_gguf_value *v) {
    int t = bn_gguf_value_type(v);
    if (is_int(t)) {
        if (is_signed(t)) {
            int64_t x;
            if (bn_gguf_value_i64(v, &x) != BN_OK)
                return fail("value_i64");
            fprintf(f, "%" PRId64, x);
        } else {
            uint64_t x;
            if (bn_gguf_value_u64(v, &x) != BN_OK)
                return fail("value_u64");
            fprintf(f, "%" PRIu64, x);
        }
        return 1;
    }
    switch (t) {
    case BN_GGUF_F32: {
        float x;
        if (bn_gguf_value_f32(v, &x) != BN_OK)
            return fail("value_f32");
        put_f32(f, x);
        return 1;
    }
    case BN_GGUF_F64: {
        double x;
        if (bn_gguf_value_f64(v, &x) != BN_OK)
            return fail("value_f64");
        put_f64(f, x);
        return 1;
    }
    case BN_GGUF_BOOL: {
        int x;
        if (bn_gguf_value_bool(v, &x) != BN_OK)
            return fail("value_bool");
        fprintf(f, "%d", x ? 1 : 0);
        return 1;
    }
    case BN_GGUF_STR: {
        const char *s;
        size_t n;
        if (bn_gguf_value_str(v, &s, &n) != BN_OK)
            return fail("value_str");
        put_hex(f, "s:", s, n);
        return 1;
    }
    case BN_GGUF_ARR: {
        int et = bn_gguf_array_type(v);
        uint64_t n = bn_gguf_array_len(v);
        fprintf(f, "{\"et\": %d, \"n\": %" PRIu64 ", \"items\": [", et, n);
        for (uint64_t i = 0; i < n; i++) {
            if (i)
                fputs(", ", f);
            if (!put_elem(f, v, et, i))
                return 0;
        }
        fputs("]}", f);
        return 1;
    }
    default:
        fprintf(stderr, "ggufpy-dump: value type %d unknown\n", t);
        return 0;
    }
}

/* Dequantise tensor t with the reference plugin into a new buffer. */
static float *dequantize(const bn_backend *be, bn_backend_ctx *ctx, const bn_gguf_tensor *t, char *err,
                         size_t err_len) {
    int64_t cols = t->ne[0], rows = t->n_elems / t->ne[0];
    bn_weight_src src = {.name = t->name, .type = (int32_t)t->ggml_type, .kernel = BN_KERNEL_AUTO,
                         .n_rows = rows, .n_cols = cols, .data = t->data, .size = (size_t)t->size,
                         .scale = 1.0f};
    bn_weight *w = NULL;
    if (be->weight_prepare(ctx, &src, &w) != BN_OK) {
        snprintf(err, err_len, "weight_prepare: %s", be->last_error(ctx));
        return NULL;
    }
    float *out = malloc(sizeof(float) * (size_t)t->n_elems);
    bn_tensor d = {.data = out, .type = BN_TYPE_F32, .ne = {cols, rows, 1, 1}};
    d.nb[0] = sizeof(float);
    d.nb[1] = d.nb[0] * cols;
    d.nb[2] = d.nb[3] = d.nb[1] * rows;
    if (!out || be->dequantize(ctx, w, 0, &d) != BN_OK) {
        snprintf(err, err_len, "dequantize: %s", out ? be->last_error(ctx) : "out of memory");
        free(out);
        out = NULL;
    }
    be->weight_free(ctx, w);
    return out;
}

static int deq_type(uint32_t id) {
    return id == BN_TYPE_F16 || id == BN_TYPE_BF16 || id == BN_TYPE_Q8_0 || id == BN_TYPE_Q6_K ||
           id == BN_TYPE_TQ1_0 || id == BN_TYPE_TQ2_0;
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: ggufpy-dump FILE.gguf [DEQ.bin]\n");
        return 2;
    }
    crc_init();
    bn_gguf *g = NULL;
    if (bn_gguf_open(argv[1], &g) != BN_OK) {
        fprintf(stderr, "ggufpy-dump: %s: %s\n", argv[1], bn_last_error());
        return 1;
    }
    FILE *deq = NULL;
    bn_engine *e = NULL;
    bn_settings settings;
    const bn_backend *be = NULL;
    bn_backend_ctx *ctx = NULL;
    int have_settings = 0;
    if (argc == 3) {
        bn_cli_overrides cli;
        bn_cli_overrides_init(&cli);
        cli.threads = 1;
        if (bn_settings_resolve(&cli, &settings) != BN_OK)
            return fail("settings"), 1;
        have_settings = 1;
        if (bn_engine_create(&settings, &e) != BN_OK || bn_engine_open_backend(e, "reference", &be, &ctx) != BN_OK)
            return fail("engine / reference plugin"), 1;
        if (!(deq = fopen(argv[2], "wb"))) {
            perror(argv[2]);
            return 1;
        }
    }
    FILE *f = stdout;
    uint64_t nkv = bn_gguf_kv_count(g), nt = bn_gguf_tensor_count(g);
    fprintf(f, "{\"version\": %" PRIu32 ", \"alignment\": %" PRIu32 ", \"data_offset\": %" PRIu64
               ", \"file_size\": %" PRIu64 ", \"kv_count\": %" PRIu64 ", \"tensor_count\": %" PRIu64
               ",\n\"kv\": [",
            bn_gguf_version(g), bn_gguf_alignment(g), bn_gguf_data_offset(g), bn_gguf_file_size(g), nkv, nt);
    int ok = 1;
    for (uint64_t i = 0; i < nkv && ok; i++) {
        const char *k = bn_gguf_kv_key(g, i);
        const bn_gguf_value *v = bn_gguf_kv_value(g, i);
        fputs(i ? ",\n{\"k\": " : "\n{\"k\": ", f);
        put_hex(f, "", k, strlen(k));
        fprintf(f, ", \"t\": %d, \"v\": ", bn_gguf_value_type(v));
        ok = put_value(f, v);
        fputs("}", f);
    }
    fputs("],\n\"tensors\": [", f);
    uint64_t deq_off = 0;
    for (uint64_t i = 0; i < nt && ok; i++) {
        const bn_gguf_tensor *t = bn_gguf_tensor_at(g, i);
        fputs(i ? ",\n{\"name\": " : "\n{\"name\": ", f);
        put_hex(f, "", t->name, strlen(t->name));
        fprintf(f, ", \"ggml_type\": %" PRIu32 ", \"type_name\": \"%s\", \"n_dims\": %d, \"ne\": [", t->ggml_type,
                t->type_name, (int)t->n_dims);
        for (int d = 0; d < BN_GGUF_MAX_DIMS; d++)
            fprintf(f, d ? ", %" PRId64 : "%" PRId64, t->ne[d]);
        fprintf(f, "], \"n_elems\": %" PRId64 ", \"offset\": %" PRIu64 ", \"file_offset\": %" PRIu64
                   ", \"size\": %" PRIu64 ", \"crc32\": %" PRIu32 ", \"supported\": %d, \"deq\": ",
                t->n_elems, t->offset, t->file_offset, t->size, crc32_of(t->data, t->size), t->supported ? 1 : 0);
        char err[512] = "";
        float *vals = deq && deq_type(t->ggml_type) ? dequantize(be, ctx, t, err, sizeof err) : NULL;
        if (vals) {
            fprintf(f, "[%" PRIu64 ", %" PRId64 "]", deq_off, t->n_elems);
            if (fwrite(vals, sizeof(float), (size_t)t->n_elems, deq) != (size_t)t->n_elems) {
                perror(argv[2]);
                ok = 0;
            }
            deq_off += sizeof(float) * (uint64_t)t->n_elems;
            free(vals);
        } else {
            fputs("null", f);
        }
        fputs(", \"deq_err\": ", f);
        put_hex(f, "", err, strlen(err));
        fputs("}", f);
    }
    fputs("]}\n", f);
    if (deq && fclose(deq) != 0) {
        perror(argv[2]);
        ok = 0;
    }
    bn_gguf_close(g);
    if (e)
        bn_engine_free(e);
    if (have_settings)
        bn_settings_free(&settings);
    if (fflush(f) != 0)
        ok = 0;
    return ok ? 0 : 1;
}
