/* Writes seed corpora with the library's writer. Run by hand (through
 * make_corpus.sh) when the seeds should change:
 *   gen-gguf-seeds DIR                      small valid GGUF files (fuzz-gguf)
 *   gen-gguf-seeds --vocab SRC N OUT.gguf   the tokenizer of SRC (a GGUF or a
 *       Hugging Face tokenizer folder) cut to its first N tokens plus its
 *       special ones (ids remapped) and the merges among them (fuzz-vocab,
 *       and the vocab of the fuzz-model seeds)
 *   gen-gguf-seeds --spm OUT [ADD_DUMMY_PREFIX]   a small tokenizer.model */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bitnet/gguf.h"
#include "bitnet/tokenizer.h"
#include "fuzz_spm_model.h"

static int finish(bn_gguf_writer *w, const char *dir, const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    bn_status st = bn_gguf_writer_write(w, path);
    if (st)
        fprintf(stderr, "%s: %s\n", path, bn_last_error());
    bn_gguf_writer_free(w);
    return st != BN_OK;
}

/* Tokenizer of src cut down to its first n tokens + the special ones. */
static int cut_vocab(const char *src, uint32_t n_keep, const char *out) {
    bn_gguf_writer *full_w = NULL;
    bn_gguf *g = NULL;
    bn_status st;
    char tmp[] = "/tmp/gen-seeds-XXXXXX";
    size_t sl = strlen(src);
    if (sl > 5 && !strcmp(src + sl - 5, ".gguf")) {
        st = bn_gguf_open(src, &g);
    } else { /* a Hugging Face folder: import into a temporary GGUF first */
        int fd = mkstemp(tmp);
        if (fd < 0)
            return 1;
        close(fd);
        st = bn_gguf_writer_create(&full_w);
        if (st == BN_OK)
            st = bn_tokenizer_import_hf(src, full_w, NULL);
        if (st == BN_OK)
            st = bn_gguf_writer_write(full_w, tmp);
        bn_gguf_writer_free(full_w);
        if (st == BN_OK)
            st = bn_gguf_open(tmp, &g);
        unlink(tmp);
    }
    bn_vocab *v = NULL;
    if (st == BN_OK)
        st = bn_vocab_load_gguf(g, &v);
    if (st != BN_OK) {
        fprintf(stderr, "%s: %s\n", src, bn_last_error());
        return 1;
    }
    int32_t n = bn_vocab_n_tokens(v);
    int32_t *map = malloc((size_t)n * sizeof *map); /* old id -> new id, -1 dropped */
    int32_t *keep = malloc((size_t)n * sizeof *keep);
    uint32_t k = 0;
    for (int32_t i = 0; i < n; i++) {
        int t = bn_vocab_token_type(v, i);
        int special = t == BN_TOKEN_CONTROL || t == BN_TOKEN_UNKNOWN || t == BN_TOKEN_USER_DEFINED;
        map[i] = -1;
        if ((uint32_t)i < n_keep || (special && k < n_keep + 16)) {
            map[i] = (int32_t)k;
            keep[k++] = i;
        }
    }
    bn_gguf_str *toks = malloc(k * sizeof *toks);
    float *scores = malloc(k * sizeof *scores);
    int32_t *types = malloc(k * sizeof *types);
    for (uint32_t j = 0; j < k; j++) {
        const char *t = bn_vocab_token_text(v, keep[j]);
        toks[j] = (bn_gguf_str){t, strlen(t)};
        scores[j] = bn_vocab_token_score(v, keep[j]);
        types[j] = bn_vocab_token_type(v, keep[j]);
    }
    bn_gguf_writer *w;
    bn_gguf_writer_create(&w);
    static const char *const copy[] = {"tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.add_bos_token",
                                       "tokenizer.ggml.add_eos_token", "tokenizer.ggml.add_space_prefix",
                                       "tokenizer.chat_template"};
    for (size_t i = 0; i < sizeof copy / sizeof *copy; i++)
        if (bn_gguf_find(g, copy[i]))
            bn_gguf_writer_set_value(w, copy[i], bn_gguf_find(g, copy[i]));
    bn_gguf_writer_set_strn_array(w, "tokenizer.ggml.tokens", toks, k);
    bn_gguf_writer_set_array(w, "tokenizer.ggml.scores", BN_GGUF_F32, scores, k);
    bn_gguf_writer_set_array(w, "tokenizer.ggml.token_type", BN_GGUF_I32, types, k);
    const struct { const char *key; int32_t id; } ids[] = {
        {"tokenizer.ggml.bos_token_id", bn_vocab_bos(v)}, {"tokenizer.ggml.eos_token_id", bn_vocab_eos(v)},
        {"tokenizer.ggml.eot_token_id", bn_vocab_eot(v)}, {"tokenizer.ggml.unknown_token_id", bn_vocab_unk(v)},
        {"tokenizer.ggml.padding_token_id", bn_vocab_pad(v)}};
    for (size_t i = 0; i < sizeof ids / sizeof *ids; i++)
        if (ids[i].id >= 0 && map[ids[i].id] >= 0)
            bn_gguf_writer_set_u32(w, ids[i].key, (uint32_t)map[ids[i].id]);
    const bn_gguf_value *arr;
    uint64_t nm;
    if (bn_gguf_get_array(g, "tokenizer.ggml.merges", BN_GGUF_STR, &arr, &nm) == BN_OK) {
        bn_gguf_str *merges = malloc(300 * sizeof *merges);
        uint32_t km = 0;
        char cat[1024];
        for (uint64_t i = 0; i < nm && km < 300; i++) {
            bn_gguf_str m;
            bn_gguf_array_str(arr, i, &m);
            const char *sp = memchr(m.ptr, ' ', m.len);
            if (!sp || m.len >= sizeof cat)
                continue;
            size_t nl = (size_t)(sp - m.ptr), nr = m.len - nl - 1;
            memcpy(cat, m.ptr, nl);
            memcpy(cat + nl, sp + 1, nr);
            int32_t l = bn_vocab_find(v, m.ptr, nl), r = bn_vocab_find(v, sp + 1, nr), c = bn_vocab_find(v, cat, nl + nr);
            if (l >= 0 && r >= 0 && c >= 0 && map[l] >= 0 && map[r] >= 0 && map[c] >= 0)
                merges[km++] = m;
        }
        bn_gguf_writer_set_strn_array(w, "tokenizer.ggml.merges", merges, km);
        free(merges);
    }
    int bad = bn_gguf_writer_write(w, out) != BN_OK;
    if (bad)
        fprintf(stderr, "%s: %s\n", out, bn_last_error());
    bn_gguf_writer_free(w);
    free(map);
    free(keep);
    free(toks);
    free(scores);
    free(types);
    bn_vocab_free(v);
    bn_gguf_close(g);
    return bad;
}

int main(int argc, char **argv) {
    if (argc == 5 && !strcmp(argv[1], "--vocab"))
        return cut_vocab(argv[2], (uint32_t)atoi(argv[3]), argv[4]);
    if ((argc == 3 || argc == 4) && !strcmp(argv[1], "--spm")) {
        fz_buf b;
        fz_spm_model(&b, argc == 4 ? atoi(argv[3]) : 1);
        FILE *f = fopen(argv[2], "wb");
        int bad = !f || fwrite(b.p, 1, b.n, f) != b.n;
        if (f && fclose(f))
            bad = 1;
        free(b.p);
        return bad;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR | --vocab SRC N OUT.gguf | --spm OUT [ADD_DUMMY_PREFIX]\n", argv[0]);
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
