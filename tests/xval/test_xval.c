/*
 * Cross-validation against Hugging Face transformers.
 *
 * For every checkpoint folder under XVAL_FIXTURES (tiny random BitNet
 * models written by gen_fixtures.py together with the logits transformers
 * computes for them) and every ternary format: convert with bn_convert_hf,
 * load on every usable plugin, and compare
 *   - all-position logits of each reference sequence: cosine >= COS_ALL at
 *     every position, >= COS_LAST at the last, max |delta logit|, relative
 *     L2 error and the logit scale bounded (looser bounds for the F16 KV
 *     cache runs, see below), on every format with both cache types;
 *   - a 32-token greedy continuation, one token per eval: exactly the ids
 *     transformers chose;
 *   - the tokenizer imported from tokenizer.json: the ids HF tokenizers gave.
 * Negative controls: copies of a converted file with the RoPE order of Q/K
 * swapped, attn_sub_norm replaced by attn_norm or by the next layer's,
 * ffn_sub_norm set to ones, every logit scaled by 1.01, RoPE base 10000 <->
 * 500000, RMS epsilon / 10 - the strict (F32 cache) bounds must FAIL on each,
 * so the checks above have teeth. The subtle ones score close: epsilon / 10
 * reaches cosine 0.9995 / 0.9991 and is rejected; logits * 1.01 keeps
 * cosine 1.000000 and greedy 32/32 and is rejected by the scale bound.
 * BN_XVAL_PLUGINS=a,b limits the plugins and BN_XVAL_NO_CONTROLS=1 skips
 * the controls (emulated CPUs: scripts/test-aarch64.sh).
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bitnet/convert.h"
#include "bitnet/model.h"
#include "bitnet/tokenizer.h"
#include "xval_compare.h"
#include "xval_fixture.h"
#include "xval_mutate.h"

/* Thresholds.
 * F32 KV cache: the 0.9999 (last position) / 0.999 (every position).
 * The reference logits are computed in float64 (gen_fixtures.py), and the
 * converter keeps TQ1_0/TQ2_0 scales exact (a separate .scale tensor), so
 * what is left is the engine's own float32 rounding: where an activation
 * lies within ~1e-6 of an int8 rounding boundary, it may round the other
 * way (as float32 in another order may), and the later per-token
 * quantisations carry that to ~0.1 logits. Measured worst over all cases,
 * formats and env.plugins: 0.99993 last / 0.99985 all (one such flip); most
 * sequences match to 1e-6. The margin below 0.9999 is that of one flip in
 * these tiny (hidden 256) models: a plugin change that rounds differently
 * may land one more flip; a wrong formula scores far lower (see below).
 * The *_stock cases (stock transformers in float32, no float64 parts) meet
 * the same bounds: measured worst F32 0.99995 last / 0.99970 all, max |delta|
 * 0.139, rel 0.025, scale 1 - 1.2e-4; F16 0.99920 all, 0.228, 0.039,
 * 1 - 4.9e-4.
 * F16 KV cache (the engine's default, as llama.cpp's): K/V rounded to fp16
 * flip many more activations; measured worst 0.99911 / 0.99788, so these
 * runs use 0.998 / 0.995, about twice the measured deficit.
 * Every deliberate mistake below scores <= 0.967 last / <= 0.936 all and
 * must fail the strict F32 bounds.
 * The cosine cannot see a wrong overall scale of the logits, so the size of
 * the error is bounded too (measured over every case, format and plugin,
 * each bound about twice the worst, the scale bound eight times for F32):
 *   max |delta logit|      F32 0.121  -> 0.25    F16 0.329  -> 0.6
 *   ||delta|| / ||ref||    F32 0.0172 -> 0.035   F16 0.0651 -> 0.12
 *   |s - 1|, s the least-squares scale of ours against the reference over a
 *   sequence: F32 6e-5 -> 5e-4, F16 1.9e-3 -> 4e-3; a logit scale off by
 *   1 % fails both. */
#define COS_LAST 0.9999
#define COS_ALL 0.999
#define COS_LAST_F16_KV 0.998
#define COS_ALL_F16_KV 0.995
#define MAX_ABS 0.25
#define MAX_ABS_F16_KV 0.6
#define REL_L2 0.035
#define REL_L2_F16_KV 0.12
#define SCALE_DEV 5e-4
#define SCALE_DEV_F16_KV 4e-3
/* A Q8_0 cache (--kv-type q8_0) rounds each cached value to 1/254 of its
 * 32-block's largest magnitude, much coarser than F16's 11 bits: measured
 * 0.9976 / 0.9961 / 0.45 / 0.089 / 2.4e-3 at worst (b158_packed), about
 * twice the F16 cache's deviation; the bounds leave a margin below that
 * and a logit scale off by 1 % still fails. */
#define COS_LAST_Q8_KV 0.995
#define COS_ALL_Q8_KV 0.99
#define MAX_ABS_Q8_KV 0.8
#define REL_L2_Q8_KV 0.15
#define SCALE_DEV_Q8_KV 5e-3

/* The *_stock cases: the same checkpoints with references from stock
 * transformers in float32 (gen_stock_fixtures.py), judged by the STOCK_
 * bounds below. */
static const char *const case_names[] = {"b158_relu2", "bitnet_silu", "b158_packed", "b158_relu2_stock",
                                         "bitnet_silu_stock"};
enum { N_CASES = 5 };
static int is_stock(int ci) { return strstr(case_names[ci], "_stock") != NULL; }
static const int32_t formats[] = {BN_TYPE_I2_S, BN_TYPE_TQ1_0, BN_TYPE_TQ2_0};
enum { N_FORMATS = 3 };

static xv_case cases[N_CASES];
static xv_env env; /* engine, usable plugins, temp dir */

static void gguf_path(int ci, int fi, char *out, size_t len) {
    snprintf(out, len, "%s/%s-%s.gguf", env.tmp_dir, case_names[ci], bn_type_name(formats[fi]));
}

/* Every bound above, for the run's KV cache type. */
static int within_bounds(const cmp_result *r, int32_t kv_type) {
    if (kv_type == BN_TYPE_Q8_0)
        return r->cos_last >= COS_LAST_Q8_KV && r->cos_min >= COS_ALL_Q8_KV && r->max_abs <= MAX_ABS_Q8_KV &&
               r->rel_l2 <= REL_L2_Q8_KV && fabs(r->scale - 1.0) <= SCALE_DEV_Q8_KV;
    int f16 = kv_type == BN_TYPE_F16;
    return r->cos_last >= (f16 ? COS_LAST_F16_KV : COS_LAST) && r->cos_min >= (f16 ? COS_ALL_F16_KV : COS_ALL) &&
           r->max_abs <= (f16 ? MAX_ABS_F16_KV : MAX_ABS) && r->rel_l2 <= (f16 ? REL_L2_F16_KV : REL_L2) &&
           fabs(r->scale - 1.0) <= (f16 ? SCALE_DEV_F16_KV : SCALE_DEV);
}

/* One (case, format, plugin, KV type) run: logits and greedy. */
static void run_case(int ci, int fi, const char *plugin, int32_t kv_type, int32_t n_batch) {
    const xv_case *c = &cases[ci];
    char path[512];
    gguf_path(ci, fi, path, sizeof path);
    bn_engine *e = xv_engine_for(&env.settings, plugin);
    bn_model *m = xv_load(e, path, kv_type, n_batch);
    ck_assert_str_eq(bn_model_backend_name(m), plugin);
    ck_assert_int_eq(bn_model_hparams(m)->n_vocab, c->n_vocab);
    bn_session *s = NULL;
    ck_assert_msg(bn_session_create(m, &s) == BN_OK, "session: %s", bn_last_error());
    char tag[160];
    snprintf(tag, sizeof tag, "%-11s %-5s %-10s kv=%s%s", c->name, bn_type_name(formats[fi]), plugin,
             bn_type_name(kv_type), n_batch ? " n_batch=5" : "");
    int bad = 0;
    for (int i = 0; i < c->n_seq; i++) {
        cmp_result r;
        xv_compare_seq(s, c, &c->seq[i], &r);
        int ok = within_bounds(&r, kv_type);
        printf("xval %s seq=%-6s len=%2d cos_last=%.7f cos_min=%.7f max|dlogit|=%.5f rel_l2=%.6f scale=%.6f %s\n",
               tag, c->seq[i].label, c->seq[i].n, r.cos_last, r.cos_min, r.max_abs, r.rel_l2, r.scale,
               ok ? "ok" : "FAIL");
        bad += !ok;
    }
    /* The stock references' greedy runs have top-2 gaps of 0.01-0.02 logits,
     * inside the float32 noise of the reference itself (one int8 flip moves
     * a logit ~0.1): their tokens are printed, not required; the generated
     * texts are compared position by position as sequences gen1 / gen2. */
    int want_greedy = !is_stock(ci);
    int32_t got[XV_MAX_IDS];
    int diff = xv_greedy_match(s, c, got);
    printf("xval %s greedy %d/%d tokens match (reference min top-2 gap %.4f)%s\n", tag, diff, c->n_gen, c->gap,
           diff == c->n_gen ? "" : want_greedy ? " FAIL" : " (not required: reference gap within its noise)");
    if (diff < c->n_gen)
        printf("xval   step %d: got %d, want %d\n", diff, got[diff], c->greedy[c->prompt_len + diff]);
    fflush(stdout);
    bn_session_free(s);
    bn_model_free(m);
    bn_engine_free(e);
    ck_assert_msg(!bad, "%s: logits differ from transformers", tag);
    ck_assert_msg(diff == c->n_gen || !want_greedy, "%s: greedy continuation differs at step %d", tag, diff);
}

/* Loop index -> (case, format). */
START_TEST(t_logits_and_greedy) {
    int ci = _i / N_FORMATS, fi = _i % N_FORMATS;
    for (int p = 0; p < env.n_plugins; p++) {
        run_case(ci, fi, env.plugins[p], BN_TYPE_F32, 0);
        /* the default cache type, and prompts split over several batches */
        run_case(ci, fi, env.plugins[p], BN_TYPE_F16, 5);
        /* the 8-bit cache (--kv-type q8_0), within its own bounds */
        run_case(ci, fi, env.plugins[p], BN_TYPE_Q8_0, 0);
    }
}
END_TEST

/* The vocabulary imported from tokenizer.json encodes like HF tokenizers. */
START_TEST(t_tokenizer) {
    const xv_case *c = &cases[_i];
    char path[512];
    gguf_path(_i, 0, path, sizeof path);
    bn_gguf *g = NULL;
    bn_vocab *v = NULL;
    ck_assert_msg(bn_gguf_open(path, &g) == BN_OK, "%s", bn_last_error());
    ck_assert_msg(bn_vocab_load_gguf(g, &v) == BN_OK, "vocab: %s", bn_last_error());
    ck_assert_int_eq(bn_vocab_n_tokens(v), c->n_vocab);
    for (int i = 0; i < c->n_tok; i++) {
        bn_tokens out = {0};
        ck_assert_msg(bn_tokenize(v, c->tok[i].text, strlen(c->tok[i].text), 0, &out) == BN_OK, "%s",
                      bn_last_error());
        int same = out.n == (size_t)c->tok[i].n;
        for (size_t k = 0; same && k < out.n; k++)
            same = out.ids[k] == c->tok[i].ids[k];
        printf("xval %s tokenizer text %d: %zu ids, HF %d ids: %s\n", c->name, i, out.n, c->tok[i].n,
               same ? "same" : "DIFFERENT");
        bn_tokens_free(&out);
        ck_assert_msg(same, "%s: text %d tokenizes differently from HF", c->name, i);
    }
    bn_vocab_free(v);
    bn_gguf_close(g);
}
END_TEST

static const struct {
    xv_mutation what;
    const char *name;
    int ci;
} controls[] = {
    {XV_ROPE_SWAP, "rope-order-swapped", 0},          /* NEOX model, Q/K rows in NORM order */
    {XV_ROPE_SWAP, "rope-order-swapped", 1},          /* bitnet (SiLU) model, NEOX too */
    {XV_ATTN_SUB_NORM_FROM_ATTN_NORM, "attn_sub_norm:=attn_norm", 0},
    {XV_FFN_SUB_NORM_ONES, "ffn_sub_norm:=1", 0},
    {XV_FFN_SUB_NORM_ONES, "ffn_sub_norm:=1", 1},
    {XV_OUTPUT_NORM_1PCT, "logits*1.01", 0},          /* cosine 1.0: only the size bounds see it */
    {XV_OUTPUT_NORM_1PCT, "logits*1.01", 1},
    {XV_ROPE_BASE, "rope-base-500000<->10000", 0},
    {XV_ROPE_BASE, "rope-base-500000<->10000", 1},
    {XV_NORM_EPS, "rms-eps/10", 0},
    {XV_NORM_EPS, "rms-eps/10", 1},
    {XV_SUB_NORM_OTHER_LAYER, "sub-norm-from-layer-1", 0},
    {XV_SUB_NORM_OTHER_LAYER, "sub-norm-from-layer-1", 1},
};
enum { N_CONTROLS = sizeof controls / sizeof controls[0] };

/* Each deliberate mistake must fail the strict (F32 cache) bounds. */
START_TEST(t_negative_control) {
    const xv_case *c = &cases[controls[_i].ci];
    char in[512], out[600], err[512];
    gguf_path(controls[_i].ci, 0, in, sizeof in);
    snprintf(out, sizeof out, "%s/control-%d.gguf", env.tmp_dir, _i);
    ck_assert_msg(xv_mutate(in, out, controls[_i].what, err, sizeof err) == 0, "%s", err);
    bn_model *m = xv_load(env.engine, out, BN_TYPE_F32, 0);
    bn_session *s = NULL;
    ck_assert_msg(bn_session_create(m, &s) == BN_OK, "session: %s", bn_last_error());
    int caught = 0;
    for (int i = 0; i < c->n_seq; i++) {
        cmp_result r;
        xv_compare_seq(s, c, &c->seq[i], &r);
        int fails = !within_bounds(&r, 0);
        printf("xval control %-24s %-11s seq=%-6s cos_last=%.6f cos_min=%.6f max|dlogit|=%.4f rel_l2=%.4f "
               "scale=%.5f -> %s\n", controls[_i].name, c->name, c->seq[i].label, r.cos_last, r.cos_min, r.max_abs,
               r.rel_l2, r.scale, fails ? "rejected (good)" : "ACCEPTED");
        caught += fails;
    }
    int32_t got[XV_MAX_IDS];
    int diff = xv_greedy_match(s, c, got);
    printf("xval control %-24s %-11s greedy: first difference at step %d of %d\n", controls[_i].name, c->name, diff,
           c->n_gen);
    fflush(stdout);
    bn_session_free(s);
    bn_model_free(m);
    unlink(out);
    ck_assert_msg(caught == c->n_seq, "control '%s' on %s passed the bounds on %d of %d sequences",
                  controls[_i].name, c->name, c->n_seq - caught, c->n_seq);
}
END_TEST

static int setup_all(void) {
    if (xv_env_setup(&env, "xval"))
        return -1;
    for (int ci = 0; ci < N_CASES; ci++) {
        char dir[1024], err[1200];
        snprintf(dir, sizeof dir, "%s/%s", XVAL_FIXTURES, case_names[ci]);
        if (xv_case_load(dir, &cases[ci], err, sizeof err)) {
            fprintf(stderr, "xval: %s\n", err);
            return -1;
        }
        for (int fi = 0; fi < N_FORMATS; fi++) {
            bn_convert_opts o;
            bn_convert_opts_init(&o);
            o.type = formats[fi];
            char path[512];
            gguf_path(ci, fi, path, sizeof path);
            if (bn_convert_hf(env.engine, dir, path, &o) != BN_OK) {
                fprintf(stderr, "xval: convert %s to %s: %s\n", dir, bn_type_name(formats[fi]), bn_last_error());
                return -1;
            }
        }
    }
    return 0;
}

static void teardown_all(void) {
    for (int ci = 0; ci < N_CASES; ci++) {
        for (int fi = 0; fi < N_FORMATS; fi++) {
            char path[512];
            gguf_path(ci, fi, path, sizeof path);
            unlink(path);
        }
        xv_case_free(&cases[ci]);
    }
    xv_env_free(&env);
}

int main(void) {
    int failed = 1;
    if (setup_all() == 0) {
        Suite *s = suite_create("xval");
        TCase *tc = tcase_create("transformers");
        tcase_set_timeout(tc, 300);
        tcase_add_loop_test(tc, t_tokenizer, 0, N_CASES);
        tcase_add_loop_test(tc, t_logits_and_greedy, 0, N_CASES * N_FORMATS);
        /* the controls test the bounds, not a plugin: BN_XVAL_NO_CONTROLS=1
         * leaves them to the native run (emulated CPUs) */
        const char *nc = getenv("BN_XVAL_NO_CONTROLS");
        if (!nc || !*nc || !strcmp(nc, "0"))
            tcase_add_loop_test(tc, t_negative_control, 0, N_CONTROLS);
        suite_add_tcase(s, tc);
        SRunner *sr = srunner_create(s);
        srunner_set_fork_status(sr, CK_NOFORK); /* the engine's thread pool does not survive fork() */
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
    }
    teardown_all();
    return failed ? 1 : 0;
}
