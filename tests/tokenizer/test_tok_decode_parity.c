/* Decode parity with Hugging Face tokenizers on the sequences
 * gen_decode_parity.py wrote (HF decode with skip_special_tokens=True).
 * bn_detokenize pushes one token at a time through the streaming decoder
 * (bn_detok_push), as `bitnet run` prints text, so this is that path.
 * Usage: test-tok-decode-parity spm <vocab.gguf> <seqs.bin>
 *        test-tok-decode-parity json <dir with tokenizer.json> <seqs.bin> */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok_test_util.h"

static int read_u32(FILE *f, uint32_t *v) { return fread(v, 4, 1, f) == 1; }

static void show(const char *what, const char *s, size_t n) {
    fprintf(stderr, "    %s: '", what);
    tok_print_escaped(s, n);
    fprintf(stderr, "'\n");
}

static bn_status load_vocab(const char *kind, const char *path, bn_vocab **v) {
    if (!strcmp(kind, "json"))
        return bn_tokenizer_import_hf(path, NULL, v);
    bn_gguf *g;
    bn_status st = bn_gguf_open(path, &g);
    if (st == BN_OK) {
        st = bn_vocab_load_gguf(g, v);
        bn_gguf_close(g);
    }
    return st;
}

static int same(const bn_text *t, const char *want, size_t n) {
    return t->len == n && (n == 0 || memcmp(t->data, want, n) == 0);
}

int main(int argc, char **argv) {
    if (argc != 4 || (strcmp(argv[1], "spm") && strcmp(argv[1], "json"))) {
        fprintf(stderr, "usage: %s spm|json <vocab> <seqs.bin>\n", argv[0]);
        return 2;
    }
    bn_vocab *v;
    if (load_vocab(argv[1], argv[2], &v) != BN_OK) {
        fprintf(stderr, "vocab %s: %s\n", argv[2], bn_last_error());
        return 1;
    }
    /* SentencePiece decoders strip the space their encoder prefixed. */
    unsigned flags = !strcmp(argv[1], "spm") ? BN_DETOK_STRIP_PREFIX : 0;
    FILE *f = fopen(argv[3], "rb");
    char magic[6];
    uint32_t count;
    if (!f || fread(magic, 1, 6, f) != 6 || memcmp(magic, "BNDP1\n", 6) || !read_u32(f, &count)) {
        fprintf(stderr, "cannot read %s\n", argv[3]);
        return 1;
    }
    size_t bad = 0, n_tokens = 0;
    for (uint32_t k = 0; k < count; k++) {
        uint32_t n_ids, n_dec;
        int32_t *ids = NULL;
        char *dec = NULL;
        int ok = read_u32(f, &n_ids) && (ids = malloc((n_ids + 1) * sizeof *ids)) &&
                 fread(ids, 4, n_ids, f) == n_ids && read_u32(f, &n_dec) && (dec = malloc(n_dec + 1)) &&
                 fread(dec, 1, n_dec, f) == n_dec;
        if (!ok) {
            fprintf(stderr, "%s truncated at sequence %u\n", argv[3], k);
            return 1;
        }
        n_tokens += n_ids;
        bn_text ours = {0};
        bn_status st = bn_detokenize(v, ids, n_ids, flags, &ours);
        if (st != BN_OK || !same(&ours, dec, n_dec)) {
            if (bad++ < 10) {
                fprintf(stderr, "sequence %u (%u ids, first %d) decodes differently:\n", k, n_ids,
                        n_ids ? ids[0] : -1);
                show("hf  ", dec, n_dec);
                show("ours", ours.data ? ours.data : "", ours.len);
            }
        }
        bn_text_free(&ours);
        free(ids);
        free(dec);
    }
    fclose(f);
    bn_vocab_free(v);
    printf("decode parity (%s): %u sequences, %zu tokens: %zu mismatches\n", argv[1], count, n_tokens, bad);
    return bad || count < 1000 ? 1 : 0;
}
