/* Model loading refuses bad files with a message naming the problem:
 * missing tensors, wrong architecture, wrong shapes, non-ternary types where
 * ternary ones are expected, missing hyperparameters, truncation, absurd
 * memory needs; sessions refuse context overflow and bad token ids. Every
 * variant is the tiny random model (argv[1]) copied with one change. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bitnet/gguf.h>
#include <bitnet/model.h>

static const char *base_path;
static char tmpdir[64];

typedef struct change {
    const char *drop_tensor;  /* leave this tensor out */
    const char *drop_key;     /* leave this key out */
    const char *set_arch;     /* replace general.architecture */
    const char *as_other;     /* tensor name ... */
    const char *other_src;    /* ... gets this tensor's shape, type and data */
    const char *q4_tensor;    /* store this tensor as Q4_0 of the right size */
    uint32_t set_layers;      /* replace block_count */
    const char *add_scale;    /* add this one-value scale tensor ... */
    uint32_t scale_type;      /* ... of this ggml type (0 F32, 1 F16) */
    float scale_value;
} change;

static char *variant(const change *c, const char *tag) {
    static char path[128];
    snprintf(path, sizeof path, "%s/%s.gguf", tmpdir, tag);
    bn_gguf *g;
    ck_assert_msg(bn_gguf_open(base_path, &g) == BN_OK, "%s", bn_last_error());
    bn_gguf_writer *w;
    ck_assert_int_eq(bn_gguf_writer_create(&w), BN_OK);
    for (uint64_t i = 0; i < bn_gguf_kv_count(g); i++) {
        const char *k = bn_gguf_kv_key(g, i);
        if (c->drop_key && !strcmp(k, c->drop_key))
            continue;
        ck_assert_int_eq(bn_gguf_writer_set_value(w, k, bn_gguf_kv_value(g, i)), BN_OK);
    }
    if (c->set_arch)
        bn_gguf_writer_set_str(w, "general.architecture", c->set_arch);
    if (c->set_layers)
        bn_gguf_writer_set_u32(w, "bitnet-b1.58.block_count", c->set_layers);
    static unsigned char q4[1 << 20];
    for (uint64_t i = 0; i < bn_gguf_tensor_count(g); i++) {
        const bn_gguf_tensor *t = bn_gguf_tensor_at(g, i);
        if (c->drop_tensor && !strcmp(t->name, c->drop_tensor))
            continue;
        if (c->as_other && !strcmp(t->name, c->as_other)) {
            const bn_gguf_tensor *o = bn_gguf_find_tensor(g, c->other_src);
            ck_assert_ptr_nonnull(o);
            ck_assert_int_eq(bn_gguf_writer_add_tensor(w, t->name, o->ggml_type, o->n_dims, o->ne, o->data, o->size), BN_OK);
            continue;
        }
        if (c->q4_tensor && !strcmp(t->name, c->q4_tensor)) {
            uint64_t size = (uint64_t)t->n_elems / 32 * 18; /* Q4_0: 32 weights -> 18 bytes */
            ck_assert_uint_le(size, sizeof q4);
            memset(q4, 0x11, size);
            ck_assert_int_eq(bn_gguf_writer_add_tensor(w, t->name, 2, t->n_dims, t->ne, q4, size), BN_OK);
            continue;
        }
        ck_assert_int_eq(bn_gguf_writer_add_tensor(w, t->name, t->ggml_type, t->n_dims, t->ne, t->data, t->size), BN_OK);
    }
    float f32 = c->scale_value;
    uint16_t f16 = 0x3C00; /* 1.0 */
    int64_t one = 1;
    if (c->add_scale)
        ck_assert_int_eq(bn_gguf_writer_add_tensor(w, c->add_scale, c->scale_type, 1, &one,
                                                   c->scale_type ? (const void *)&f16 : (const void *)&f32,
                                                   c->scale_type ? 2 : 4),
                         BN_OK);
    ck_assert_msg(bn_gguf_writer_write(w, path) == BN_OK, "%s", bn_last_error());
    bn_gguf_writer_free(w);
    bn_gguf_close(g);
    return path;
}

static bn_engine *engine(void) {
    bn_settings s;
    bn_cli_overrides cli;
    bn_cli_overrides_init(&cli);
    cli.backend = "reference";
    cli.threads = 1;
    ck_assert_int_eq(bn_settings_resolve(&cli, &s), BN_OK);
    bn_engine *e = NULL;
    ck_assert_msg(bn_engine_create(&s, &e) == BN_OK, "%s", bn_last_error());
    bn_settings_free(&s);
    return e;
}

/* Loading `path` must fail with status st and a message containing needle. */
static void expect_refused(const char *path, bn_status st, const char *needle) {
    bn_engine *e = engine();
    bn_model_opts o;
    bn_model_opts_init(&o);
    o.n_ctx = 64;
    bn_model *m = NULL;
    bn_status got = bn_model_load(e, path, &o, &m);
    ck_assert_ptr_null(m);
    ck_assert_msg(got == st, "status %d (%s), want %d", got, bn_last_error(), st);
    ck_assert_msg(strstr(bn_last_error(), needle), "message '%s' lacks '%s'", bn_last_error(), needle);
    bn_engine_free(e);
}

static void setup(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/bitnet-model-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

/* Each test writes at most one file into its own directory. */
static void teardown(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
}

START_TEST(base_model_runs) {
    bn_engine *e = engine();
    bn_model_opts o;
    bn_model_opts_init(&o);
    o.n_ctx = 16;
    bn_model *m = NULL;
    ck_assert_msg(bn_model_load(e, base_path, &o, &m) == BN_OK, "%s", bn_last_error());
    const bn_hparams *hp = bn_model_hparams(m);
    bn_session *s;
    ck_assert_int_eq(bn_session_create(m, &s), BN_OK);
    int32_t toks[4] = {1, 2, 3, 4};
    float *logits = malloc(sizeof *logits * (size_t)hp->n_vocab * 4);
    ck_assert_int_eq(bn_session_eval(s, toks, 4, logits, 1), BN_OK);
    for (int i = 0; i < hp->n_vocab * 4; i++)
        ck_assert_msg(isfinite(logits[i]), "logit %d not finite", i);
    /* batched prompt and one-at-a-time decode agree */
    float *one = malloc(sizeof *one * (size_t)hp->n_vocab);
    bn_session_reset(s);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(bn_session_eval(s, &toks[i], 1, one, 0), BN_OK);
    double dot = 0, na = 0, nb = 0;
    for (int k = 0; k < hp->n_vocab; k++) {
        double a = logits[3 * hp->n_vocab + k], b = one[k];
        dot += a * b, na += a * a, nb += b * b;
    }
    ck_assert_msg(dot / sqrt(na * nb) > 0.9999, "batched vs sequential cosine %g", dot / sqrt(na * nb));
    /* context overflow and bad token ids */
    int32_t many[16] = {0};
    ck_assert_int_eq(bn_session_eval(s, many, 16, NULL, 0), BN_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(bn_last_error(), "context full"));
    int32_t bad = hp->n_vocab;
    ck_assert_int_eq(bn_session_eval(s, &bad, 1, NULL, 0), BN_ERR_INVALID);
    ck_assert_ptr_nonnull(strstr(bn_last_error(), "outside the vocabulary"));
    bad = -1;
    ck_assert_int_eq(bn_session_eval(s, &bad, 1, NULL, 0), BN_ERR_INVALID);
    free(one);
    free(logits);
    bn_session_free(s);
    bn_model_free(m);
    bn_engine_free(e);
}
END_TEST

START_TEST(missing_tensor) {
    change c = {.drop_tensor = "blk.1.ffn_up.weight"};
    expect_refused(variant(&c, "missing"), BN_ERR_NOT_FOUND, "blk.1.ffn_up.weight");
}
END_TEST

START_TEST(missing_sub_norm) {
    change c = {.drop_tensor = "blk.0.attn_sub_norm.weight"};
    expect_refused(variant(&c, "nosub"), BN_ERR_FORMAT, "blk.0.attn_sub_norm.weight");
}
END_TEST

START_TEST(wrong_arch) {
    change c = {.set_arch = "gptj"};
    expect_refused(variant(&c, "arch"), BN_ERR_UNSUPPORTED, "architecture 'gptj' is not supported");
}
END_TEST

START_TEST(wrong_shape) {
    change c = {.as_other = "blk.0.attn_q.weight", .other_src = "blk.0.attn_k.weight"};
    expect_refused(variant(&c, "shape"), BN_ERR_FORMAT, "tensor 'blk.0.attn_q.weight' has shape");
}
END_TEST

START_TEST(q4_where_ternary_expected) {
    change c = {.q4_tensor = "blk.0.attn_v.weight"};
    expect_refused(variant(&c, "q4"), BN_ERR_UNSUPPORTED, "blk.0.attn_v.weight");
    ck_assert_ptr_nonnull(strstr(bn_last_error(), "Q4_0"));
}
END_TEST

/* A separate per-tensor scale ("<base>.scale") must be one usable F32. */
START_TEST(bad_scale_tensor) {
    change zero = {.add_scale = "blk.0.attn_q.scale", .scale_value = 0.0f};
    expect_refused(variant(&zero, "scale"), BN_ERR_FORMAT, "blk.0.attn_q.scale");
    ck_assert_ptr_nonnull(strstr(bn_last_error(), "unusable scale"));
    change inf = {.add_scale = "blk.1.ffn_down.weight.scale", .scale_value = INFINITY};
    expect_refused(variant(&inf, "scale"), BN_ERR_FORMAT, "blk.1.ffn_down.weight.scale");
    change f16 = {.add_scale = "blk.0.attn_k.scale", .scale_type = 1};
    expect_refused(variant(&f16, "scale"), BN_ERR_FORMAT, "must be a single F32 value");
}
END_TEST

START_TEST(missing_hparam) {
    change c = {.drop_key = "bitnet-b1.58.feed_forward_length"};
    expect_refused(variant(&c, "nohp"), BN_ERR_FORMAT, "feed_forward_length");
}
END_TEST

START_TEST(absurd_memory_refused_before_loading) {
    change c = {.set_layers = 1u << 20};
    const char *p = variant(&c, "huge");
    bn_engine *e = engine();
    bn_model_opts o;
    bn_model_opts_init(&o);
    o.n_ctx = 1 << 20;
    o.kv_type = BN_TYPE_F32;
    bn_model *m = NULL;
    ck_assert_int_eq(bn_model_load(e, p, &o, &m), BN_ERR_NOMEM);
    ck_assert_msg(strstr(bn_last_error(), "GiB") && strstr(bn_last_error(), "available"), "%s", bn_last_error());
    bn_engine_free(e);
}
END_TEST

START_TEST(truncated_file) {
    char path[128];
    snprintf(path, sizeof path, "%s/trunc.gguf", tmpdir);
    FILE *in = fopen(base_path, "rb"), *out = fopen(path, "wb");
    ck_assert(in && out);
    fseek(in, 0, SEEK_END);
    long n = ftell(in);
    fseek(in, 0, SEEK_SET);
    char *buf = malloc((size_t)n);
    ck_assert_int_eq(fread(buf, 1, (size_t)n, in), n);
    fwrite(buf, 1, (size_t)(n - 1000), out);
    fclose(in);
    fclose(out);
    free(buf);
    bn_engine *e = engine();
    bn_model *m = NULL;
    ck_assert_int_eq(bn_model_load(e, path, NULL, &m), BN_ERR_FORMAT);
    ck_assert_msg(strstr(bn_last_error(), "past"), "%s", bn_last_error());
    bn_engine_free(e);
}
END_TEST

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: test_model_errors TINY_MODEL.gguf\n");
        return 2;
    }
    base_path = argv[1];
    Suite *s = suite_create("model");
    TCase *tc = tcase_create("errors");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, base_model_runs);
    tcase_add_test(tc, missing_tensor);
    tcase_add_test(tc, bad_scale_tensor);
    tcase_add_test(tc, missing_sub_norm);
    tcase_add_test(tc, wrong_arch);
    tcase_add_test(tc, wrong_shape);
    tcase_add_test(tc, q4_where_ternary_expected);
    tcase_add_test(tc, missing_hparam);
    tcase_add_test(tc, absurd_memory_refused_before_loading);
    tcase_add_test(tc, truncated_file);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
