/* A small SentencePiece tokenizer.model (protobuf ModelProto) built in
 * memory: <unk> <s> </s>, the 256 <0xXX> byte pieces, "▁" and a few
 * words with descending scores, a trainer_spec to skip and a
 * normalizer_spec with add_dummy_prefix. Used as the fixed tokenizer.model
 * beside fuzzed tokenizer.json files and as a seed of the spm corpus. */
#ifndef BITNET_FUZZ_SPM_MODEL_H
#define BITNET_FUZZ_SPM_MODEL_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef struct fz_buf {
    unsigned char *p;
    size_t n, cap;
} fz_buf;

static inline void fz_put(fz_buf *b, const void *d, size_t n) {
    if (b->n + n > b->cap) {
        size_t cap = (b->n + n) * 2 + 64;
        unsigned char *q = realloc(b->p, cap);
        if (!q)
            abort();
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}

static inline void fz_varint(fz_buf *b, uint64_t v) {
    do {
        unsigned char c = (unsigned char)(v & 0x7F);
        v >>= 7;
        if (v)
            c |= 0x80;
        fz_put(b, &c, 1);
    } while (v);
}

static inline void fz_bytes_field(fz_buf *b, uint32_t num, const void *d, size_t n) {
    fz_varint(b, (uint64_t)num << 3 | 2);
    fz_varint(b, n);
    fz_put(b, d, n);
}

static inline void fz_piece(fz_buf *b, const char *text, float score, int type) {
    fz_buf m = {0};
    fz_bytes_field(&m, 1, text, strlen(text));
    fz_varint(&m, 2 << 3 | 5);
    fz_put(&m, &score, 4);
    if (type != 1) { /* NORMAL is the default: leave it out as protobuf does */
        fz_varint(&m, 3 << 3 | 0);
        fz_varint(&m, (uint64_t)type);
    }
    fz_bytes_field(b, 1, m.p, m.n);
    free(m.p);
}

/* Caller frees b->p. */
static inline void fz_spm_model(fz_buf *b, int add_dummy_prefix) {
    memset(b, 0, sizeof *b);
    fz_piece(b, "<unk>", 0, 2);
    fz_piece(b, "<s>", 0, 3);
    fz_piece(b, "</s>", 0, 3);
    for (int i = 0; i < 256; i++) {
        char t[8];
        snprintf(t, sizeof t, "<0x%02X>", i);
        fz_piece(b, t, 0, 6);
    }
    static const char *const words[] = {
        "\xe2\x96\x81", "\xe2\x96\x81t", "he", "\xe2\x96\x81the", "\xe2\x96\x81\x61", "in", "er", "on", "\xe2\x96\x81H",
        "ello", "\xe2\x96\x81w", "or", "ld", "\xe2\x96\x81world", "e", "t", "a", "o", "i", "n", "s", "h", "r", "l",
        "d", "w", "H", "!", ".", "\xe4\xbd\xa0", "\xe5\xa5\xbd"};
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        fz_piece(b, words[i], -(float)i, 1);
    fz_piece(b, "<pad>", 0, 4); /* user-defined */
    fz_piece(b, "<unused0>", 0, 5);
    /* trainer_spec (field 2): skipped by the reader */
    fz_buf t = {0};
    fz_bytes_field(&t, 1, "input.txt", 9);
    fz_varint(&t, 3 << 3 | 0); /* model_type */
    fz_varint(&t, 2);
    fz_bytes_field(b, 2, t.p, t.n);
    free(t.p);
    /* normalizer_spec (field 3) */
    fz_buf ns = {0};
    fz_bytes_field(&ns, 1, "identity", 8);
    fz_varint(&ns, 3 << 3 | 0);
    fz_varint(&ns, (uint64_t)add_dummy_prefix);
    fz_varint(&ns, 4 << 3 | 0); /* remove_extra_whitespaces */
    fz_varint(&ns, 0);
    fz_bytes_field(b, 3, ns.p, ns.n);
    free(ns.p);
}

#endif
