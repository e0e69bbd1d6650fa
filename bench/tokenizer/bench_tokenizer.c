/* Tokenizer benchmark: vocab load time from GGUF and encoding speed on one
 * core (see run_bench.sh, which also runs HF tokenizers on the same chunks).
 *   bench-tokenizer import <hf tokenizer dir> <out.gguf>
 *   bench-tokenizer run <vocab.gguf> <chunks.bin> [runs] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bitnet/tokenizer.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int do_import(const char *dir, const char *out) {
    bn_gguf_writer *w;
    if (bn_gguf_writer_create(&w) != BN_OK || bn_tokenizer_import_hf(dir, w, NULL) != BN_OK ||
        bn_gguf_writer_write(w, out) != BN_OK) {
        fprintf(stderr, "import: %s\n", bn_last_error());
        return 1;
    }
    bn_gguf_writer_free(w);
    return 0;
}

typedef struct chunks {
    size_t n;
    char **p;
    size_t *len;
    size_t bytes;
} chunks;

static int read_chunks(const char *path, chunks *c) {
    FILE *f = fopen(path, "rb");
    char magic[6];
    uint32_t n;
    if (!f || fread(magic, 1, 6, f) != 6 || memcmp(magic, "BNTC1\n", 6) || fread(&n, 4, 1, f) != 1)
        return -1;
    c->n = n;
    c->p = calloc(n, sizeof *c->p);
    c->len = calloc(n, sizeof *c->len);
    c->bytes = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t k;
        if (fread(&k, 4, 1, f) != 1 || !(c->p[i] = malloc(k + 1)) || fread(c->p[i], 1, k, f) != k)
            return -1;
        c->len[i] = k;
        c->bytes += k;
    }
    fclose(f);
    return 0;
}

static int do_run(const char *gguf, const char *chunk_path, int runs) {
    /* Load time: open + validate the file, build the vocab (best of 5). */
    double best_load = 1e9;
    bn_vocab *v = NULL;
    bn_gguf *g = NULL;
    for (int r = 0; r < 5; r++) {
        if (v) {
            bn_vocab_free(v);
            bn_gguf_close(g);
        }
        double t0 = now();
        if (bn_gguf_open(gguf, &g) != BN_OK || bn_vocab_load_gguf(g, &v) != BN_OK) {
            fprintf(stderr, "load %s: %s\n", gguf, bn_last_error());
            return 1;
        }
        double dt = now() - t0;
        if (dt < best_load)
            best_load = dt;
    }
    printf("load %d tokens from GGUF: %.1f ms\n", bn_vocab_n_tokens(v), best_load * 1e3);
    chunks c;
    if (read_chunks(chunk_path, &c) != 0) {
        fprintf(stderr, "cannot read %s\n", chunk_path);
        return 1;
    }
    bn_tokenizer *tk;
    if (bn_tokenizer_create(v, &tk) != BN_OK)
        return 1;
    bn_tokens t = {0};
    double best = 1e9;
    size_t n_tokens = 0;
    for (int r = 0; r < runs; r++) {
        n_tokens = 0;
        double t0 = now();
        for (size_t i = 0; i < c.n; i++) {
            t.n = 0;
            if (bn_tokenizer_encode(tk, c.p[i], c.len[i], 0, &t) != BN_OK) {
                fprintf(stderr, "encode: %s\n", bn_last_error());
                return 1;
            }
            n_tokens += t.n;
        }
        double dt = now() - t0;
        if (dt < best)
            best = dt;
    }
    printf("ours %zu tokens %.3f s %.0f tokens/s (%.1f MB/s)\n", n_tokens, best,
           (double)n_tokens / best, (double)c.bytes / best / 1e6);
    bn_tokens_free(&t);
    bn_tokenizer_free(tk);
    for (size_t i = 0; i < c.n; i++)
        free(c.p[i]);
    free(c.p);
    free(c.len);
    bn_vocab_free(v);
    bn_gguf_close(g);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "import") == 0)
        return do_import(argv[2], argv[3]);
    if ((argc == 4 || argc == 5) && strcmp(argv[1], "run") == 0)
        return do_run(argv[2], argv[3], argc == 5 ? atoi(argv[4]) : 3);
    fprintf(stderr, "usage: %s import <hf dir> <out.gguf> | run <vocab.gguf> <chunks.bin> [runs]\n",
            argv[0]);
    return 2;
}
