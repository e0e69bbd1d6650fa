/* bitnet-make-model: writes a GGUF model of any shape with random weights
 * (absmean-ternarised Gaussians through the reference encoder, random F16
 * embeddings) and a real tokenizer, for benchmarks and tests where no
 * trained model of that shape exists. Tensors are generated while the file
 * is written, one at a time. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bitnet/bitnet.h>
#include <bitnet/gguf.h>
#include <bitnet/tokenizer.h>

typedef struct spec {
    int embd, layers, ff, heads, kv_heads, ctx, vocab;
    int32_t type, embd_type;
    const char *arch;
    uint64_t seed;
} spec;

typedef struct gen {
    const bn_backend *be;
    bn_backend_ctx *ctx;
    int64_t rows, cols;
    int32_t type;
    int kind; /* 0 ternary matrix, 1 embedding, 2 norm (ones + noise) */
    uint64_t seed;
    unsigned char *cache;
    uint64_t size;
} gen;

static uint64_t rng_next(uint64_t *s) { /* splitmix64 */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static float gauss(uint64_t *s) {
    double u1 = ((rng_next(s) >> 11) + 1.0) / 9007199254740993.0, u2 = (rng_next(s) >> 11) / 9007199254740992.0;
    return (float)(sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2));
}

static bn_status fill(void *arg, uint64_t off, void *buf, size_t n) {
    gen *g = arg;
    if (!g->cache) {
        uint64_t cnt = (uint64_t)(g->rows * g->cols);
        float *f = malloc(cnt * sizeof *f);
        if (!f)
            return bn_fail(BN_ERR_NOMEM, "out of memory");
        uint64_t s = g->seed;
        float sc = g->kind == 0 ? 1.0f / sqrtf((float)g->cols) : g->kind == 1 ? 0.02f : 0.1f;
        for (uint64_t i = 0; i < cnt; i++)
            f[i] = (g->kind == 2 ? 1.0f : 0.0f) + sc * gauss(&s);
        g->cache = malloc(g->size);
        size_t written = 0;
        bn_status st = g->cache ? g->be->encode(g->ctx, g->type, f, g->rows, g->cols, g->cache, g->size, &written)
                                : BN_ERR_NOMEM;
        free(f);
        if (st != BN_OK)
            return bn_fail(st, "encoding failed: %s", g->be->last_error(g->ctx));
    }
    memcpy(buf, g->cache + off, n);
    if (off + n >= g->size) {
        free(g->cache);
        g->cache = NULL;
    }
    return BN_OK;
}

static int usage(void) {
    fprintf(stderr,
            "usage: bitnet-make-model -o OUT.gguf --vocab (TOKENIZER_DIR | VOCAB.gguf) [options]\n"
            "  --arch A        bitnet-b1.58 (default), bitnet, llama\n"
            "  --embd N --layers N --ff N --heads N --kv-heads N --ctx N   (default: 2B-4T shape)\n"
            "  --type T        i2_s (default), tq2_0, tq1_0     --embd-type T  f16 (default), q8_0, f32\n"
            "  --seed S\n");
    return 2;
}

static int32_t type_of(const char *s) {
    return !strcmp(s, "i2_s") ? BN_TYPE_I2_S : !strcmp(s, "tq2_0") ? BN_TYPE_TQ2_0 : !strcmp(s, "tq1_0") ? BN_TYPE_TQ1_0
         : !strcmp(s, "f16") ? BN_TYPE_F16 : !strcmp(s, "f32") ? BN_TYPE_F32 : !strcmp(s, "q8_0") ? BN_TYPE_Q8_0 : -1;
}

/* Tokenizer keys from a vocab-only GGUF or a Hugging Face tokenizer folder. */
static bn_status add_vocab(bn_gguf_writer *w, const char *src, int *n_vocab) {
    size_t n = strlen(src);
    bn_vocab *v = NULL;
    bn_status st;
    if (n > 5 && !strcmp(src + n - 5, ".gguf")) {
        bn_gguf *g;
        if ((st = bn_gguf_open(src, &g)) != BN_OK)
            return st;
        for (uint64_t i = 0; i < bn_gguf_kv_count(g) && st == BN_OK; i++)
            if (!strncmp(bn_gguf_kv_key(g, i), "tokenizer.", 10))
                st = bn_gguf_writer_set_value(w, bn_gguf_kv_key(g, i), bn_gguf_kv_value(g, i));
        if (st == BN_OK)
            st = bn_vocab_load_gguf(g, &v);
        bn_gguf_close(g);
    } else {
        st = bn_tokenizer_import_hf(src, w, &v);
    }
    if (st == BN_OK)
        *n_vocab = bn_vocab_n_tokens(v);
    bn_vocab_free(v);
    return st;
}

int main(int argc, char **argv) {
    spec sp = {2560, 30, 6912, 20, 5, 4096, 0, BN_TYPE_I2_S, BN_TYPE_F16, "bitnet-b1.58", 1};
    const char *out = NULL, *vocab = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            return usage();
        i++;
        if (!strcmp(a, "-o")) out = v;
        else if (!strcmp(a, "--vocab")) vocab = v;
        else if (!strcmp(a, "--arch")) sp.arch = v;
        else if (!strcmp(a, "--embd")) sp.embd = atoi(v);
        else if (!strcmp(a, "--layers")) sp.layers = atoi(v);
        else if (!strcmp(a, "--ff")) sp.ff = atoi(v);
        else if (!strcmp(a, "--heads")) sp.heads = atoi(v);
        else if (!strcmp(a, "--kv-heads")) sp.kv_heads = atoi(v);
        else if (!strcmp(a, "--ctx")) sp.ctx = atoi(v);
        else if (!strcmp(a, "--type")) sp.type = type_of(v);
        else if (!strcmp(a, "--embd-type")) sp.embd_type = type_of(v);
        else if (!strcmp(a, "--seed")) sp.seed = strtoull(v, NULL, 10);
        else return usage();
    }
    if (!out || !vocab || sp.type < 0 || sp.embd_type < 0 || sp.embd <= 0 || sp.layers <= 0 || sp.ff <= 0 ||
        sp.heads <= 0 || sp.kv_heads <= 0 || sp.embd % sp.heads || sp.heads % sp.kv_heads)
        return usage();
    bn_settings s;
    bn_engine *e = NULL;
    const bn_backend *be;
    bn_backend_ctx *ctx;
    bn_gguf_writer *w = NULL;
    bn_status st = bn_settings_resolve(NULL, &s);
    if (st == BN_OK)
        st = bn_engine_create_ex(&s, BN_ENGINE_NO_CHOICE, &e);
    if (st == BN_OK)
        st = bn_engine_open_backend(e, "reference", &be, &ctx);
    if (st == BN_OK)
        st = bn_gguf_writer_create(&w);
    if (st == BN_OK)
        st = add_vocab(w, vocab, &sp.vocab);
    if (st != BN_OK) {
        fprintf(stderr, "bitnet-make-model: %s\n", bn_last_error());
        return 1;
    }
    char k[128];
    int hd = sp.embd / sp.heads;
    bn_gguf_writer_set_str(w, "general.architecture", sp.arch);
    bn_gguf_writer_set_str(w, "general.name", "random-weights");
#define U32(key, val) snprintf(k, sizeof k, "%s." key, sp.arch), bn_gguf_writer_set_u32(w, k, (uint32_t)(val))
    U32("context_length", sp.ctx);
    U32("embedding_length", sp.embd);
    U32("feed_forward_length", sp.ff);
    U32("block_count", sp.layers);
    U32("attention.head_count", sp.heads);
    U32("attention.head_count_kv", sp.kv_heads);
    U32("rope.dimension_count", hd);
    snprintf(k, sizeof k, "%s.rope.freq_base", sp.arch);
    bn_gguf_writer_set_f32(w, k, 500000.0f);
    snprintf(k, sizeof k, "%s.attention.layer_norm_rms_epsilon", sp.arch);
    bn_gguf_writer_set_f32(w, k, 1e-5f);
    int sub = strcmp(sp.arch, "llama") != 0;
    size_t n_gen = 2 + (size_t)sp.layers * 11;
    gen *gens = calloc(n_gen, sizeof *gens);
    size_t ng = 0;
    uint64_t seed = sp.seed * 1000003u;
#define ADD(name, kind_, rows_, cols_, type_)                                                                       \
    do {                                                                                                           \
        gen *g = &gens[ng++];                                                                                      \
        *g = (gen){be, ctx, rows_, cols_, type_, kind_, seed++, NULL, 0};                                          \
        g->size = bn_storage_size(type_, rows_, cols_);                                                            \
        int64_t ne[2] = {cols_, rows_};                                                                            \
        if (st == BN_OK)                                                                                           \
            st = bn_gguf_writer_add_tensor_fill(w, name, (uint32_t)(type_), (rows_) == 1 ? 1 : 2, ne, g->size, fill, g); \
    } while (0)
    ADD("token_embd.weight", 1, (int64_t)sp.vocab, (int64_t)sp.embd, sp.embd_type);
    ADD("output_norm.weight", 2, 1, (int64_t)sp.embd, BN_TYPE_F32);
    for (int il = 0; il < sp.layers; il++) {
        char n[96];
        int64_t d = sp.embd, dkv = (int64_t)hd * sp.kv_heads, ff = sp.ff;
#define T(suffix, kind, rows, cols, type) snprintf(n, sizeof n, "blk.%d." suffix ".weight", il); ADD(n, kind, rows, cols, type)
        T("attn_norm", 2, 1, d, BN_TYPE_F32);
        T("attn_q", 0, d, d, sp.type);
        T("attn_k", 0, dkv, d, sp.type);
        T("attn_v", 0, dkv, d, sp.type);
        T("attn_output", 0, d, d, sp.type);
        T("ffn_norm", 2, 1, d, BN_TYPE_F32);
        T("ffn_gate", 0, ff, d, sp.type);
        T("ffn_up", 0, ff, d, sp.type);
        T("ffn_down", 0, d, ff, sp.type);
        if (sub) {
            T("attn_sub_norm", 2, 1, d, BN_TYPE_F32);
            T("ffn_sub_norm", 2, 1, ff, BN_TYPE_F32);
        }
    }
    if (st == BN_OK)
        st = bn_gguf_writer_write(w, out);
    if (st != BN_OK)
        fprintf(stderr, "bitnet-make-model: %s\n", bn_last_error());
    for (size_t i = 0; i < ng; i++)
        free(gens[i].cache);
    free(gens);
    bn_gguf_writer_free(w);
    bn_engine_free(e);
    bn_settings_free(&s);
    return st == BN_OK ? 0 : 1;
}
