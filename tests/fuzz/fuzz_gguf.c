/* libFuzzer target: bn_gguf_open_memory on arbitrary bytes, then every
 * getter on every value and every tensor. Anything that opens must be safe
 * to read completely; ASan/UBSan turn a bad read into a crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bitnet/gguf.h"

static volatile uint64_t sink;

static void touch_value(const bn_gguf_value *v, int depth) {
    uint32_t u32; int32_t i32; uint64_t u64; int64_t i64; float f32; double f64; int b;
    const char *s; size_t len;
    bn_gguf_value_u32(v, &u32); bn_gguf_value_i32(v, &i32);
    bn_gguf_value_u64(v, &u64); bn_gguf_value_i64(v, &i64);
    bn_gguf_value_f32(v, &f32); bn_gguf_value_f64(v, &f64);
    bn_gguf_value_bool(v, &b);
    if (bn_gguf_value_str(v, &s, &len) == BN_OK) {
        if (s[len] != 0) /* must be NUL-terminated at len */
            __builtin_trap();
        if (len)
            sink += (uint8_t)s[len - 1];
    }
    if (bn_gguf_array_type(v) < 0 || depth > 10)
        return;
    uint64_t n = bn_gguf_array_len(v);
    for (uint64_t i = 0; i < n && i < 64; i++) {
        bn_gguf_str str;
        const bn_gguf_value *e;
        bn_gguf_array_i64(v, i, &i64); bn_gguf_array_u64(v, i, &u64);
        bn_gguf_array_f64(v, i, &f64); bn_gguf_array_bool(v, i, &b);
        if (bn_gguf_array_str(v, i, &str) == BN_OK && str.len)
            sink += (uint8_t)str.ptr[0] + (uint8_t)str.ptr[str.len - 1];
        if (bn_gguf_array_elem(v, i, &e) == BN_OK)
            touch_value(e, depth + 1);
    }
    /* the last element too, to check the far end of long arrays */
    if (n) {
        bn_gguf_str str;
        if (bn_gguf_array_str(v, n - 1, &str) == BN_OK && str.len)
            sink += (uint8_t)str.ptr[str.len - 1];
        bn_gguf_array_i64(v, n - 1, &i64);
        bn_gguf_array_f64(v, n - 1, &f64);
    }
    bn_gguf_array_i64(v, n, &i64); /* out of range: must fail cleanly */
    if (n <= 4096) {
        int32_t ibuf[4096];
        float fbuf[4096];
        bn_gguf_array_copy_i32(v, ibuf, n);
        bn_gguf_array_copy_f32(v, fbuf, n);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    bn_gguf *g = NULL;
    if (bn_gguf_open_memory(data, size, &g) != BN_OK) {
        if (g)
            __builtin_trap();
        return 0;
    }
    bn_gguf_writer *w = NULL;
    bn_gguf_writer_create(&w);
    for (uint64_t i = 0; i < bn_gguf_kv_count(g); i++) {
        const char *key = bn_gguf_kv_key(g, i);
        const bn_gguf_value *v = bn_gguf_kv_value(g, i);
        if (!key || !v || bn_gguf_find(g, key) != v)
            __builtin_trap();
        touch_value(v, 0);
        if (w)
            bn_gguf_writer_set_value(w, key, v); /* re-encoding must be safe too */
    }
    bn_gguf_writer_free(w);
    uint32_t u32; const char *s; const bn_gguf_value *arr; uint64_t n;
    bn_gguf_get_u32(g, "general.alignment", &u32);
    bn_gguf_get_str(g, "general.architecture", &s, NULL);
    bn_gguf_get_array(g, "tokenizer.ggml.tokens", BN_GGUF_STR, &arr, &n);
    uint64_t end = bn_gguf_file_size(g);
    for (uint64_t i = 0; i < bn_gguf_tensor_count(g); i++) {
        const bn_gguf_tensor *t = bn_gguf_tensor_at(g, i);
        if (!t || bn_gguf_find_tensor(g, t->name) != t)
            __builtin_trap();
        if (t->n_dims < 1 || t->n_dims > 4 || !t->size || t->file_offset + t->size > end ||
            t->file_offset % bn_gguf_alignment(g))
            __builtin_trap();
        const uint8_t *p = t->data;
        sink += p[0] + p[t->size - 1];
        bn_gguf_require_tensor(g, t->name, NULL);
    }
    bn_gguf_close(g);
    return 0;
}
