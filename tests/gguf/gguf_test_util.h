/* Helpers for the GGUF tests: hand-built file images (independent of the
 * writer under test) and a per-process temp dir. */
#ifndef GGUF_TEST_UTIL_H
#define GGUF_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Growable byte image, little-endian fields as GGUF stores them. */
typedef struct img {
    uint8_t *p;
    size_t len, cap;
} img;

void img_bytes(img *b, const void *p, size_t n);
void img_u8(img *b, uint8_t v);
void img_u32(img *b, uint32_t v);
void img_u64(img *b, uint64_t v);
void img_str(img *b, const char *s);
void img_pad(img *b, size_t align); /* zeros up to a multiple of align */
void img_fill(img *b, size_t n, uint8_t v);

/* One tensor-table entry as written to the file (no validation). */
typedef struct tinfo {
    const char *name;
    uint32_t n_dims;
    uint64_t ne[5];
    uint32_t type;
    uint64_t offset;
} tinfo;

/* Header + one string kv (general.architecture = "test") + tensor table,
 * padded to 32, then data_len bytes of 0xAB. */
void img_model(img *b, uint32_t version, const tinfo *t, int n, uint64_t data_len);

/* A fresh directory under $TMPDIR (or /tmp), removed by tmp_cleanup. */
const char *tmp_dir(void);
void tmp_path(char *buf, size_t len, const char *name);
void tmp_cleanup(void);
int write_file(const char *path, const void *p, size_t n);
uint8_t *read_file(const char *path, size_t *n);

#endif
