/* Reader of reference.txt / reference.bin (format: see gen_fixtures.py). */
#include "xval_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int read_ids(char **p, int32_t n, int32_t *ids) {
    for (int32_t i = 0; i < n; i++) {
        char *end;
        long v = strtol(*p, &end, 10);
        if (end == *p)
            return -1;
        ids[i] = (int32_t)v;
        *p = end;
    }
    return 0;
}

static int unhex(const char *h, char *out, size_t cap) {
    size_t n = strlen(h);
    if (n % 2 || n / 2 >= cap)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        if (sscanf(h + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (char)v;
    }
    out[n / 2] = 0;
    return 0;
}

static int parse_line(xv_case *c, char *line) {
    char key[32], word[600];
    int used = 0;
    if (sscanf(line, "%31s%n", key, &used) != 1)
        return 0;
    char *p = line + used;
    int32_t n = 0, n2 = 0;
    if (!strcmp(key, "case"))
        return sscanf(p, "%63s", c->name) == 1 ? 0 : -1;
    if (!strcmp(key, "n_vocab"))
        return sscanf(p, "%d", &c->n_vocab) == 1 ? 0 : -1;
    if (!strcmp(key, "gap"))
        return sscanf(p, "%lf", &c->gap) == 1 ? 0 : -1;
    if (!strcmp(key, "seq")) {
        if (c->n_seq == XV_MAX_SEQ)
            return -1;
        xv_seq *s = &c->seq[c->n_seq++];
        if (sscanf(p, "%31s %d%n", s->label, &s->n, &used) != 2 || s->n < 1 || s->n > XV_MAX_IDS)
            return -1;
        p += used;
        return read_ids(&p, s->n, s->ids);
    }
    if (!strcmp(key, "greedy")) {
        if (sscanf(p, "%d %d%n", &n, &n2, &used) != 2 || n < 1 || n2 < 1 || n + n2 > XV_MAX_IDS)
            return -1;
        c->prompt_len = n;
        c->n_gen = n2;
        p += used;
        return read_ids(&p, n + n2, c->greedy);
    }
    if (!strcmp(key, "tok")) {
        if (c->n_tok == XV_MAX_TOK)
            return -1;
        xv_tok *t = &c->tok[c->n_tok++];
        if (sscanf(p, "%599s %d%n", word, &t->n, &used) != 2 || t->n < 1 || t->n > XV_MAX_IDS ||
            unhex(word, t->text, sizeof t->text))
            return -1;
        p += used;
        return read_ids(&p, t->n, t->ids);
    }
    return -1;
}

int xv_case_load(const char *dir, xv_case *c, char *err, size_t err_len) {
    memset(c, 0, sizeof *c);
    snprintf(c->dir, sizeof c->dir, "%s", dir);
    char path[1200], line[4096];
    snprintf(path, sizeof path, "%s/reference.txt", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, err_len, "cannot open %s", path);
        return -1;
    }
    int lineno = 0, bad = 0;
    while (!bad && fgets(line, sizeof line, f)) {
        lineno++;
        bad = parse_line(c, line);
    }
    fclose(f);
    if (bad || c->n_vocab < 1 || !c->n_seq || !c->n_gen) {
        snprintf(err, err_len, "%s: malformed (line %d)", path, lineno);
        return -1;
    }
    size_t total = 0;
    for (int i = 0; i < c->n_seq; i++)
        total += (size_t)c->seq[i].n * (size_t)c->n_vocab;
    snprintf(path, sizeof path, "%s/reference.bin", dir);
    f = fopen(path, "rb");
    c->blob = malloc(total * sizeof *c->blob);
    size_t got = f && c->blob ? fread(c->blob, sizeof *c->blob, total + 1, f) : 0;
    if (f)
        fclose(f);
    if (got != total) {
        snprintf(err, err_len, "%s: expected %zu floats, read %zu", path, total, got);
        xv_case_free(c);
        return -1;
    }
    size_t off = 0;
    for (int i = 0; i < c->n_seq; i++) {
        c->seq[i].logits = c->blob + off;
        off += (size_t)c->seq[i].n * (size_t)c->n_vocab;
    }
    return 0;
}

void xv_case_free(xv_case *c) {
    free(c->blob);
    c->blob = NULL;
}
