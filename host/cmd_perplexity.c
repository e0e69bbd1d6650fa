/* `bitnet perplexity`: exp(mean negative log-likelihood) of a text file,
 * over chunks of the context length; the first half of each chunk is
 * context only (as llama.cpp's perplexity tool does) unless told otherwise. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_setup.h"

static int usage(FILE *f, int code) {
    fprintf(f, "usage: bitnet perplexity [-m MODEL] -f FILE [options]\n\n"
               "Splits the tokenized FILE into chunks of the context length (-c, default 512), starts each chunk\n"
               "with BOS when the model uses one, and scores every token after position --score-from.\n\noptions:\n"
               "  -f, --file FILE        text to score (required)\n"
               "      --score-from N     first scored position in a chunk (default: half the chunk)\n"
               "      --chunks N         score at most N chunks\n" BN_MODEL_OPTS_HELP BN_COMMON_OPTS_HELP
               "  -h, --help             this text\n");
    return code;
}

static char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    size_t k;
    while (buf && (k = fread(buf + len, 1, cap - len, f)) > 0) {
        len += k;
        if (len == cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) {
                free(buf);
                buf = NULL;
            }
            buf = nb;
        }
    }
    fclose(f);
    *n = len;
    return buf;
}

int bn_cmd_perplexity(int argc, char **argv) {
    bn_host_opts o;
    bn_host_opts_init(&o);
    const char *file = NULL, *v;
    int score_from = -1, max_chunks = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help"))
            return usage(stdout, 0);
        if (bn_cli_matches(a, "-f", "--file")) {
            if (!(file = bn_cli_value(argc, argv, &i, "--file")))
                return 2;
        } else if (bn_cli_matches(a, NULL, "--score-from")) {
            if (!(v = bn_cli_value(argc, argv, &i, "--score-from")) || !bn_cli_int(v, "--score-from", 1, 1 << 24, &score_from))
                return 2;
        } else if (bn_cli_matches(a, NULL, "--chunks")) {
            if (!(v = bn_cli_value(argc, argv, &i, "--chunks")) || !bn_cli_int(v, "--chunks", 1, 1 << 24, &max_chunks))
                return 2;
        } else {
            int r = bn_host_opt(argc, argv, &i, &o);
            if (r < 0)
                return 2;
            if (r == 0) {
                fprintf(stderr, "bitnet perplexity: unknown option '%s'\n", a);
                return usage(stderr, 2);
            }
        }
    }
    if (!file) {
        fprintf(stderr, "bitnet perplexity: give the text with -f FILE\n");
        return usage(stderr, 2);
    }
    size_t len;
    char *text = slurp(file, &len);
    if (!text) {
        fprintf(stderr, "bitnet perplexity: cannot read '%s'\n", file);
        return 1;
    }
    if (o.n_ctx == 0)
        o.n_ctx = 512;
    o.n_batch = o.n_ctx < 512 ? o.n_ctx : 512;
    bn_host h;
    if (bn_host_open(&o, 1, &h)) {
        free(text);
        return 1;
    }
    int rc = 1, n_ctx = o.n_ctx, nv = bn_model_hparams(h.model)->n_vocab;
    int first = score_from > 0 ? score_from : n_ctx / 2;
    bn_tokens toks = {0};
    bn_session *s = NULL;
    float *logits = malloc(sizeof *logits * (size_t)n_ctx * (size_t)nv);
    int32_t bos = bn_vocab_add_bos(h.vocab) ? bn_vocab_bos(h.vocab) : -1;
    if (!logits || bn_tokenize(h.vocab, text, len, 0, &toks) != BN_OK || bn_session_create(h.model, &s) != BN_OK) {
        bn_cli_error("preparing");
        goto done;
    }
    if (first >= n_ctx) {
        fprintf(stderr, "bitnet perplexity: --score-from %d must be below the context %d\n", first, n_ctx);
        goto done;
    }
    size_t n_chunks = toks.n / (size_t)n_ctx;
    if (max_chunks && n_chunks > (size_t)max_chunks)
        n_chunks = (size_t)max_chunks;
    if (n_chunks == 0) {
        fprintf(stderr, "bitnet perplexity: %zu tokens is less than one chunk of %d; use a smaller -c\n", toks.n, n_ctx);
        goto done;
    }
    fprintf(stderr, "bitnet perplexity: %zu tokens, %zu chunks of %d, scoring positions %d..%d\n", toks.n, n_chunks,
            n_ctx, first, n_ctx - 1);
    double nll = 0, nll2 = 0;
    size_t count = 0;
    double t0 = bn_now();
    for (size_t c = 0; c < n_chunks; c++) {
        int32_t *chunk = toks.ids + c * (size_t)n_ctx;
        int32_t saved = chunk[0];
        if (bos >= 0)
            chunk[0] = bos;
        bn_session_reset(s);
        bn_status st = bn_session_eval(s, chunk, n_ctx, logits, 1);
        chunk[0] = saved;
        if (st != BN_OK) {
            bn_cli_error("evaluating");
            goto done;
        }
        for (int pos = first; pos < n_ctx; pos++) {
            const float *l = logits + (size_t)(pos - 1) * (size_t)nv;
            float mx = l[0];
            for (int k = 1; k < nv; k++)
                mx = l[k] > mx ? l[k] : mx;
            double sum = 0;
            for (int k = 0; k < nv; k++)
                sum += exp((double)(l[k] - mx));
            double lp = (double)(l[chunk[pos]] - mx) - log(sum);
            nll -= lp;
            nll2 += lp * lp;
            count++;
        }
        fprintf(stderr, "[%zu] %.4f%s", c + 1, exp(nll / (double)count), c + 1 == n_chunks ? "\n" : " ");
    }
    double mean = nll / (double)count, var = nll2 / (double)count - mean * mean;
    double err = var > 0 ? sqrt(var / (double)(count > 1 ? count - 1 : 1)) : 0;
    printf("perplexity: %.4f +/- %.4f over %zu tokens (%.1f s)\n", exp(mean), exp(mean) * err, count, bn_now() - t0);
    rc = 0;
done:
    bn_tokens_free(&toks);
    bn_session_free(s);
    free(logits);
    free(text);
    bn_host_close(&h);
    return rc;
}
