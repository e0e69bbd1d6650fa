#include "gguf_test_util.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void img_bytes(img *b, const void *p, size_t n) {
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        if (!b->p)
            abort();
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
}

void img_u8(img *b, uint8_t v) { img_bytes(b, &v, 1); }
void img_u32(img *b, uint32_t v) { img_bytes(b, &v, 4); }
void img_u64(img *b, uint64_t v) { img_bytes(b, &v, 8); }

void img_str(img *b, const char *s) {
    img_u64(b, strlen(s));
    img_bytes(b, s, strlen(s));
}

void img_fill(img *b, size_t n, uint8_t v) {
    for (size_t i = 0; i < n; i++)
        img_u8(b, v);
}

void img_pad(img *b, size_t align) {
    while (b->len % align)
        img_u8(b, 0);
}

void img_model(img *b, uint32_t version, const tinfo *t, int n, uint64_t data_len) {
    img_bytes(b, "GGUF", 4);
    img_u32(b, version);
    img_u64(b, (uint64_t)n);
    img_u64(b, 1);
    img_str(b, "general.architecture");
    img_u32(b, 8);
    img_str(b, "test");
    for (int i = 0; i < n; i++) {
        img_str(b, t[i].name);
        img_u32(b, t[i].n_dims);
        for (uint32_t d = 0; d < t[i].n_dims && d < 5; d++)
            img_u64(b, t[i].ne[d]);
        img_u32(b, t[i].type);
        img_u64(b, t[i].offset);
    }
    img_pad(b, 32);
    img_fill(b, (size_t)data_len, 0xAB);
}

static char dir[512];

const char *tmp_dir(void) {
    if (!dir[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/bitnet-gguf-XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(dir))
            abort();
    }
    return dir;
}

void tmp_path(char *buf, size_t len, const char *name) { snprintf(buf, len, "%s/%s", tmp_dir(), name); }

void tmp_cleanup(void) {
    if (!dir[0])
        return;
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char p[1024];
        while ((e = readdir(d)))
            if (e->d_name[0] != '.') {
                snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
                unlink(p);
            }
        closedir(d);
    }
    rmdir(dir);
    dir[0] = 0;
}

int write_file(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int ok = fwrite(p, 1, n, f) == n;
    return fclose(f) == 0 && ok ? 0 : -1;
}

uint8_t *read_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc(sz > 0 ? (size_t)sz : 1);
    if (p && fread(p, 1, (size_t)sz, f) != (size_t)sz) {
        free(p);
        p = NULL;
    }
    fclose(f);
    *n = (size_t)sz;
    return p;
}
