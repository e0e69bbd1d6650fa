/* Unit tests of the tokenizer on small hand-made vocabs (merge order,
 * scores, byte fallback, UTF-8 replacement, streaming decode, special
 * tokens), chat rendering, printing and import errors. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok_test_util.h"

#define FFFD "\xEF\xBF\xBD"

/* ---- a tiny byte-level BPE vocab ------------------------------------------ */

/* GPT-2's alphabet, written from its definition: printable Latin-1 bytes
 * are themselves, the others take U+0100, U+0101, ... in byte order. */
static unsigned alphabet_cp(unsigned b) {
    unsigned k = 0;
    if ((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE))
        return b;
    for (unsigned x = 0; x < b; x++)
        k += !((x >= 0x21 && x <= 0x7E) || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE));
    return 256 + k;
}

static void put_cp(char *out, unsigned cp) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        out[1] = 0;
    } else {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        out[2] = 0;
    }
}

/* Tokens 0..255: the bytes; then extra tokens; merges as given. */
static bn_vocab *make_bpe(const char *const *extra, size_t n_extra, const char *const *merges,
                          size_t n_merges, const int32_t *extra_types) {
    static char bytes[256][4];
    size_t n = 256 + n_extra;
    bn_gguf_str *tok = calloc(n, sizeof *tok);
    int32_t *types = calloc(n, sizeof *types);
    bn_gguf_str *mg = calloc(n_merges + 1, sizeof *mg);
    for (unsigned b = 0; b < 256; b++) {
        put_cp(bytes[b], alphabet_cp(b));
        tok[b] = (bn_gguf_str){bytes[b], strlen(bytes[b])};
        types[b] = BN_TOKEN_NORMAL;
    }
    for (size_t i = 0; i < n_extra; i++) {
        tok[256 + i] = (bn_gguf_str){extra[i], strlen(extra[i])};
        types[256 + i] = extra_types ? extra_types[i] : BN_TOKEN_NORMAL;
    }
    for (size_t i = 0; i < n_merges; i++)
        mg[i] = (bn_gguf_str){merges[i], strlen(merges[i])};
    bn_vocab_spec s;
    bn_vocab_spec_init(&s);
    s.model = "gpt2";
    s.pre = "gpt-2";
    s.n_tokens = (uint32_t)n;
    s.tokens = tok;
    s.token_types = types;
    s.n_merges = (uint32_t)n_merges;
    s.merges = mg;
    bn_vocab *v = NULL;
    ck_assert_msg(bn_vocab_create(&s, &v) == BN_OK, "%s", bn_last_error());
    free(tok);
    free(types);
    free(mg);
    return v;
}

static void encode_eq(const bn_vocab *v, const char *text, unsigned flags, const int32_t *want,
                      size_t n_want) {
    bn_tokens t = {0};
    ck_assert_int_eq(bn_tokenize(v, text, strlen(text), flags, &t), BN_OK);
    ck_assert_msg(t.n == n_want, "'%s': %zu tokens, want %zu", text, t.n, n_want);
    for (size_t i = 0; i < n_want; i++)
        ck_assert_msg(t.ids[i] == want[i], "'%s': token %zu is %d, want %d", text, i, t.ids[i],
                      want[i]);
    bn_tokens_free(&t);
}

static void decode_eq(const bn_vocab *v, const int32_t *ids, size_t n, unsigned flags,
                      const char *want) {
    bn_text out = {0};
    ck_assert_int_eq(bn_detokenize(v, ids, n, flags, &out), BN_OK);
    ck_assert_msg(out.len == strlen(want) && memcmp(out.data, want, out.len) == 0,
                  "decoded '%s', want '%s'", out.data, want);
    bn_text_free(&out);
}

START_TEST(tiny_bpe) {
    /* "a b" outranks "b c": "abc" -> ab + c; swapped ranks -> a + bc. */
    const char *extra[] = {"ab", "bc", "abc", "Ġx", "Ġxy"};
    const char *m1[] = {"a b", "b c", "ab c", "Ġ x", "Ġx y"};
    bn_vocab *v = make_bpe(extra, 5, m1, 3, NULL);
    encode_eq(v, "abc", 0, (int32_t[]){256 + 2}, 1);
    encode_eq(v, "abcbc", 0, (int32_t[]){256 + 2, 256 + 1}, 2);
    bn_vocab_free(v);
    const char *m2[] = {"b c", "a b"};
    v = make_bpe(extra, 5, m2, 2, NULL);
    encode_eq(v, "abc", 0, (int32_t[]){'a', 256 + 1}, 2);
    bn_vocab_free(v);
    /* GPT-2 split: " xy" is one word (space + letters), "!!" another. */
    v = make_bpe(extra, 5, m1, 5, NULL);
    encode_eq(v, " xy!!", 0, (int32_t[]){256 + 4, '!', '!'}, 3);
    decode_eq(v, (int32_t[]){256 + 4, '!', '!'}, 3, 0, " xy!!");
    bn_vocab_free(v);
}
END_TEST

/* A long word without a split point (a run of one pattern) still merges
 * right and decodes back. */
START_TEST(long_word) {
    const char *extra[] = {"ab", "abab"};
    const char *merges[] = {"a b", "ab ab"};
    bn_vocab *v = make_bpe(extra, 2, merges, 2, NULL);
    size_t n = 300001; /* odd: the last "ab" pair has no partner */
    char *text = malloc(2 * n);
    for (size_t i = 0; i < n; i++)
        memcpy(text + 2 * i, "ab", 2);
    bn_tokens t = {0};
    ck_assert_int_eq(bn_tokenize(v, text, 2 * n, 0, &t), BN_OK);
    ck_assert_uint_eq(t.n, n / 2 + 1);
    for (size_t i = 0; i + 1 < t.n; i++)
        ck_assert_int_eq(t.ids[i], 257);
    ck_assert_int_eq(t.ids[t.n - 1], 256);
    bn_text out = {0};
    ck_assert_int_eq(bn_detokenize(v, t.ids, t.n, 0, &out), BN_OK);
    ck_assert(out.len == 2 * n && memcmp(out.data, text, out.len) == 0);
    bn_text_free(&out);
    bn_tokens_free(&t);
    free(text);
    bn_vocab_free(v);
}
END_TEST

START_TEST(bytelevel_alphabet) {
    bn_vocab *v = make_bpe(NULL, 0, NULL, 0, NULL);
    for (int b = 0; b < 256; b++) {
        size_t len;
        const char *p = bn_token_piece(v, b, 0, &len);
        ck_assert_uint_eq(len, 1);
        ck_assert_int_eq((unsigned char)p[0], b);
    }
    ck_assert_str_eq(bn_vocab_token_text(v, ' '), "\xC4\xA0"); /* U+0120 'Ġ' */
    ck_assert_str_eq(bn_vocab_token_text(v, '\n'), "\xC4\x8A"); /* U+010A 'Ċ' */
    /* DEL (not printable) encodes to its own token. */
    bn_tokens t = {0};
    ck_assert_int_eq(bn_tokenize(v, "\x7f", 1, 0, &t), BN_OK);
    ck_assert_uint_eq(t.n, 1);
    ck_assert_int_eq(t.ids[0], 0x7f);
    bn_tokens_free(&t);
    bn_vocab_free(v);
}
END_TEST

START_TEST(utf8_sanitize) {
    /* Ill-formed input: one U+FFFD per maximal ill-formed subpart (the
     * Unicode recommendation; what Python's errors="replace" gives). */
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"a\xff" "b", "a" FFFD "b"},
        {"\xe2\x82", FFFD},
        {"\xed\xa0\x80", FFFD FFFD FFFD},
        {"\xf0\x9f\x98", FFFD},
        {"\xf0\x9f\x98" "a", FFFD "a"},
        {"\xc0\xaf", FFFD FFFD},
        {"\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD},
        {"\xe0\x80\x80", FFFD FFFD FFFD},
        {"ok \xc3\xa9", "ok \xc3\xa9"},
    };
    bn_vocab *v = make_bpe(NULL, 0, NULL, 0, NULL);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        bn_tokens t = {0};
        ck_assert_int_eq(bn_tokenize(v, cases[i].in, strlen(cases[i].in), 0, &t), BN_OK);
        bn_text out = {0};
        ck_assert_int_eq(bn_detokenize(v, t.ids, t.n, 0, &out), BN_OK);
        ck_assert_msg(strcmp(out.data, cases[i].out) == 0, "case %zu", i);
        bn_text_free(&out);
        bn_tokens_free(&t);
    }
    bn_vocab_free(v);
}
END_TEST

START_TEST(detok_streaming) {
    bn_vocab *v = make_bpe(NULL, 0, NULL, 0, NULL);
    /* U+1F999 (4 bytes) pushed a byte at a time: nothing until complete. */
    const unsigned char llama[] = {0xF0, 0x9F, 0xA6, 0x99};
    bn_detok d;
    bn_text out = {0};
    bn_detok_init(&d, v, 0);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(bn_detok_push(&d, llama[i], &out), BN_OK);
        ck_assert_uint_eq(out.len, i < 3 ? 0 : 4);
    }
    ck_assert_int_eq(memcmp(out.data, llama, 4), 0);
    ck_assert_int_eq(bn_detok_push(&d, 'x', &out), BN_OK);
    ck_assert_str_eq(out.data + 4, "x");
    /* An unfinished sequence at the end becomes U+FFFD on flush. */
    ck_assert_int_eq(bn_detok_push(&d, 0xC3, &out), BN_OK);
    ck_assert_uint_eq(out.len, 5);
    ck_assert_int_eq(bn_detok_flush(&d, &out), BN_OK);
    ck_assert_str_eq(out.data + 5, FFFD);
    ck_assert_int_eq(bn_detok_push(&d, 1 << 20, &out), BN_ERR_INVALID);
    bn_text_free(&out);
    bn_vocab_free(v);
}
END_TEST

START_TEST(detok_invalid) {
    bn_vocab *v = make_bpe(NULL, 0, NULL, 0, NULL);
    bn_detok d;
    bn_text out = {0};
    bn_detok_init(&d, v, 0);
    ck_assert_int_eq(bn_detok_push(&d, 0xFF, &out), BN_OK); /* never valid: replaced now */
    ck_assert_str_eq(out.data, FFFD);
    ck_assert_int_eq(bn_detok_push(&d, 0xC3, &out), BN_OK); /* held */
    ck_assert_int_eq(bn_detok_push(&d, 'a', &out), BN_OK);  /* breaks it: FFFD then 'a' */
    ck_assert_str_eq(out.data, FFFD FFFD "a");
    ck_assert_int_eq(bn_detok_push(&d, 0xE2, &out), BN_OK);
    ck_assert_int_eq(bn_detok_push(&d, 0x82, &out), BN_OK);
    ck_assert_int_eq(bn_detok_push(&d, 0xAC, &out), BN_OK); /* U+20AC */
    ck_assert_str_eq(out.data, FFFD FFFD "a\xE2\x82\xAC");
    bn_text_free(&out);
    bn_vocab_free(v);
}
END_TEST

START_TEST(special_tokens) {
    const char *extra[] = {"<s>", "<|eot|>", "<u>", "<|eot|>x"};
    const int32_t types[] = {BN_TOKEN_CONTROL, BN_TOKEN_CONTROL, BN_TOKEN_USER_DEFINED,
                             BN_TOKEN_UNUSED};
    bn_vocab *v = make_bpe(extra, 4, NULL, 0, types);
    const int32_t s = 256, eot = 257, u = 258;
    /* Control tokens only with PARSE_SPECIAL; user-defined always. */
    encode_eq(v, "a<|eot|>", BN_TOK_PARSE_SPECIAL, (int32_t[]){'a', eot}, 2);
    encode_eq(v, "<u>b", 0, (int32_t[]){u, 'b'}, 2);
    encode_eq(v, "<s>", 0, (int32_t[]){'<', 's', '>'}, 3);
    encode_eq(v, "<s><s>", BN_TOK_PARSE_SPECIAL, (int32_t[]){s, s}, 2);
    /* Control text decodes to "" unless asked for. */
    decode_eq(v, (int32_t[]){'a', eot, 'b'}, 3, 0, "ab");
    decode_eq(v, (int32_t[]){'a', eot, 'b'}, 3, BN_DETOK_SPECIAL, "a<|eot|>b");
    bn_vocab_free(v);

    const char *fx = tok_fixtures_dir();
    ck_assert_msg(fx != NULL, "tokenizer fixtures missing");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/llama3-bpe", fx);
    ck_assert_int_eq(bn_tokenizer_import_hf(dir, NULL, &v), BN_OK);
    /* Ids from HF tokenizers for the same strings. */
    const char *chat = "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>";
    encode_eq(v, chat, BN_TOK_PARSE_SPECIAL, (int32_t[]){128006, 882, 128007, 271, 13347, 128009}, 6);
    encode_eq(v, "a<|eot_id|>b", BN_TOK_PARSE_SPECIAL, (int32_t[]){64, 128009, 65}, 3);
    encode_eq(v, "Hi", BN_TOK_ADD_SPECIAL, (int32_t[]){128000, 13347}, 2);
    ck_assert(bn_vocab_is_eog(v, 128009));
    ck_assert(bn_vocab_is_eog(v, 128001));
    ck_assert(!bn_vocab_is_eog(v, 13347));
    bn_vocab_free(v);
}
END_TEST

/* ---- a tiny SentencePiece vocab --------------------------------------------- */

START_TEST(tiny_spm) {
    /* <unk> <s> </s>, bytes <0x00>..<0xFF>, then pieces with scores. */
    enum { BYTE0 = 3, PIECES = 3 + 256 };
    const char *pieces[] = {"\xE2\x96\x81", "a", "b", "c", "ab", "bc", "\xE2\x96\x81" "a",
                            "\xE2\x96\x81" "ab"};
    const float piece_scores[] = {-1, -2, -2, -2, -5, -1, -3, -4};
    size_t n = PIECES + 8;
    bn_gguf_str *tok = calloc(n, sizeof *tok);
    float *scores = calloc(n, sizeof *scores);
    int32_t *types = calloc(n, sizeof *types);
    static char names[256][8];
    tok[0] = (bn_gguf_str){"<unk>", 5};
    tok[1] = (bn_gguf_str){"<s>", 3};
    tok[2] = (bn_gguf_str){"</s>", 4};
    types[0] = BN_TOKEN_UNKNOWN;
    types[1] = types[2] = BN_TOKEN_CONTROL;
    for (int b = 0; b < 256; b++) {
        snprintf(names[b], sizeof names[b], "<0x%02X>", b);
        tok[BYTE0 + b] = (bn_gguf_str){names[b], 6};
        types[BYTE0 + b] = BN_TOKEN_BYTE;
    }
    for (int i = 0; i < 8; i++) {
        tok[PIECES + i] = (bn_gguf_str){pieces[i], strlen(pieces[i])};
        scores[PIECES + i] = piece_scores[i];
        types[PIECES + i] = BN_TOKEN_NORMAL;
    }
    bn_vocab_spec s;
    bn_vocab_spec_init(&s);
    s.model = "llama";
    s.n_tokens = (uint32_t)n;
    s.tokens = tok;
    s.scores = scores;
    s.token_types = types;
    s.bos_id = 1;
    s.eos_id = 2;
    s.unk_id = 0;
    bn_vocab *v;
    ck_assert_msg(bn_vocab_create(&s, &v) == BN_OK, "%s", bn_last_error());
    const int32_t SP = PIECES, A = PIECES + 1, B = PIECES + 2, C = PIECES + 3, BC = PIECES + 5,
                  SA = PIECES + 6;
    /* "abc" -> "▁abc": bc (-1) beats ▁a (-3) and ab (-5); then ▁a + bc has
     * no token: ▁a, bc. */
    encode_eq(v, "abc", 0, (int32_t[]){SA, BC}, 2);
    /* "ab": ▁a (-3) first, then ▁ab (-4). */
    encode_eq(v, "ab", BN_TOK_ADD_SPECIAL, (int32_t[]){1, PIECES + 7}, 2);
    /* Spaces become ▁; 'é' has no piece: its bytes. */
    encode_eq(v, "c \xC3\xA9", 0, (int32_t[]){SP, C, SP, BYTE0 + 0xC3, BYTE0 + 0xA9}, 5);
    decode_eq(v, (int32_t[]){SP, C, SP, BYTE0 + 0xC3, BYTE0 + 0xA9}, 5, BN_DETOK_STRIP_PREFIX,
              "c \xC3\xA9");
    decode_eq(v, (int32_t[]){SP, C}, 2, 0, " c");
    (void)A;
    (void)B;
    bn_vocab_free(v);
    free(tok);
    free(scores);
    free(types);
}
END_TEST

/* ---- chat ------------------------------------------------------------------------ */

static void render_eq(bn_chat_style st, int gen, const char *want) {
    const bn_chat_msg msgs[] = {{"system", "Be brief."}, {"user", "  Hi there\n"}};
    bn_text out = {0};
    ck_assert_int_eq(bn_chat_render(st, msgs, 2, gen, &out), BN_OK);
    ck_assert_msg(strcmp(out.data, want) == 0, "rendered '%s'\nwant '%s'", out.data, want);
    bn_text_free(&out);
}

START_TEST(chat_templates) {
    render_eq(BN_CHAT_LLAMA3, 1,
              "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
              "<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>"
              "<|start_header_id|>assistant<|end_header_id|>\n\n");
    render_eq(BN_CHAT_BITNET, 1, "System: Be brief.<|eot_id|>User: Hi there<|eot_id|>Assistant: ");
    render_eq(BN_CHAT_BITNET, 0, "System: Be brief.<|eot_id|>User: Hi there<|eot_id|>");
    render_eq(BN_CHAT_PLAIN, 1, "System: Be brief.\nUser: Hi there\nAssistant:");
    /* Template families, by their telling parts. */
    ck_assert_int_eq(bn_chat_detect("{% for m in messages %}{{ '<|start_header_id|>' + m['role'] + "
                                    "'<|end_header_id|>\\n\\n' + m['content'] + '<|eot_id|>' }}"
                                    "{% endfor %}"),
                     BN_CHAT_LLAMA3);
    ck_assert_int_eq(bn_chat_detect("{% for m in messages %}{{ m['role'] | capitalize + ': ' + "
                                    "m['content'] | trim + '<|eot_id|>' }}{% endfor %}"
                                    "{% if add_generation_prompt %}{{ 'Assistant: ' }}{% endif %}"),
                     BN_CHAT_BITNET);
    ck_assert_int_eq(bn_chat_detect(NULL), BN_CHAT_PLAIN);
    ck_assert_str_eq(bn_chat_style_name(BN_CHAT_BITNET), "bitnet");
}
END_TEST

START_TEST(chat_detect_unknown) {
    int lvl = bn_log_get_level();
    bn_log_set_level(BN_LOG_ERROR); /* the warning is expected */
    ck_assert_int_eq(bn_chat_detect("{{ messages[0]['content'] }}<|im_end|>"), BN_CHAT_PLAIN);
    bn_log_set_level(lvl);
}
END_TEST

/* ---- printing and import errors --------------------------------------------------- */

START_TEST(print_tokens) {
    const char *extra[] = {"<|eot|>", "Ġhi"};
    const int32_t types[] = {BN_TOKEN_CONTROL, BN_TOKEN_NORMAL};
    bn_vocab *v = make_bpe(extra, 2, NULL, 0, types);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    const int32_t ids[] = {257, '\n', 256, 0xC3};
    bn_tokens_print(f, v, ids, 4, 0);
    bn_tokens_print(f, v, ids, 4, 1);
    fclose(f);
    ck_assert_str_eq(buf, "   257\t' hi'\n    10\t'\\n'\n   256\t'<|eot|>'\n   195\t'\\xc3'\n"
                          "257 10 256 195\n");
    free(buf);
    bn_vocab_free(v);
}
END_TEST

static void write_text(const char *path, const char *s) {
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(s, f);
    fclose(f);
}

START_TEST(import_errors) {
    char path[4096];
    int lvl = bn_log_get_level();
    bn_vocab *v = (bn_vocab *)1;
    ck_assert_int_eq(bn_tokenizer_import_hf("/nonexistent/tokenizer", NULL, &v), BN_ERR_NOT_FOUND);
    ck_assert_ptr_null(v);
    tok_tmp_path(path, sizeof path, "bad.json");
    write_text(path, "{\"model\": {\"type\": \"BPE\", ");
    ck_assert_int_eq(bn_tokenizer_import_hf(path, NULL, &v), BN_ERR_FORMAT);
    write_text(path, "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}}");
    ck_assert_int_eq(bn_tokenizer_import_hf(path, NULL, &v), BN_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(bn_last_error(), "WordPiece"));
    write_text(path, "{\"pre_tokenizer\": {\"type\": \"Whitespace\"}, \"model\": {\"type\": \"BPE\", "
                     "\"vocab\": {\"a\": 0}, \"merges\": []}}");
    ck_assert_int_eq(bn_tokenizer_import_hf(path, NULL, &v), BN_ERR_UNSUPPORTED);
    /* A minimal GPT-2 style one imports: ids with gaps become unused. */
    write_text(path, "{\"pre_tokenizer\": {\"type\": \"ByteLevel\", \"use_regex\": true}, "
                     "\"added_tokens\": [{\"id\": 5, \"content\": \"<eos>\", \"special\": true}], "
                     "\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2}, "
                     "\"merges\": [[\"a\", \"b\"]]}}");
    bn_log_set_level(BN_LOG_ERROR);
    ck_assert_msg(bn_tokenizer_import_hf(path, NULL, &v) == BN_OK, "%s", bn_last_error());
    bn_log_set_level(lvl);
    ck_assert_int_eq(bn_vocab_n_tokens(v), 6);
    ck_assert_str_eq(bn_vocab_pre_name(v), "gpt-2");
    ck_assert_int_eq(bn_vocab_token_type(v, 3), BN_TOKEN_UNUSED);
    ck_assert_int_eq(bn_vocab_token_type(v, 5), BN_TOKEN_CONTROL);
    encode_eq(v, "ab", 0, (int32_t[]){2}, 1);
    bn_vocab_free(v);
    tok_tmp_cleanup();
}
END_TEST

static Suite *unit_suite(void) {
    Suite *s = suite_create("tok_units");
    TCase *tc;
#define ADD(fn)                                                                                     \
    tc = tcase_create(#fn);                                                                         \
    tcase_add_test(tc, fn);                                                                         \
    tcase_set_timeout(tc, 30);                                                                      \
    suite_add_tcase(s, tc)
    ADD(utf8_sanitize);
    ADD(bytelevel_alphabet);
    ADD(detok_streaming);
    ADD(detok_invalid);
    ADD(special_tokens);
    ADD(chat_templates);
    ADD(chat_detect_unknown);
    ADD(print_tokens);
    ADD(import_errors);
    ADD(tiny_bpe);
    ADD(tiny_spm);
    ADD(long_word);
    return s;
}

int main(int argc, char **argv) {
    SRunner *sr = srunner_create(unit_suite());
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run(sr, NULL, argc > 1 ? argv[1] : NULL, CK_NORMAL);
    int failed = srunner_ntests_failed(sr), run = srunner_ntests_run(sr);
    srunner_free(sr);
    tok_tmp_cleanup();
    return failed || run == 0 ? 1 : 0;
}
