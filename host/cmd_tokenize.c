/* `bitnet tokenize`: ids and pieces of a text under a model's tokenizer. */
#include <stdio.h>
#include <string.h>

#include <bitnet/gguf.h>
#include <bitnet/tokenizer.h>

#include "cli.h"

static int usage(FILE *f, int code) {
    fprintf(f, "usage: bitnet tokenize -m MODEL.gguf [options] TEXT\n\n"
               "Prints one line per token: id and piece. The model may be a vocab-only GGUF.\n\noptions:\n"
               "  -m, --model FILE       model or vocabulary GGUF (required)\n"
               "      --ids              print only the ids, on one line\n"
               "      --no-bos           do not add BOS/EOS as the tokenizer would\n"
               "      --no-parse-special treat special-token texts in TEXT as plain text\n"
               "  -h, --help             this text\n");
    return code;
}

int bn_cmd_tokenize(int argc, char **argv) {
    const char *model = NULL, *text = NULL;
    int ids_only = 0;
    unsigned flags = BN_TOK_ADD_SPECIAL | BN_TOK_PARSE_SPECIAL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help"))
            return usage(stdout, 0);
        if (bn_cli_matches(a, "-m", "--model")) {
            if (!(model = bn_cli_value(argc, argv, &i, "--model")))
                return 2;
        } else if (!strcmp(a, "--ids")) {
            ids_only = 1;
        } else if (!strcmp(a, "--no-bos")) {
            flags &= ~(unsigned)BN_TOK_ADD_SPECIAL;
        } else if (!strcmp(a, "--no-parse-special")) {
            flags &= ~(unsigned)BN_TOK_PARSE_SPECIAL;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "bitnet tokenize: unknown option '%s'\n", a);
            return usage(stderr, 2);
        } else if (!text) {
            text = a;
        } else {
            fprintf(stderr, "bitnet tokenize: give the text as one argument (quote it)\n");
            return 2;
        }
    }
    if (!model || !text)
        return usage(stderr, 2);
    bn_gguf *g;
    bn_vocab *v = NULL;
    if (bn_gguf_open(model, &g) != BN_OK) {
        bn_cli_error("cannot read the model");
        return 1;
    }
    int rc = 1;
    bn_tokens t = {0};
    if (bn_vocab_load_gguf(g, &v) != BN_OK)
        bn_cli_error("cannot read the tokenizer");
    else if (bn_tokenize(v, text, strlen(text), flags, &t) != BN_OK)
        bn_cli_error("tokenizing");
    else {
        bn_tokens_print(stdout, v, t.ids, t.n, ids_only);
        rc = 0;
    }
    bn_tokens_free(&t);
    bn_vocab_free(v);
    bn_gguf_close(g);
    return rc;
}
