/* `bitnet run`: generate text from a prompt, streaming to stdout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "generate.h"

static int usage(FILE *f, int code) {
    fprintf(f, "usage: bitnet run [-m MODEL] -p PROMPT [options]\n\n"
               "Generates text after PROMPT and streams it to stdout; timings go to stderr.\n\noptions:\n"
               "  -p, --prompt TEXT      the prompt (or -f FILE)\n"
               "  -f, --file FILE        read the prompt from FILE\n"
               "      --no-bos           do not add the model's BOS token\n" BN_MODEL_OPTS_HELP BN_SAMPLING_OPTS_HELP
                   BN_COMMON_OPTS_HELP "  -h, --help             this text\n");
    return code;
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf)
        buf[n] = 0;
    fclose(f);
    return buf;
}

int bn_cmd_run(int argc, char **argv) {
    bn_host_opts o;
    bn_host_opts_init(&o);
    const char *prompt = NULL, *file = NULL;
    int no_bos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help"))
            return usage(stdout, 0);
        if (bn_cli_matches(a, "-p", "--prompt")) {
            if (!(prompt = bn_cli_value(argc, argv, &i, "--prompt")))
                return 2;
            continue;
        }
        if (bn_cli_matches(a, "-f", "--file")) {
            if (!(file = bn_cli_value(argc, argv, &i, "--file")))
                return 2;
            continue;
        }
        if (!strcmp(a, "--no-bos")) {
            no_bos = 1;
            continue;
        }
        int r = bn_host_opt(argc, argv, &i, &o);
        if (r < 0)
            return 2;
        if (r == 0) {
            fprintf(stderr, "bitnet run: unknown option '%s'\n", a);
            return usage(stderr, 2);
        }
    }
    char *file_text = NULL;
    if (file && !(file_text = read_file(file))) {
        fprintf(stderr, "bitnet run: cannot read prompt file '%s'\n", file);
        return 1;
    }
    if (!prompt && !file_text) {
        fprintf(stderr, "bitnet run: give a prompt with -p TEXT or -f FILE\n");
        return usage(stderr, 2);
    }
    if (bn_sampler_params_check(&o.sp) != BN_OK) {
        bn_cli_error("sampling options");
        free(file_text);
        return 2;
    }
    bn_host h;
    if (bn_host_open(&o, 1, &h)) {
        free(file_text);
        return 1;
    }
    int rc = 1;
    bn_session *s = NULL;
    bn_sampler *smp = NULL;
    bn_tokens toks = {0};
    const char *text = file_text ? file_text : prompt;
    unsigned flags = no_bos ? 0 : BN_TOK_ADD_SPECIAL;
    if (bn_tokenize(h.vocab, text, strlen(text), flags, &toks) != BN_OK)
        bn_cli_error("tokenizing the prompt");
    else if (toks.n == 0)
        fprintf(stderr, "bitnet run: the prompt is empty\n");
    else if (bn_session_create(h.model, &s) != BN_OK)
        bn_cli_error("creating a session");
    else if (bn_sampler_create(&o.sp, bn_model_hparams(h.model)->n_vocab, &smp) != BN_OK)
        bn_cli_error("creating the sampler");
    else if ((int64_t)toks.n >= bn_session_n_ctx(s))
        fprintf(stderr, "bitnet run: the prompt is %zu tokens but the context holds %d; use a larger -c\n", toks.n,
                bn_session_n_ctx(s));
    else {
        fwrite(text, 1, strlen(text), stdout);
        bn_gen_stats st = {0};
        int32_t last;
        rc = bn_generate(&h, s, smp, toks.ids, toks.n, o.n_predict, text[0] == '\0', stdout, &last, &st);
        if (rc == 0)
            bn_gen_stats_print(stderr, &st);
    }
    bn_tokens_free(&toks);
    bn_sampler_free(smp);
    bn_session_free(s);
    bn_host_close(&h);
    free(file_text);
    return rc;
}
