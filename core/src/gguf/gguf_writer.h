/* GGUF writer state shared by gguf_writer.c (building) and
 * gguf_write_file.c (serialising). */
#ifndef BITNET_GGUF_WRITER_H
#define BITNET_GGUF_WRITER_H

#include "gguf_internal.h"

/* Growable byte buffer; `oom` sticks after the first failed growth. */
typedef struct gguf_buf {
    uint8_t *p;
    size_t len, cap;
    int oom;
} gguf_buf;

void gguf_buf_put(gguf_buf *b, const void *data, size_t n);
void gguf_buf_u32(gguf_buf *b, uint32_t v);
void gguf_buf_u64(gguf_buf *b, uint64_t v);
void gguf_buf_str(gguf_buf *b, const char *s, uint64_t len);

typedef struct gguf_wkv {
    char *key;
    gguf_buf val; /* value type (uint32) followed by the encoded value */
} gguf_wkv;

typedef struct gguf_wtensor {
    char *name;
    uint32_t type;
    uint32_t n_dims;
    int64_t ne[BN_GGUF_MAX_DIMS];
    uint64_t size;
    uint64_t offset; /* assigned when writing */
    const void *data;
    bn_gguf_fill_fn fill;
    void *arg;
} gguf_wtensor;

struct bn_gguf_writer {
    gguf_wkv *kv;
    size_t n_kv, cap_kv;
    gguf_wtensor *t;
    size_t n_t, cap_t;
};

#endif
