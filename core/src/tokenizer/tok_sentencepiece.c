/* Reader for SentencePiece's tokenizer.model (a protobuf ModelProto): the
 * pieces with their scores and types, and add_dummy_prefix. Only these
 * fields are decoded; everything else is skipped by wire type.
 *   ModelProto:     1 = repeated SentencePiece, 3 = NormalizerSpec
 *   SentencePiece:  1 = piece (string), 2 = score (float), 3 = type (enum,
 *                   numbered as tokenizer.ggml.token_type)
 *   NormalizerSpec: 3 = add_dummy_prefix (bool, default true) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok_internal.h"
#include "tok_sentencepiece.h"

typedef struct rd {
    const unsigned char *p, *end;
} rd;

static int varint(rd *r, uint64_t *v) {
    *v = 0;
    for (int shift = 0; shift < 64 && r->p < r->end; shift += 7) {
        unsigned char b = *r->p++;
        *v |= (uint64_t)(b & 0x7F) << shift;
        if (!(b & 0x80))
            return 1;
    }
    return 0;
}

/* Next field: its number, wire type, and for wire type 2 the payload. */
static int field(rd *r, uint32_t *num, int *wt, rd *sub, uint64_t *val) {
    uint64_t key;
    if (!varint(r, &key))
        return 0;
    *num = (uint32_t)(key >> 3);
    *wt = (int)(key & 7);
    switch (*wt) {
    case 0:
        return varint(r, val);
    case 1:
    case 5: {
        size_t n = *wt == 1 ? 8 : 4;
        if ((size_t)(r->end - r->p) < n)
            return 0;
        *val = 0;
        memcpy(val, r->p, n); /* little-endian host */
        r->p += n;
        return 1;
    }
    case 2: {
        uint64_t n;
        if (!varint(r, &n) || n > (uint64_t)(r->end - r->p))
            return 0;
        sub->p = r->p;
        sub->end = r->p + n;
        r->p += n;
        return 1;
    }
    default:
        return 0;
    }
}

static int read_piece(rd m, bn_spm_model *out) {
    bn_gguf_str piece = {"", 0};
    float score = 0;
    int32_t type = BN_TOKEN_NORMAL;
    while (m.p < m.end) {
        uint32_t num;
        int wt;
        rd sub;
        uint64_t val;
        if (!field(&m, &num, &wt, &sub, &val))
            return 0;
        if (num == 1 && wt == 2)
            piece = (bn_gguf_str){(const char *)sub.p, (uint64_t)(sub.end - sub.p)};
        else if (num == 2 && wt == 5) {
            uint32_t bits = (uint32_t)val;
            memcpy(&score, &bits, 4);
        } else if (num == 3 && wt == 0)
            type = (int32_t)val;
    }
    if (out->n == out->cap) {
        size_t cap = out->cap ? out->cap * 2 : 1024;
        bn_gguf_str *p = realloc(out->pieces, cap * sizeof *p);
        float *s = realloc(out->scores, cap * sizeof *s);
        int32_t *t = realloc(out->types, cap * sizeof *t);
        if (p)
            out->pieces = p;
        if (s)
            out->scores = s;
        if (t)
            out->types = t;
        if (!p || !s || !t)
            return 0;
        out->cap = cap;
    }
    out->pieces[out->n] = piece;
    out->scores[out->n] = score;
    out->types[out->n] = type;
    out->n++;
    return 1;
}

bn_status bn_spm_model_read(const char *path, bn_spm_model *out) {
    memset(out, 0, sizeof *out);
    out->add_dummy_prefix = 1;
    FILE *f = fopen(path, "rb");
    if (!f)
        return bn_fail(BN_ERR_NOT_FOUND, "tokenizer import: cannot open %s", path);
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        size = ftell(f);
    if (size > 0 && fseek(f, 0, SEEK_SET) == 0)
        out->data = malloc((size_t)size);
    size_t got = out->data ? fread(out->data, 1, (size_t)size, f) : 0;
    fclose(f);
    if (!out->data || got != (size_t)size) {
        bn_spm_model_free(out);
        return bn_fail(BN_ERR_IO, "tokenizer import: cannot read %s", path);
    }
    rd r = {out->data, out->data + size};
    while (r.p < r.end) {
        uint32_t num;
        int wt;
        rd sub;
        uint64_t val;
        int ok = field(&r, &num, &wt, &sub, &val);
        if (ok && num == 1 && wt == 2)
            ok = read_piece(sub, out);
        else if (ok && num == 3 && wt == 2) {
            while (ok && sub.p < sub.end) {
                uint32_t n2;
                int w2;
                rd s2;
                uint64_t v2;
                ok = field(&sub, &n2, &w2, &s2, &v2);
                if (ok && n2 == 3 && w2 == 0)
                    out->add_dummy_prefix = v2 != 0;
            }
        }
        if (!ok) {
            bn_spm_model_free(out);
            return bn_fail(BN_ERR_FORMAT, "tokenizer import: %s is not a SentencePiece model", path);
        }
    }
    if (out->n == 0) {
        bn_spm_model_free(out);
        return bn_fail(BN_ERR_FORMAT, "tokenizer import: %s has no pieces", path);
    }
    return BN_OK;
}

void bn_spm_model_free(bn_spm_model *m) {
    free(m->data);
    free(m->pieces);
    free(m->scores);
    free(m->types);
    memset(m, 0, sizeof *m);
}
