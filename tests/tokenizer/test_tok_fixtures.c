/* The fixture vectors (ids from the Hugging Face tokenizers): every case
 * must give exactly the expected ids, and decode back to its text. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok_test_util.h"

static const char *fixtures;

static void print_ids(const char *what, const int32_t *ids, size_t n) {
    fprintf(stderr, "    %s:", what);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, " %d", ids[i]);
    fprintf(stderr, "\n");
}

/* Encode every case (no BOS), compare, decode back; returns mismatches. */
static int run_cases(const bn_vocab *v, const char *name) {
    tok_cases c;
    ck_assert_msg(tok_cases_load(fixtures, name, &c) == 0, "cannot read cases of %s", name);
    int bad = 0, bad_round = 0;
    for (size_t i = 0; i < c.n; i++) {
        bn_tokens t = {0};
        ck_assert_int_eq(bn_tokenize(v, c.text[i], c.len[i], 0, &t), BN_OK);
        int same = t.n == c.n_ids[i] && (t.n == 0 || !memcmp(t.ids, c.ids[i], t.n * sizeof *t.ids));
        if (!same) {
            fprintf(stderr, "%s case %zu mismatch: '%s'\n", name, i, c.text[i]);
            print_ids("expected", c.ids[i], c.n_ids[i]);
            print_ids("got     ", t.ids, t.n);
            bad++;
        }
        bn_text back = {0};
        ck_assert_int_eq(bn_detokenize(v, t.ids, t.n, BN_DETOK_STRIP_PREFIX, &back), BN_OK);
        if (back.len != c.len[i] || memcmp(back.data, c.text[i], c.len[i]) != 0) {
            fprintf(stderr, "%s case %zu does not round-trip: '%s' -> '%s'\n", name, i, c.text[i],
                    back.data);
            bad_round++;
        }
        bn_text_free(&back);
        bn_tokens_free(&t);
    }
    printf("%s: %zu cases, %d id mismatches, %d round-trip failures\n", name, c.n, bad, bad_round);
    tok_cases_free(&c);
    return bad + bad_round;
}

START_TEST(fixture_llama3_import) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/llama3-bpe", fixtures);
    bn_vocab *v;
    ck_assert_msg(bn_tokenizer_import_hf(dir, NULL, &v) == BN_OK, "%s", bn_last_error());
    ck_assert_str_eq(bn_vocab_pre_name(v), "llama-bpe");
    ck_assert_int_eq(bn_vocab_n_tokens(v), 128256);
    ck_assert_int_eq(bn_vocab_bos(v), 128000);
    ck_assert_int_eq(bn_vocab_eos(v), 128001);
    ck_assert_int_eq(bn_vocab_eot(v), 128009);
    ck_assert_int_eq(run_cases(v, "llama3-bpe"), 0);
    bn_vocab_free(v);
}
END_TEST

/* The `bitnet convert --vocab-only` path: import -> GGUF file -> load. */
START_TEST(fixture_llama3_via_gguf) {
    char dir[4096], path[4096];
    snprintf(dir, sizeof dir, "%s/llama3-bpe", fixtures);
    bn_gguf_writer *w;
    ck_assert_int_eq(bn_gguf_writer_create(&w), BN_OK);
    ck_assert_msg(bn_tokenizer_import_hf(dir, w, NULL) == BN_OK, "%s", bn_last_error());
    tok_tmp_path(path, sizeof path, "llama3-vocab.gguf");
    ck_assert_msg(bn_gguf_writer_write(w, path) == BN_OK, "%s", bn_last_error());
    bn_gguf_writer_free(w);
    bn_gguf *g;
    bn_vocab *v;
    ck_assert_msg(bn_gguf_open(path, &g) == BN_OK, "%s", bn_last_error());
    ck_assert_msg(bn_vocab_load_gguf(g, &v) == BN_OK, "%s", bn_last_error());
    const char *model;
    ck_assert_int_eq(bn_gguf_get_str(g, "tokenizer.ggml.model", &model, NULL), BN_OK);
    ck_assert_str_eq(model, "gpt2");
    ck_assert_ptr_nonnull(bn_vocab_chat_template(v));
    ck_assert_int_eq(bn_chat_detect(bn_vocab_chat_template(v)), BN_CHAT_LLAMA3);
    ck_assert_int_eq(bn_vocab_add_bos(v), 1);
    ck_assert_int_eq(run_cases(v, "llama3-bpe"), 0);
    bn_vocab_free(v);
    bn_gguf_close(g);
}
END_TEST

START_TEST(fixture_llama2_spm) {
    bn_gguf *g;
    bn_vocab *v;
    ck_assert_msg(tok_load_gguf_vocab(fixtures, "llama2-spm", &g, &v) == BN_OK, "%s", bn_last_error());
    ck_assert_int_eq(bn_vocab_get_kind(v), BN_VOCAB_SPM);
    ck_assert_int_eq(bn_vocab_bos(v), 1);
    ck_assert_int_eq(bn_vocab_add_bos(v), 1);
    ck_assert_int_eq(run_cases(v, "llama2-spm"), 0);
    /* With BN_TOK_ADD_SPECIAL the BOS comes first. */
    bn_tokens t = {0};
    ck_assert_int_eq(bn_tokenize(v, "Hello world", 11, BN_TOK_ADD_SPECIAL, &t), BN_OK);
    ck_assert_uint_eq(t.n, 3);
    ck_assert_int_eq(t.ids[0], 1);
    ck_assert_int_eq(t.ids[1], 15043);
    ck_assert_int_eq(t.ids[2], 3186);
    bn_tokens_free(&t);
    bn_vocab_free(v);
    bn_gguf_close(g);
}
END_TEST

START_TEST(fixture_gpt2_bpe) {
    bn_gguf *g;
    bn_vocab *v;
    ck_assert_msg(tok_load_gguf_vocab(fixtures, "gpt2-bpe", &g, &v) == BN_OK, "%s", bn_last_error());
    ck_assert_int_eq(bn_vocab_get_kind(v), BN_VOCAB_BPE);
    ck_assert_int_eq(run_cases(v, "gpt2-bpe"), 0);
    bn_vocab_free(v);
    bn_gguf_close(g);
}
END_TEST

/* ---- SentencePiece-style import (tokenizer.model + tokenizer.json) -------------- */

typedef struct buf {
    unsigned char *p;
    size_t n, cap;
} buf;

static void put(buf *b, const void *p, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, p, n);
    b->n += n;
}

static void put_varint(buf *b, uint64_t v) {
    do {
        unsigned char c = (unsigned char)(v & 0x7F);
        v >>= 7;
        if (v)
            c |= 0x80;
        put(b, &c, 1);
    } while (v);
}

static void put_bytes_field(buf *b, int num, const void *p, size_t n) {
    put_varint(b, (uint64_t)num << 3 | 2);
    put_varint(b, n);
    put(b, p, n);
}

/* A protobuf ModelProto as SentencePiece writes it, from the GGUF's
 * tokens/scores/types, with a trainer spec to skip and add_dummy_prefix. */
static void write_spm_model(const bn_gguf *g, const char *path) {
    const bn_gguf_value *toks, *scores, *types;
    uint64_t n;
    ck_assert_int_eq(bn_gguf_get_array(g, "tokenizer.ggml.tokens", BN_GGUF_STR, &toks, &n), BN_OK);
    ck_assert_int_eq(bn_gguf_get_array(g, "tokenizer.ggml.scores", -1, &scores, NULL), BN_OK);
    ck_assert_int_eq(bn_gguf_get_array(g, "tokenizer.ggml.token_type", -1, &types, NULL), BN_OK);
    float *sc = malloc(n * sizeof *sc);
    int32_t *ty = malloc(n * sizeof *ty);
    ck_assert_int_eq(bn_gguf_array_copy_f32(scores, sc, n), BN_OK);
    ck_assert_int_eq(bn_gguf_array_copy_i32(types, ty, n), BN_OK);
    buf m = {0}, piece = {0};
    for (uint64_t i = 0; i < n; i++) {
        bn_gguf_str s;
        ck_assert_int_eq(bn_gguf_array_str(toks, i, &s), BN_OK);
        piece.n = 0;
        put_bytes_field(&piece, 1, s.ptr, s.len);
        put_varint(&piece, 2 << 3 | 5);
        put(&piece, &sc[i], 4);
        if (ty[i] != 1) { /* NORMAL is the default and then omitted */
            put_varint(&piece, 3 << 3 | 0);
            put_varint(&piece, (uint64_t)ty[i]);
        }
        put_bytes_field(&m, 1, piece.p, piece.n);
        if (i == 0) { /* a trainer_spec to skip: a string and a multi-byte varint */
            const unsigned char trainer[] = {0x0a, 0x03, 'a', 'b', 'c', 0x10, 0x80, 0x80, 0x02};
            put_bytes_field(&m, 2, trainer, sizeof trainer);
        }
    }
    const unsigned char norm[] = {0x0a, 0x04, 'n', 'm', 'f', 'c', 0x18, 0x01};
    put_bytes_field(&m, 3, norm, sizeof norm);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(m.p, 1, m.n, f), m.n);
    fclose(f);
    free(m.p);
    free(piece.p);
    free(sc);
    free(ty);
}

static void write_str(const char *path, const char *s) {
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(s, f);
    fclose(f);
}

/* The `bitnet convert` path for 1bitLLM models: tokenizer.model +
 * tokenizer.json (+ an added <pad> past the pieces) -> GGUF -> load. */
START_TEST(fixture_llama2_spm_import) {
    bn_gguf *g;
    bn_vocab *orig;
    ck_assert_msg(tok_load_gguf_vocab(fixtures, "llama2-spm", &g, &orig) == BN_OK, "%s",
                  bn_last_error());
    char dir[4096], path[4096];
    tok_tmp_path(dir, sizeof dir, "");
    tok_tmp_path(path, sizeof path, "tokenizer.model");
    write_spm_model(g, path);
    tok_tmp_path(path, sizeof path, "tokenizer.json");
    write_str(path, "{\"normalizer\": null, \"added_tokens\": ["
                    "{\"id\": 0, \"content\": \"<unk>\", \"special\": true},"
                    "{\"id\": 1, \"content\": \"<s>\", \"special\": true},"
                    "{\"id\": 2, \"content\": \"</s>\", \"special\": true},"
                    "{\"id\": 32000, \"content\": \"<pad>\", \"special\": false}],"
                    "\"model\": {\"type\": \"BPE\", \"byte_fallback\": true, \"vocab\": {}, "
                    "\"merges\": []}}");
    tok_tmp_path(path, sizeof path, "tokenizer_config.json");
    write_str(path, "{\"bos_token\": \"<s>\", \"eos_token\": \"</s>\", \"add_bos_token\": true}");
    bn_gguf_writer *w;
    ck_assert_int_eq(bn_gguf_writer_create(&w), BN_OK);
    ck_assert_msg(bn_tokenizer_import_hf(dir, w, NULL) == BN_OK, "%s", bn_last_error());
    tok_tmp_path(path, sizeof path, "spm-vocab.gguf");
    ck_assert_msg(bn_gguf_writer_write(w, path) == BN_OK, "%s", bn_last_error());
    bn_gguf_writer_free(w);
    bn_gguf *g2;
    bn_vocab *v;
    ck_assert_msg(bn_gguf_open(path, &g2) == BN_OK, "%s", bn_last_error());
    ck_assert_msg(bn_vocab_load_gguf(g2, &v) == BN_OK, "%s", bn_last_error());
    ck_assert_int_eq(bn_vocab_get_kind(v), BN_VOCAB_SPM);
    ck_assert_int_eq(bn_vocab_n_tokens(v), 32001);
    ck_assert_int_eq(bn_vocab_token_type(v, 32000), BN_TOKEN_USER_DEFINED);
    ck_assert_int_eq(bn_vocab_bos(v), 1);
    ck_assert_int_eq(bn_vocab_eos(v), 2);
    ck_assert_int_eq(bn_vocab_unk(v), 0);
    ck_assert_int_eq(bn_vocab_add_bos(v), 1);
    for (int32_t i = 0; i < 32000; i++) {
        ck_assert_str_eq(bn_vocab_token_text(v, i), bn_vocab_token_text(orig, i));
        ck_assert_int_eq(bn_vocab_token_type(v, i), bn_vocab_token_type(orig, i));
        ck_assert(bn_vocab_token_score(v, i) == bn_vocab_token_score(orig, i));
    }
    ck_assert_int_eq(run_cases(v, "llama2-spm"), 0);
    bn_vocab_free(v);
    bn_vocab_free(orig);
    bn_gguf_close(g2);
    bn_gguf_close(g);
}
END_TEST

static Suite *fixture_suite(void) {
    Suite *s = suite_create("tok_fixtures");
    TCase *tc;
#define ADD(fn)                                                                                     \
    tc = tcase_create(#fn);                                                                         \
    tcase_add_test(tc, fn);                                                                         \
    tcase_set_timeout(tc, 30);                                                                      \
    suite_add_tcase(s, tc)
    ADD(fixture_llama3_import);
    ADD(fixture_llama3_via_gguf);
    ADD(fixture_llama2_spm);
    ADD(fixture_gpt2_bpe);
    ADD(fixture_llama2_spm_import);
    return s;
}

int main(int argc, char **argv) {
    fixtures = tok_fixtures_dir();
    if (!fixtures)
        return 1;
    SRunner *sr = srunner_create(fixture_suite());
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run(sr, NULL, argc > 1 ? argv[1] : NULL, CK_NORMAL);
    int failed = srunner_ntests_failed(sr), run = srunner_ntests_run(sr);
    srunner_free(sr);
    tok_tmp_cleanup();
    return failed || run == 0 ? 1 : 0;
}
