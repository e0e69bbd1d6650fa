/*
 * Ternary formats and their per-tensor scale through the converters.
 *
 * From a tiny Hugging Face checkpoint (the xval fixtures): HF -> I2_S, and
 * I2_S -> TQ2_0 -> I2_S, I2_S -> TQ1_0 -> TQ2_0 -> I2_S by requantisation.
 * The round trips must give back every tensor byte for byte; the TQ files
 * must carry blocks with d = 1 plus an exact "<base>.scale" F32 tensor,
 * equal to what HF -> TQ writes directly; and a TQ file must give the very
 * same logits as the I2_S file on every usable plugin. The `blocks` option
 * (scale folded into fp16 d) writes no scale tensors and keeps the codes.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bitnet/convert.h"
#include "bitnet/gguf.h"
#include "bitnet/model.h"

static bn_settings settings;
static bn_engine *engine;
static char dir[256];

static void path_of(const char *name, char *out, size_t len) { snprintf(out, len, "%s/%s.gguf", dir, name); }

static void convert_hf(const char *name, int32_t type, int in_blocks) {
    char out[512];
    path_of(name, out, sizeof out);
    bn_convert_opts o;
    bn_convert_opts_init(&o);
    o.type = type;
    o.tq_scale_in_blocks = in_blocks;
    ck_assert_msg(bn_convert_hf(engine, XVAL_FIXTURES "/b158_relu2", out, &o) == BN_OK, "%s", bn_last_error());
}

static void requant(const char *from, const char *to, int32_t type, int in_blocks) {
    char in[512], out[512];
    path_of(from, in, sizeof in);
    path_of(to, out, sizeof out);
    bn_convert_opts o;
    bn_convert_opts_init(&o);
    o.type = type;
    o.tq_scale_in_blocks = in_blocks;
    ck_assert_msg(bn_requantize(engine, in, out, &o) == BN_OK, "%s -> %s: %s", from, to, bn_last_error());
}

static bn_gguf *open_named(const char *name) {
    char p[512];
    path_of(name, p, sizeof p);
    bn_gguf *g = NULL;
    ck_assert_msg(bn_gguf_open(p, &g) == BN_OK, "%s: %s", p, bn_last_error());
    return g;
}

static int is_scale_name(const char *name) {
    size_t n = strlen(name);
    return n > 6 && !strcmp(name + n - 6, ".scale");
}

/* Same tensors (names, order, types, shapes, bytes) in both files. */
static void assert_same_tensors(const char *a_name, const char *b_name) {
    bn_gguf *a = open_named(a_name), *b = open_named(b_name);
    ck_assert_uint_eq(bn_gguf_tensor_count(a), bn_gguf_tensor_count(b));
    for (uint64_t i = 0; i < bn_gguf_tensor_count(a); i++) {
        const bn_gguf_tensor *x = bn_gguf_tensor_at(a, i), *y = bn_gguf_tensor_at(b, i);
        ck_assert_str_eq(x->name, y->name);
        ck_assert_msg(x->ggml_type == y->ggml_type && x->size == y->size && !memcmp(x->ne, y->ne, sizeof x->ne),
                      "%s: %s vs %s differ in type or shape", x->name, a_name, b_name);
        ck_assert_msg(!memcmp(x->data, y->data, x->size), "%s: bytes differ between %s and %s", x->name, a_name,
                      b_name);
    }
    bn_gguf_close(a);
    bn_gguf_close(b);
}

static float rd_f32(const void *p) {
    float f;
    memcpy(&f, p, 4);
    return f;
}

/* TQ blocks hold d = 1 and "<base>.scale" the I2_S file's float32 scale. */
static void assert_tq_scales(const char *i2s_name, const char *tq_name, int32_t tq_type) {
    bn_gguf *a = open_named(i2s_name), *b = open_named(tq_name);
    int n_ternary = 0, n_scales = 0;
    size_t block = tq_type == BN_TYPE_TQ2_0 ? 66 : 54, d_at = block - 2;
    for (uint64_t i = 0; i < bn_gguf_tensor_count(b); i++) {
        const bn_gguf_tensor *t = bn_gguf_tensor_at(b, i);
        n_scales += is_scale_name(t->name);
        if (t->type != tq_type)
            continue;
        n_ternary++;
        const bn_gguf_tensor *src = bn_gguf_find_tensor(a, t->name);
        ck_assert_ptr_nonnull(src);
        ck_assert_int_eq(src->type, BN_TYPE_I2_S);
        for (uint64_t k = 0; k < t->size / block; k++) {
            uint16_t d;
            memcpy(&d, (const unsigned char *)t->data + k * block + d_at, 2);
            ck_assert_msg(d == 0x3C00, "%s block %llu: d = 0x%04x, want 1.0", t->name, (unsigned long long)k, d);
        }
        char sname[128];
        snprintf(sname, sizeof sname, "%.*s.scale", (int)(strlen(t->name) - strlen(".weight")), t->name);
        const bn_gguf_tensor *s = bn_gguf_find_tensor(b, sname);
        ck_assert_msg(s && s->type == BN_TYPE_F32 && s->n_elems == 1, "%s: no F32 [1] '%s'", t->name, sname);
        float want = rd_f32((const unsigned char *)src->data + src->n_elems / 4);
        ck_assert_msg(rd_f32(s->data) == want, "%s = %.9g, I2_S scale %.9g", sname, (double)rd_f32(s->data),
                      (double)want);
    }
    ck_assert_int_eq(n_ternary, 14); /* 2 layers x 7 linear layers */
    ck_assert_int_eq(n_scales, n_ternary);
    ck_assert_uint_eq(bn_gguf_tensor_count(b), bn_gguf_tensor_count(a) + (uint64_t)n_scales);
    bn_gguf_close(a);
    bn_gguf_close(b);
}

START_TEST(i2s_tq_round_trips_are_lossless) {
    convert_hf("hf-i2s", BN_TYPE_I2_S, 0);
    convert_hf("hf-tq2", BN_TYPE_TQ2_0, 0);
    requant("hf-i2s", "rq-tq2", BN_TYPE_TQ2_0, 0);
    assert_tq_scales("hf-i2s", "rq-tq2", BN_TYPE_TQ2_0);
    assert_same_tensors("hf-tq2", "rq-tq2"); /* HF -> TQ2_0 == HF -> I2_S -> TQ2_0 */
    requant("rq-tq2", "rq-i2s", BN_TYPE_I2_S, 0);
    assert_same_tensors("hf-i2s", "rq-i2s"); /* the .scale tensors are folded back, not duplicated */
    requant("hf-i2s", "rq-tq1", BN_TYPE_TQ1_0, 0);
    assert_tq_scales("hf-i2s", "rq-tq1", BN_TYPE_TQ1_0);
    requant("rq-tq1", "rq-tq1-tq2", BN_TYPE_TQ2_0, 0);
    assert_same_tensors("rq-tq2", "rq-tq1-tq2");
    requant("rq-tq1-tq2", "rq-tq1-tq2-i2s", BN_TYPE_I2_S, 0);
    assert_same_tensors("hf-i2s", "rq-tq1-tq2-i2s");
}
END_TEST

/* Scale folded into fp16 d: no scale tensors, the same codes; going to
 * the separate-scale layout and back to I2_S keeps the (fp16) scale. */
START_TEST(scale_in_blocks_option) {
    convert_hf("hf-i2s", BN_TYPE_I2_S, 0);
    requant("hf-i2s", "blk-tq2", BN_TYPE_TQ2_0, 1);
    convert_hf("hf-blk-tq2", BN_TYPE_TQ2_0, 1);
    assert_same_tensors("hf-blk-tq2", "blk-tq2");
    bn_gguf *a = open_named("hf-i2s"), *b = open_named("blk-tq2");
    ck_assert_uint_eq(bn_gguf_tensor_count(a), bn_gguf_tensor_count(b));
    for (uint64_t i = 0; i < bn_gguf_tensor_count(b); i++)
        ck_assert_msg(!is_scale_name(bn_gguf_tensor_at(b, i)->name), "unexpected %s", bn_gguf_tensor_at(b, i)->name);
    bn_gguf_close(b);
    requant("blk-tq2", "blk-i2s", BN_TYPE_I2_S, 0);
    b = open_named("blk-i2s");
    for (uint64_t i = 0; i < bn_gguf_tensor_count(a); i++) {
        const bn_gguf_tensor *x = bn_gguf_tensor_at(a, i), *y = bn_gguf_tensor_at(b, i);
        if (x->type != BN_TYPE_I2_S)
            continue;
        uint64_t codes = (uint64_t)x->n_elems / 4;
        ck_assert_msg(!memcmp(x->data, y->data, codes), "%s: codes differ", x->name);
        float s = rd_f32((const unsigned char *)x->data + codes), s16 = rd_f32((const unsigned char *)y->data + codes);
        int e;
        float m = frexpf(s16, &e) * 2048.0f; /* fp16: 11 significant bits */
        ck_assert_msg(m == floorf(m) && fabsf(s16 - s) <= s * 0x1p-11f,
                      "%s: scale %.9g -> %.9g is not its fp16 rounding", x->name, (double)s, (double)s16);
    }
    bn_gguf_close(a);
    bn_gguf_close(b);
    /* The same type with the scale moved is re-encoded, and back. */
    requant("blk-tq2", "blk-tq2-sep", BN_TYPE_TQ2_0, 0);
    requant("blk-tq2-sep", "blk-tq2-again", BN_TYPE_TQ2_0, 1);
    assert_same_tensors("blk-tq2", "blk-tq2-again");
}
END_TEST

static float *logits_of(const char *plugin, const char *name, int n_tok, int *n_vocab) {
    char p[512];
    path_of(name, p, sizeof p);
    bn_settings st = settings;
    st.backend = (char *)plugin;
    bn_engine *e = NULL;
    ck_assert_msg(bn_engine_create(&st, &e) == BN_OK, "%s", bn_last_error());
    bn_model_opts mo;
    bn_model_opts_init(&mo);
    mo.n_ctx = 64;
    mo.kv_type = BN_TYPE_F32;
    bn_model *m = NULL;
    ck_assert_msg(bn_model_load(e, p, &mo, &m) == BN_OK, "%s: %s", p, bn_last_error());
    bn_session *s = NULL;
    ck_assert_msg(bn_session_create(m, &s) == BN_OK, "%s", bn_last_error());
    int V = *n_vocab = bn_model_hparams(m)->n_vocab;
    int32_t ids[16];
    for (int i = 0; i < n_tok; i++)
        ids[i] = (int32_t)((i * 37 + 5) % V);
    float *lg = malloc(sizeof *lg * (size_t)n_tok * (size_t)V);
    ck_assert_ptr_nonnull(lg);
    ck_assert_msg(bn_session_eval(s, ids, n_tok, lg, 1) == BN_OK, "%s", bn_last_error());
    bn_session_free(s);
    bn_model_free(m);
    bn_engine_free(e);
    return lg;
}

/* d = 1 and the scale apart: the TQ kernels compute exactly what the I2_S
 * kernels do, on every plugin. */
START_TEST(tq_logits_equal_i2s_logits) {
    convert_hf("hf-i2s", BN_TYPE_I2_S, 0);
    convert_hf("hf-tq2", BN_TYPE_TQ2_0, 0);
    convert_hf("hf-tq1", BN_TYPE_TQ1_0, 0);
    enum { N = 12 };
    int tested = 0;
    for (size_t i = 0; i < bn_engine_plugin_count(engine); i++) {
        const bn_plugin_report *r = bn_engine_plugin(engine, i);
        if (!r->usable)
            continue;
        int V = 0;
        float *a = logits_of(r->name, "hf-i2s", N, &V), *b = logits_of(r->name, "hf-tq2", N, &V),
              *c = logits_of(r->name, "hf-tq1", N, &V);
        size_t n = (size_t)N * (size_t)V;
        size_t diff_b = 0, diff_c = 0;
        for (size_t k = 0; k < n; k++) {
            diff_b += a[k] != b[k];
            diff_c += a[k] != c[k];
        }
        printf("requant %-10s TQ2_0 vs I2_S: %zu of %zu logits differ; TQ1_0: %zu\n", r->name, diff_b, n, diff_c);
        ck_assert_msg(!diff_b && !diff_c, "%s: TQ logits differ from I2_S", r->name);
        free(a);
        free(b);
        free(c);
        tested++;
    }
    ck_assert_int_ge(tested, 1);
}
END_TEST

static void remove_all(void) {
    static const char *const names[] = {"hf-i2s", "hf-tq2", "hf-tq1", "rq-tq2", "rq-i2s", "rq-tq1", "rq-tq1-tq2",
                                        "rq-tq1-tq2-i2s", "blk-tq2", "hf-blk-tq2", "blk-i2s", "blk-tq2-sep",
                                        "blk-tq2-again"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char p[512];
        path_of(names[i], p, sizeof p);
        unlink(p);
    }
    rmdir(dir);
}

int main(void) {
    bn_cli_overrides cli;
    bn_cli_overrides_init(&cli);
    if (bn_settings_resolve(&cli, &settings) != BN_OK || bn_engine_create(&settings, &engine) != BN_OK) {
        fprintf(stderr, "requant: engine: %s\n", bn_last_error());
        return 1;
    }
    const char *t = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/bitnet-requant-XXXXXX", t && t[0] ? t : "/tmp");
    if (!mkdtemp(dir)) {
        perror("requant: mkdtemp");
        return 1;
    }
    Suite *s = suite_create("requant");
    TCase *tc = tcase_create("ternary scales");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, i2s_tq_round_trips_are_lossless);
    tcase_add_test(tc, scale_in_blocks_option);
    tcase_add_test(tc, tq_logits_equal_i2s_logits);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK); /* the engine's thread pool does not survive fork() */
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    remove_all();
    bn_engine_free(engine);
    bn_settings_free(&settings);
    return failed ? 1 : 0;
}
