/* GGUF reader against truncated, corrupt and hostile files, and the
 * identification of tensor types (ids 36-39 by size). Every refusal must be
 * clean (no crash, no leak under ASan) and name the problem. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bitnet/gguf.h"
#include "gguf_test_util.h"

/* Expect refusal with a message containing each non-NULL fragment. The
 * reader gets a copy of exactly b->len bytes so ASan sees any overread. */
static void refused(const img *b, bn_status want, const char *frag1, const char *frag2) {
    void *c = malloc(b->len ? b->len : 1);
    memcpy(c, b->p, b->len);
    bn_gguf *g = (bn_gguf *)1;
    bn_status st = bn_gguf_open_memory(c, b->len, &g);
    bn_gguf *opened = st == BN_OK ? g : NULL;
    bn_gguf_close(opened);
    free(c);
    ck_assert_msg(st == want, "status %d (want %d): %s", st, want, bn_last_error());
    ck_assert_ptr_null(g); /* set to NULL on failure */
    if (frag1)
        ck_assert_msg(strstr(bn_last_error(), frag1), "'%s' not in: %s", frag1, bn_last_error());
    if (frag2)
        ck_assert_msg(strstr(bn_last_error(), frag2), "'%s' not in: %s", frag2, bn_last_error());
}

static bn_gguf *accepted(const img *b) {
    bn_gguf *g = NULL;
    bn_status st = bn_gguf_open_memory(b->p, b->len, &g);
    ck_assert_msg(st == BN_OK, "refused: %s", bn_last_error());
    return g;
}

/* ---- truncation at every length ------------------------------------------------- */

START_TEST(bad_truncated_every_length) {
    bn_gguf_writer *w;
    ck_assert_int_eq(bn_gguf_writer_create(&w), BN_OK);
    const char *toks[] = {"a", "bc", ""};
    float sc[] = {1, 2, 3};
    bn_gguf_writer_set_str(w, "general.architecture", "llama");
    bn_gguf_writer_set_str_array(w, "tokenizer.ggml.tokens", toks, 3);
    bn_gguf_writer_set_array(w, "tokenizer.ggml.scores", BN_GGUF_F32, sc, 3);
    bn_gguf_writer_set_u64(w, "x.u64", 7);
    static uint8_t d1[34 * 2], d2[64]; /* last tensor a multiple of 32 bytes: no trailing padding */
    ck_assert_int_eq(bn_gguf_writer_add_tensor(w, "q8", 8, 2, (int64_t[]){32, 2}, d1, sizeof d1), BN_OK);
    ck_assert_int_eq(bn_gguf_writer_add_tensor(w, "f32", 0, 1, (int64_t[]){16}, d2, sizeof d2), BN_OK);
    char path[1024];
    tmp_path(path, sizeof path, "trunc.gguf");
    ck_assert_int_eq(bn_gguf_writer_write(w, path), BN_OK);
    bn_gguf_writer_free(w);
    size_t n;
    uint8_t *full = read_file(path, &n);
    ck_assert_ptr_nonnull(full);
    bn_gguf *g = NULL;
    ck_assert_int_eq(bn_gguf_open_memory(full, n, &g), BN_OK);
    bn_gguf_close(g);
    for (size_t len = 0; len < n; len++) {
        uint8_t *c = malloc(len ? len : 1);
        memcpy(c, full, len);
        g = (bn_gguf *)1;
        bn_status st = bn_gguf_open_memory(c, len, &g);
        ck_assert_msg(st != BN_OK, "truncated to %zu of %zu bytes but accepted", len, n);
        ck_assert_ptr_null(g);
        ck_assert_msg(bn_last_error()[0] != 0, "no message at length %zu", len);
        free(c);
    }
    /* through the file path (mmap) as well, a few lengths */
    size_t lens[] = {0, 3, 4, 23, n / 2, n - 1};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        ck_assert_int_eq(write_file(path, full, lens[i]), 0);
        g = (bn_gguf *)1;
        ck_assert_int_ne(bn_gguf_open(path, &g), BN_OK);
        ck_assert_ptr_null(g);
        ck_assert_ptr_nonnull(strstr(bn_last_error(), path));
    }
    free(full);
}
END_TEST

START_TEST(bad_missing_file) {
    bn_gguf *g = (bn_gguf *)1;
    ck_assert_int_eq(bn_gguf_open("/nonexistent-bitnet/x.gguf", &g), BN_ERR_NOT_FOUND);
    ck_assert_ptr_null(g);
    ck_assert_int_eq(bn_gguf_open(tmp_dir(), &g), BN_ERR_IO); /* a directory */
}
END_TEST

/* ---- header ------------------------------------------------------------------- */

START_TEST(bad_magic) {
    img b = {0};
    img_model(&b, 3, NULL, 0, 0);
    b.p[3] = 'X';
    refused(&b, BN_ERR_FORMAT, "magic", NULL);
    free(b.p);
}
END_TEST

START_TEST(bad_absurd_counts) {
    img b = {0};
    img_bytes(&b, "GGUF", 4);
    img_u32(&b, 3);
    img_u64(&b, 1000000000000000000ull); /* 1e18 tensors */
    img_u64(&b, 0);
    img_fill(&b, 64, 0);
    refused(&b, BN_ERR_FORMAT, "tensor count 1000000000000000000", NULL);
    free(b.p);
    b = (img){0};
    img_bytes(&b, "GGUF", 4);
    img_u32(&b, 3);
    img_u64(&b, 0);
    img_u64(&b, 1000000000000000000ull); /* 1e18 keys */
    img_fill(&b, 64, 0);
    refused(&b, BN_ERR_FORMAT, "metadata count", NULL);
    free(b.p);
    b = (img){0};
    img_bytes(&b, "GGUF", 4);
    img_u32(&b, 3);
    img_u64(&b, 0);
    img_u64(&b, 1);
    img_str(&b, "big.array");
    img_u32(&b, 9);
    img_u32(&b, 8); /* strings */
    img_u64(&b, 1000000000000000000ull);
    img_fill(&b, 64, 0);
    refused(&b, BN_ERR_FORMAT, "big.array", "cannot fit");
    free(b.p);
}
END_TEST

START_TEST(bad_string_past_eof) {
    img b = {0};
    img_bytes(&b, "GGUF", 4);
    img_u32(&b, 3);
    img_u64(&b, 0);
    img_u64(&b, 1);
    img_str(&b, "k");
    img_u32(&b, 8);
    img_u64(&b, 100); /* string of 100 bytes, 5 present */
    img_bytes(&b, "hello", 5);
    refused(&b, BN_ERR_FORMAT, "past end of file", NULL);
    free(b.p);
    b = (img){0};
    img_bytes(&b, "GGUF", 4);
    img_u32(&b, 3);
    img_u64(&b, 0);
    img_u64(&b, 1);
    img_u64(&b, UINT64_MAX); /* key length */
    img_fill(&b, 16, 'k');
    refused(&b, BN_ERR_FORMAT, "past end of file", NULL);
    free(b.p);
}
END_TEST

START_TEST(bad_value_types) {
    img b = {0};
    img_bytes(&b, "GGUF", 4);
    img_u32(&b, 3);
    img_u64(&b, 0);
    img_u64(&b, 1);
    img_str(&b, "odd");
    img_u32(&b, 13); /* no such value type */
    img_fill(&b, 16, 0);
    refused(&b, BN_ERR_FORMAT, "odd", "unknown value type 13");
    free(b.p);
    /* arrays nested too deep */
    b = (img){0};
    img_bytes(&b, "GGUF", 4);
    img_u32(&b, 3);
    img_u64(&b, 0);
    img_u64(&b, 1);
    img_str(&b, "deep");
    img_u32(&b, 9);
    for (int i = 0; i < 20; i++) {
        img_u32(&b, 9);
        img_u64(&b, 1);
    }
    img_fill(&b, 64, 0);
    refused(&b, BN_ERR_FORMAT, "deep", "nested");
    free(b.p);
}
END_TEST

START_TEST(bad_duplicate_keys) {
    img b = {0};
    img_bytes(&b, "GGUF", 4);
    img_u32(&b, 3);
    img_u64(&b, 0);
    img_u64(&b, 2);
    for (int i = 0; i < 2; i++) {
        img_str(&b, "general.name");
        img_u32(&b, 4);
        img_u32(&b, (uint32_t)i);
    }
    refused(&b, BN_ERR_FORMAT, "duplicate", "general.name");
    free(b.p);
}
END_TEST

START_TEST(bad_alignment_key) {
    uint32_t values[] = {0, 3, 48};
    for (int i = 0; i < 3; i++) {
        img b = {0};
        img_bytes(&b, "GGUF", 4);
        img_u32(&b, 3);
        img_u64(&b, 0);
        img_u64(&b, 1);
        img_str(&b, "general.alignment");
        img_u32(&b, 4);
        img_u32(&b, values[i]);
        refused(&b, BN_ERR_FORMAT, "alignment", NULL);
        free(b.p);
    }
    img b = {0};
    img_bytes(&b, "GGUF", 4);
    img_u32(&b, 3);
    img_u64(&b, 0);
    img_u64(&b, 1);
    img_str(&b, "general.alignment");
    img_u32(&b, 8);
    img_str(&b, "32");
    refused(&b, BN_ERR_FORMAT, "general.alignment", "string");
    free(b.p);
}
END_TEST

/* ---- tensor table ----------------------------------------------------------------- */

START_TEST(bad_n_dims) {
    uint32_t dims[] = {0, 5};
    for (int i = 0; i < 2; i++) {
        img b = {0};
        tinfo t[] = {{"blk.0.w", dims[i], {4, 1, 1, 1, 1}, 0, 0}};
        img_model(&b, 3, t, 1, 64);
        char want[32];
        snprintf(want, sizeof want, "n_dims %u", dims[i]);
        refused(&b, BN_ERR_FORMAT, "blk.0.w", want);
        free(b.p);
    }
}
END_TEST

START_TEST(bad_ne) {
    struct { uint64_t ne[4]; uint32_t n; const char *frag; } cases[] = {
        {{1ull << 32, 1ull << 32}, 2, "overflow"},
        {{1ull << 62, 4}, 2, "overflow"},
        {{1ull << 63}, 1, "out of range"},
        {{4, 0}, 2, "ne[1] = 0"},
        {{1ull << 40, 1ull << 20}, 2, "past end of file"}, /* fits int64, far past EOF */
        {{(1ull << 61) + 32, 2}, 2, "overflow"}, /* elements fit, bytes (x4) do not */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        img b = {0};
        tinfo t[] = {{"w", cases[i].n, {0}, 0, 0}};
        memcpy(t[0].ne, cases[i].ne, sizeof cases[i].ne);
        img_model(&b, 3, t, 1, 64);
        refused(&b, BN_ERR_FORMAT, "'w'", cases[i].frag);
        free(b.p);
    }
}
END_TEST

START_TEST(bad_duplicate_tensor_names) {
    img b = {0};
    tinfo t[] = {{"w", 1, {8}, 0, 0}, {"w", 1, {8}, 0, 32}};
    img_model(&b, 3, t, 2, 64);
    refused(&b, BN_ERR_FORMAT, "duplicate", "'w'");
    free(b.p);
}
END_TEST

START_TEST(bad_offsets) {
    img b = {0};
    tinfo mis[] = {{"mis", 1, {4}, 0, 16}};
    img_model(&b, 3, mis, 1, 64);
    refused(&b, BN_ERR_FORMAT, "'mis'", "not a multiple of the alignment 32");
    free(b.p);

    b = (img){0};
    tinfo over[] = {{"first", 1, {16}, 0, 0}, {"second", 1, {8}, 0, 32}}; /* first is 64 bytes */
    img_model(&b, 3, over, 2, 128);
    refused(&b, BN_ERR_FORMAT, "'first'", "overlaps tensor 'second'");
    free(b.p);

    b = (img){0};
    tinfo same[] = {{"a", 1, {8}, 0, 0}, {"b", 1, {8}, 0, 0}};
    img_model(&b, 3, same, 2, 64);
    refused(&b, BN_ERR_FORMAT, "overlaps", NULL);
    free(b.p);

    b = (img){0};
    tinfo past[] = {{"tail", 1, {32}, 0, 0}}; /* 128 bytes, only 100 present */
    img_model(&b, 3, past, 1, 100);
    refused(&b, BN_ERR_FORMAT, "'tail'", "runs past end of file");
    free(b.p);

    b = (img){0};
    tinfo far[] = {{"far", 1, {8}, 0, 1ull << 40}};
    img_model(&b, 3, far, 1, 64);
    refused(&b, BN_ERR_FORMAT, "'far'", "past end of file");
    free(b.p);

    b = (img){0};
    tinfo huge[] = {{"huge", 1, {8}, 0, UINT64_MAX - 31}}; /* aligned, offset + base overflows */
    img_model(&b, 3, huge, 1, 64);
    refused(&b, BN_ERR_FORMAT, "'huge'", NULL);
    free(b.p);
}
END_TEST

START_TEST(bad_unknown_type) {
    img b = {0};
    tinfo t[] = {{"blk.1.attn_q.weight", 1, {32}, 99, 0}};
    img_model(&b, 3, t, 1, 128);
    refused(&b, BN_ERR_FORMAT, "blk.1.attn_q.weight", "unknown type id 99");
    free(b.p);
    b = (img){0};
    tinfo t4[] = {{"old", 1, {32}, 4, 0}}; /* Q4_2, long removed */
    img_model(&b, 3, t4, 1, 128);
    refused(&b, BN_ERR_FORMAT, "'old'", "unknown type id 4");
    free(b.p);
}
END_TEST

START_TEST(bad_block_shape) {
    img b = {0};
    tinfo t[] = {{"q", 2, {33, 2}, 8, 0}}; /* Q8_0 rows must be multiples of 32 */
    img_model(&b, 3, t, 1, 128);
    refused(&b, BN_ERR_FORMAT, "'q'", "not a multiple of the Q8_0 block size 32");
    free(b.p);
}
END_TEST

/* ---- type identification ---------------------------------------------------------- */

START_TEST(types_q_ids_are_not_ternary) {
    /* Q4_0 (2), Q5_0 (6), Q8_0 (8): sized by their real block layouts
     * (18, 22, 34 bytes per 32 elements), never taken for ternary types. */
    img b = {0};
    tinfo t[] = {{"q4", 2, {32, 4}, 2, 0}, {"q5", 2, {32, 4}, 6, 96}, {"q8", 2, {32, 4}, 8, 192}};
    img_model(&b, 3, t, 3, 192 + 136);
    bn_gguf *g = accepted(&b);
    const bn_gguf_tensor *q4 = bn_gguf_find_tensor(g, "q4"), *q5 = bn_gguf_find_tensor(g, "q5"),
                         *q8 = bn_gguf_find_tensor(g, "q8");
    ck_assert_str_eq(q4->type_name, "Q4_0");
    ck_assert_uint_eq(q4->size, 72);
    ck_assert_int_eq(q4->type, -1);
    ck_assert_int_eq(q4->supported, 0);
    ck_assert_str_eq(q5->type_name, "Q5_0");
    ck_assert_uint_eq(q5->size, 88);
    ck_assert_int_eq(q5->type, -1);
    ck_assert_int_eq(q5->supported, 0);
    ck_assert_str_eq(q8->type_name, "Q8_0");
    ck_assert_uint_eq(q8->size, 136);
    ck_assert_int_eq(q8->type, BN_TYPE_Q8_0);
    ck_assert_int_eq(q8->supported, 1);
    for (int i = 0; i < 3; i++)
        ck_assert(!bn_type_is_ternary(bn_gguf_tensor_at(g, (uint64_t)i)->type));
    ck_assert_int_eq(bn_gguf_require_tensor(g, "q5", NULL), BN_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(bn_last_error(), "tensor 'q5': type id 6 (Q5_0) is not supported"));
    bn_gguf_close(g);
    free(b.p);
}
END_TEST

START_TEST(types_i2s_by_size) {
    /* 4096 elements: I2_S = 4096/4 + 32 = 1056 bytes; IQ4_NL_4_4 = 128 * 18 = 2304 */
    img b = {0};
    tinfo t[] = {{"blk.0.ffn_up.weight", 2, {256, 16}, 36, 0}, {"next", 1, {8}, 0, 1056}};
    img_model(&b, 3, t, 2, 1056 + 32);
    bn_gguf *g = accepted(&b);
    const bn_gguf_tensor *w = bn_gguf_find_tensor(g, "blk.0.ffn_up.weight");
    ck_assert_str_eq(w->type_name, "I2_S");
    ck_assert_int_eq(w->type, BN_TYPE_I2_S);
    ck_assert_uint_eq(w->size, 1056);
    ck_assert_int_eq(w->supported, 1);
    ck_assert_int_eq(bn_gguf_require_tensor(g, "blk.0.ffn_up.weight", &w), BN_OK);
    bn_gguf_close(g);
    free(b.p);

    /* the same id spanning 1500 bytes fits neither: refused, naming the tensor */
    b = (img){0};
    tinfo bad[] = {{"blk.0.ffn_up.weight", 2, {256, 16}, 36, 0}, {"next", 1, {8}, 0, 1504}};
    img_model(&b, 3, bad, 2, 1504 + 32);
    refused(&b, BN_ERR_FORMAT, "tensor 'blk.0.ffn_up.weight': type id 36", "I2_S (1056 bytes)");
    free(b.p);

    /* as the last tensor, with the data cut short */
    b = (img){0};
    tinfo last[] = {{"last", 2, {256, 16}, 36, 0}};
    img_model(&b, 3, last, 1, 1000);
    refused(&b, BN_ERR_FORMAT, "'last'", "fits neither");
    free(b.p);

    /* span of an upstream IQ4_NL_4_4 tensor: identified as that, unsupported */
    b = (img){0};
    tinfo iq4[] = {{"iq", 2, {256, 16}, 36, 0}};
    img_model(&b, 3, iq4, 1, 2304);
    bn_gguf *g2 = accepted(&b);
    const bn_gguf_tensor *iq = bn_gguf_find_tensor(g2, "iq");
    ck_assert_str_eq(iq->type_name, "IQ4_NL_4_4");
    ck_assert_int_eq(iq->supported, 0);
    ck_assert_int_eq(iq->type, -1);
    bn_gguf_close(g2);
    free(b.p);

    /* I2_S whose element count is not a multiple of 128: identified, not supported */
    b = (img){0};
    tinfo odd[] = {{"odd", 1, {192}, 36, 0}}; /* 192/4 + 32 = 80 bytes */
    img_model(&b, 3, odd, 1, 80);
    g2 = accepted(&b);
    iq = bn_gguf_find_tensor(g2, "odd");
    ck_assert_str_eq(iq->type_name, "I2_S");
    ck_assert_int_eq(iq->supported, 0);
    ck_assert_ptr_nonnull(strstr(iq->reason, "'odd'"));
    bn_gguf_close(g2);
    free(b.p);
}
END_TEST

START_TEST(types_id39_by_size) {
    /* 4096 elements: MXFP4 = 128 blocks * 17 = 2176 bytes */
    img b = {0};
    tinfo mx[] = {{"blk.2.ffn_down.weight", 2, {4096, 1}, 39, 0}};
    img_model(&b, 3, mx, 1, 2176);
    bn_gguf *g = accepted(&b);
    const bn_gguf_tensor *t = bn_gguf_find_tensor(g, "blk.2.ffn_down.weight");
    ck_assert_str_eq(t->type_name, "MXFP4");
    ck_assert_int_eq(t->supported, 0);
    ck_assert_int_eq(t->type, -1);
    ck_assert_ptr_nonnull(strstr(t->reason, "MXFP4"));
    ck_assert_int_eq(bn_gguf_require_tensor(g, "blk.2.ffn_down.weight", NULL), BN_ERR_UNSUPPORTED);
    bn_gguf_close(g);
    free(b.p);

    /* ~1.67 bits per weight + a scale: the BitNet TL2 tiling */
    b = (img){0};
    tinfo tl[] = {{"blk.2.ffn_down.weight", 2, {4096, 1}, 39, 0}};
    img_model(&b, 3, tl, 1, 896);
    g = accepted(&b);
    t = bn_gguf_find_tensor(g, "blk.2.ffn_down.weight");
    ck_assert_str_eq(t->type_name, "TL2");
    ck_assert_int_eq(t->type, BN_TYPE_TL2);
    ck_assert_int_eq(t->supported, 0);
    ck_assert_ptr_nonnull(strstr(t->reason, "tiled for a specific model shape"));
    ck_assert_ptr_nonnull(strstr(t->reason, "convert to I2_S/TQ2_0"));
    ck_assert_ptr_nonnull(strstr(t->reason, "blk.2.ffn_down.weight"));
    bn_gguf_close(g);
    free(b.p);

    /* one byte per weight fits neither */
    b = (img){0};
    tinfo big[] = {{"w39", 2, {4096, 1}, 39, 0}};
    img_model(&b, 3, big, 1, 4096);
    refused(&b, BN_ERR_FORMAT, "'w39'", "fits neither");
    free(b.p);

    /* small tensor where both readings fit within the padding: refused */
    b = (img){0};
    tinfo amb[] = {{"amb", 1, {512}, 39, 0}}; /* MXFP4 272 bytes; TL2 plausible up to 288 */
    img_model(&b, 3, amb, 1, 288);
    refused(&b, BN_ERR_FORMAT, "'amb'", "ambiguous");
    free(b.p);
}
END_TEST

START_TEST(types_tl1_id38) {
    img b = {0};
    tinfo tl[] = {{"w38", 2, {4096, 1}, 38, 0}}; /* 2 bits per weight + 32 */
    img_model(&b, 3, tl, 1, 1056);
    bn_gguf *g = accepted(&b);
    const bn_gguf_tensor *t = bn_gguf_find_tensor(g, "w38");
    ck_assert_str_eq(t->type_name, "TL1");
    ck_assert_int_eq(t->supported, 0);
    bn_gguf_close(g);
    free(b.p);
}
END_TEST

START_TEST(types_require_list) {
    img b = {0};
    tinfo t[] = {{"ok", 1, {8}, 0, 0}, {"q5k", 1, {256}, 13, 32}};
    img_model(&b, 3, t, 2, 32 + 176);
    bn_gguf *g = accepted(&b);
    const char *need1[] = {"ok", "q5k"};
    ck_assert_int_eq(bn_gguf_require_tensors(g, need1, 2), BN_ERR_UNSUPPORTED);
    ck_assert_str_eq(bn_last_error(), "tensor 'q5k': type id 13 (Q5_K) is not supported by bitnet");
    const char *need2[] = {"ok", "missing", "q5k"};
    ck_assert_int_eq(bn_gguf_require_tensors(g, need2, 3), BN_ERR_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(bn_last_error(), "'missing'"));
    ck_assert_int_eq(bn_gguf_require_tensors(g, need1, 1), BN_OK);
    ck_assert_ptr_null(bn_ggml_type_lookup(36));
    ck_assert_ptr_null(bn_ggml_type_lookup(99));
    ck_assert_str_eq(bn_ggml_type_lookup(13)->name, "Q5_K");
    ck_assert_int_eq(bn_ggml_type_lookup(34)->block_bytes, 54);
    bn_gguf_close(g);
    free(b.p);
}
END_TEST

static Suite *bad_suite(void) {
    Suite *s = suite_create("gguf_bad");
    TCase *tc;
#define ADD(fn) tc = tcase_create(#fn); tcase_add_test(tc, fn); tcase_set_timeout(tc, 30); suite_add_tcase(s, tc)
    ADD(bad_truncated_every_length);
    ADD(bad_missing_file);
    ADD(bad_magic);
    ADD(bad_absurd_counts);
    ADD(bad_string_past_eof);
    ADD(bad_value_types);
    ADD(bad_duplicate_keys);
    ADD(bad_alignment_key);
    ADD(bad_n_dims);
    ADD(bad_ne);
    ADD(bad_duplicate_tensor_names);
    ADD(bad_offsets);
    ADD(bad_unknown_type);
    ADD(bad_block_shape);
    ADD(types_q_ids_are_not_ternary);
    ADD(types_i2s_by_size);
    ADD(types_id39_by_size);
    ADD(types_tl1_id38);
    ADD(types_require_list);
#undef ADD
    return s;
}

int main(int argc, char **argv) {
    SRunner *sr = srunner_create(bad_suite());
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run(sr, NULL, argc > 1 ? argv[1] : NULL, CK_NORMAL);
    int failed = srunner_ntests_failed(sr), run = srunner_ntests_run(sr);
    srunner_free(sr);
    tmp_cleanup();
    return failed == 0 && run > 0 ? 0 : 1;
}
