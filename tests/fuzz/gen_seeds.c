/* Writes the fuzzer's seed corpus (small valid GGUF files) into argv[1]
 * with the library's writer. Run by hand when the format coverage should
 * change: gen-gguf-seeds tests/fuzz/corpus/gguf */
#include <stdio.h>
#include <string.h>

#include "bitnet/gguf.h"

static int finish(bn_gguf_writer *w, const char *dir, const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    bn_status st = bn_gguf_writer_write(w, path);
    if (st)
        fprintf(stderr, "%s: %s\n", path, bn_last_error());
    bn_gguf_writer_free(w);
    return st != BN_OK;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    int bad = 0;
    bn_gguf_writer *w;

    /* every metadata type, no tensors */
    bn_gguf_writer_create(&w);
    bn_gguf_writer_set_u8(w, "a", 1); bn_gguf_writer_set_i8(w, "b", -1);
    bn_gguf_writer_set_u16(w, "c", 2); bn_gguf_writer_set_i16(w, "d", -2);
    bn_gguf_writer_set_u32(w, "e", 3); bn_gguf_writer_set_i32(w, "f", -3);
    bn_gguf_writer_set_f32(w, "g", 0.5f); bn_gguf_writer_set_bool(w, "h", 1);
    bn_gguf_writer_set_str(w, "i", "str"); bn_gguf_writer_set_u64(w, "j", 4);
    bn_gguf_writer_set_i64(w, "k", -4); bn_gguf_writer_set_f64(w, "l", 0.25);
    const char *toks[] = {"<s>", "", "ab"};
    int32_t ids[] = {1, 2, 3};
    float sc[] = {0, -1, 2};
    bn_gguf_writer_set_str_array(w, "tokenizer.ggml.tokens", toks, 3);
    bn_gguf_writer_set_array(w, "tokenizer.ggml.token_type", BN_GGUF_I32, ids, 3);
    bn_gguf_writer_set_array(w, "tokenizer.ggml.scores", BN_GGUF_F32, sc, 3);
    bad |= finish(w, dir, "metadata.gguf");

    /* tensors of several types, alignment 64 */
    static unsigned char buf[4096];
    bn_gguf_writer_create(&w);
    bn_gguf_writer_set_str(w, "general.architecture", "bitnet");
    bn_gguf_writer_set_u32(w, "general.alignment", 64);
    bn_gguf_writer_add_tensor(w, "f32", 0, 2, (int64_t[]){4, 2}, buf, 32);
    bn_gguf_writer_add_tensor(w, "q8", 8, 1, (int64_t[]){32}, buf, 34);
    bn_gguf_writer_add_tensor(w, "tq2", 35, 1, (int64_t[]){256}, buf, 66);
    bn_gguf_writer_add_tensor(w, "i2s", 36, 2, (int64_t[]){128, 2}, buf, 96);
    bn_gguf_writer_add_tensor(w, "q4", 2, 1, (int64_t[]){64}, buf, 36);
    bad |= finish(w, dir, "tensors.gguf");

    /* ids 38 / 39 sized as TL1 and MXFP4 */
    bn_gguf_writer_create(&w);
    bn_gguf_writer_add_tensor(w, "tl1", 38, 2, (int64_t[]){1024, 1}, buf, 288);
    bn_gguf_writer_add_tensor(w, "mx", 39, 2, (int64_t[]){1024, 1}, buf, 544);
    bad |= finish(w, dir, "ambiguous.gguf");
    return bad;
}
