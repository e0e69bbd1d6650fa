/*
 * ggufpy-encode IN.bin OUT.bin
 *
 * Our side of the known-answer quantisation check (check_quants.py): runs
 * the reference plugin's `encode` slot - the encoder `bitnet convert` uses
 * (core/src/convert/encode.c) - on each case of IN.bin and writes the
 * bytes to OUT.bin.
 *
 * IN.bin:  records of  int32 type (bn_type = GGML id), int32 0,
 *          int64 rows, int64 cols, float32 values[rows * cols]
 * OUT.bin: one record per case: int64 status (0 = BN_OK), uint64 size,
 *          then `size` bytes (the encoding, or the error message)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bitnet/backend.h"
#include "bitnet/bitnet.h"

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: ggufpy-encode IN.bin OUT.bin\n");
        return 2;
    }
    bn_cli_overrides cli;
    bn_cli_overrides_init(&cli);
    cli.threads = 1;
    bn_settings settings;
    bn_engine *e = NULL;
    const bn_backend *be = NULL;
    bn_backend_ctx *ctx = NULL;
    if (bn_settings_resolve(&cli, &settings) != BN_OK || bn_engine_create(&settings, &e) != BN_OK ||
        bn_engine_open_backend(e, "reference", &be, &ctx) != BN_OK) {
        fprintf(stderr, "ggufpy-encode: reference plugin: %s\n", bn_last_error());
        return 1;
    }
    if (!BN_BACKEND_SLOT(be, encode)) {
        fprintf(stderr, "ggufpy-encode: the reference plugin has no encode slot\n");
        return 1;
    }
    FILE *in = fopen(argv[1], "rb"), *out = fopen(argv[2], "wb");
    if (!in || !out) {
        perror(!in ? argv[1] : argv[2]);
        return 1;
    }
    int rc = 0, n_cases = 0;
    for (;;) {
        int32_t hdr[2];
        int64_t shape[2];
        if (fread(hdr, sizeof hdr, 1, in) != 1)
            break;
        if (fread(shape, sizeof shape, 1, in) != 1 || shape[0] <= 0 || shape[1] <= 0 ||
            shape[0] > (1 << 20) || shape[1] > (1 << 20)) {
            fprintf(stderr, "ggufpy-encode: bad record %d\n", n_cases);
            rc = 1;
            break;
        }
        size_t n = (size_t)(shape[0] * shape[1]);
        float *src = malloc(n * sizeof(float));
        uint64_t cap = bn_storage_size(hdr[0], shape[0], shape[1]);
        uint8_t *dst = malloc(cap ? cap : 1);
        if (!src || !dst || fread(src, sizeof(float), n, in) != n) {
            fprintf(stderr, "ggufpy-encode: short record %d\n", n_cases);
            rc = 1;
            free(src);
            free(dst);
            break;
        }
        size_t written = 0;
        bn_status st = be->encode(ctx, hdr[0], src, shape[0], shape[1], dst, (size_t)cap, &written);
        int64_t status = st;
        const char *msg = st == BN_OK ? NULL : be->last_error(ctx);
        uint64_t size = st == BN_OK ? (uint64_t)written : strlen(msg);
        fwrite(&status, sizeof status, 1, out);
        fwrite(&size, sizeof size, 1, out);
        fwrite(st == BN_OK ? (const void *)dst : (const void *)msg, 1, (size_t)size, out);
        free(src);
        free(dst);
        n_cases++;
    }
    fclose(in);
    if (fclose(out) != 0) {
        perror(argv[2]);
        rc = 1;
    }
    bn_engine_free(e);
    bn_settings_free(&settings);
    return rc;
}
