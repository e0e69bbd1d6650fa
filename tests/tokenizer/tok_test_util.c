/* Fixture readers for the tokenizer tests. The .inp format: test strings
 * separated by a line "__ggml_vocab_test__" (each string is followed by
 * "\n" and the separator line); .out: one line of space-separated ids per
 * string. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tok_test_util.h"

#ifndef TOK_FIXTURES_DIR
#define TOK_FIXTURES_DIR "tests/fixtures/tokenizers"
#endif

const char *tok_fixtures_dir(void) {
    struct stat sb;
    if (stat(TOK_FIXTURES_DIR, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        printf("FAIL: tokenizer fixtures not found at %s (they live in the repository)\n", TOK_FIXTURES_DIR);
        return NULL;
    }
    return TOK_FIXTURES_DIR;
}

void tok_print_escaped(const char *s, size_t n) {
    for (size_t i = 0; i < n && i < 200; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7F && c != '\\')
            fputc(c, stderr);
        else
            fprintf(stderr, "\\x%02x", c);
    }
}

static char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)size + 1);
    if (buf && fread(buf, 1, (size_t)size, f) != (size_t)size) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf)
        buf[size] = 0;
    *n = (size_t)size;
    return buf;
}

int tok_cases_load(const char *fixtures, const char *name, tok_cases *c) {
    static const char sep[] = "\n__ggml_vocab_test__\n";
    char path[4096];
    size_t n_inp, n_out;
    memset(c, 0, sizeof *c);
    snprintf(path, sizeof path, "%s/%s/cases.inp", fixtures, name);
    char *inp = slurp(path, &n_inp);
    snprintf(path, sizeof path, "%s/%s/cases.out", fixtures, name);
    char *out = slurp(path, &n_out);
    if (!inp || !out) {
        free(inp);
        free(out);
        return -1;
    }
    size_t cap = 256;
    c->text = calloc(cap, sizeof *c->text);
    c->len = calloc(cap, sizeof *c->len);
    c->ids = calloc(cap, sizeof *c->ids);
    c->n_ids = calloc(cap, sizeof *c->n_ids);
    const char *p = inp, *end = inp + n_inp;
    while (p < end && c->n < cap) {
        const char *s = memmem(p, (size_t)(end - p), sep, sizeof sep - 1);
        if (!s)
            break;
        size_t len = (size_t)(s - p);
        c->text[c->n] = malloc(len + 1);
        memcpy(c->text[c->n], p, len);
        c->text[c->n][len] = 0;
        c->len[c->n] = len;
        c->n++;
        p = s + sizeof sep - 1;
    }
    char *line = out;
    for (size_t i = 0; i < c->n; i++) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        c->ids[i] = malloc((strlen(line) / 2 + 1) * sizeof **c->ids);
        char *q = line, *e;
        for (long v; (v = strtol(q, &e, 10)), e != q; q = e)
            c->ids[i][c->n_ids[i]++] = (int32_t)v;
        if (!nl) {
            if (i + 1 < c->n) { /* fewer id lines than strings */
                c->n = i + 1;
            }
            break;
        }
        line = nl + 1;
    }
    free(inp);
    free(out);
    return c->n ? 0 : -1;
}

void tok_cases_free(tok_cases *c) {
    for (size_t i = 0; i < c->n; i++) {
        free(c->text[i]);
        free(c->ids[i]);
    }
    free(c->text);
    free(c->len);
    free(c->ids);
    free(c->n_ids);
    memset(c, 0, sizeof *c);
}

bn_status tok_load_gguf_vocab(const char *fixtures, const char *name, bn_gguf **g, bn_vocab **v) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s/vocab.gguf", fixtures, name);
    *v = NULL;
    bn_status st = bn_gguf_open(path, g);
    if (st != BN_OK)
        return st;
    return bn_vocab_load_gguf(*g, v);
}

static char tmp_root[4096];

void tok_tmp_path(char *buf, size_t len, const char *name) {
    if (!tmp_root[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(tmp_root, sizeof tmp_root, "%s/bitnet-tok-XXXXXX", t && t[0] ? t : "/tmp");
        if (!mkdtemp(tmp_root))
            tmp_root[0] = 0;
    }
    snprintf(buf, len, "%s/%s", tmp_root, name);
}

void tok_tmp_cleanup(void) {
    if (!tmp_root[0])
        return;
    DIR *d = opendir(tmp_root);
    if (d) {
        struct dirent *e;
        char p[8192];
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
                snprintf(p, sizeof p, "%s/%s", tmp_root, e->d_name);
                unlink(p);
            }
        closedir(d);
    }
    rmdir(tmp_root);
    tmp_root[0] = 0;
}
