/* Parity with Hugging Face tokenizers on the corpus gen_parity.py wrote:
 * every string must give HF's ids (raw bytes in, ill-formed UTF-8
 * replaced by us as Python's errors="replace" does), and decoding those
 * ids must give HF's decoded text.
 * Usage: test-tok-parity <dir with tokenizer.json> <corpus.bin> */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tok_test_util.h"

static int read_u32(FILE *f, uint32_t *v) { return fread(v, 4, 1, f) == 1; }

static void print_ids(const char *what, const int32_t *ids, size_t n) {
    fprintf(stderr, "    %s:", what);
    for (size_t i = 0; i < n && i < 60; i++)
        fprintf(stderr, " %d", ids[i]);
    fprintf(stderr, n > 60 ? " ...\n" : "\n");
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s <tokenizer dir> <corpus.bin>\n", argv[0]);
        return 2;
    }
    bn_vocab *v;
    if (bn_tokenizer_import_hf(argv[1], NULL, &v) != BN_OK) {
        fprintf(stderr, "import %s: %s\n", argv[1], bn_last_error());
        return 1;
    }
    FILE *f = fopen(argv[2], "rb");
    char magic[6];
    uint32_t count;
    if (!f || fread(magic, 1, 6, f) != 6 || memcmp(magic, "BNTP1\n", 6) || !read_u32(f, &count)) {
        fprintf(stderr, "cannot read corpus %s\n", argv[2]);
        return 1;
    }
    bn_tokenizer *tk;
    if (bn_tokenizer_create(v, &tk) != BN_OK)
        return 1;
    size_t bad_ids = 0, bad_text = 0, n_tokens = 0;
    double secs = 0;
    for (uint32_t k = 0; k < count; k++) {
        uint32_t len, n_ids = 0, n_dec = 0;
        if (!read_u32(f, &len)) {
            fprintf(stderr, "corpus truncated at string %u\n", k);
            return 1;
        }
        char *text = malloc(len + 1);
        int ok = fread(text, 1, len, f) == len && read_u32(f, &n_ids);
        int32_t *want = malloc((n_ids + 1) * sizeof *want);
        ok = ok && fread(want, 4, n_ids, f) == n_ids && read_u32(f, &n_dec);
        char *dec = malloc(n_dec + 1);
        ok = ok && fread(dec, 1, n_dec, f) == n_dec;
        if (!ok) {
            fprintf(stderr, "corpus truncated at string %u\n", k);
            return 1;
        }
        bn_tokens t = {0};
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        bn_status st = bn_tokenizer_encode(tk, text, len, BN_TOK_PARSE_SPECIAL, &t);
        clock_gettime(CLOCK_MONOTONIC, &b);
        secs += (double)(b.tv_sec - a.tv_sec) + 1e-9 * (double)(b.tv_nsec - a.tv_nsec);
        n_tokens += t.n;
        if (st != BN_OK || t.n != n_ids || (n_ids && memcmp(t.ids, want, n_ids * 4))) {
            if (bad_ids++ < 10) {
                fprintf(stderr, "string %u: ids differ: '", k);
                tok_print_escaped(text, len);
                fprintf(stderr, "'\n");
                print_ids("hf ", want, n_ids);
                print_ids("ours", t.ids, t.n);
            }
        }
        bn_text out = {0};
        st = bn_detokenize(v, want, n_ids, BN_DETOK_SPECIAL, &out);
        if (st != BN_OK || out.len != n_dec || memcmp(out.data, dec, n_dec)) {
            if (bad_text++ < 10) {
                fprintf(stderr, "string %u: decoded text differs:\n    hf  : '", k);
                tok_print_escaped(dec, n_dec);
                fprintf(stderr, "'\n    ours: '");
                tok_print_escaped(out.data ? out.data : "", out.len);
                fprintf(stderr, "'\n");
            }
        }
        bn_text_free(&out);
        bn_tokens_free(&t);
        free(text);
        free(want);
        free(dec);
    }
    fclose(f);
    bn_tokenizer_free(tk);
    bn_vocab_free(v);
    printf("parity: %u strings, %zu tokens: %zu id mismatches, %zu decode mismatches "
           "(encode %.0f tokens/s)\n",
           count, n_tokens, bad_ids, bad_text, secs > 0 ? (double)n_tokens / secs : 0.0);
    return bad_ids || bad_text || count < 10000 ? 1 : 0;
}
