/*
 * The bundled model (models/default.gguf) against the PyTorch model it was
 * trained as (training/model.py, eval mode, the same ternary / int8
 * quantisation and the F16-rounded embedding): logits.bin holds held-out
 * token sequences and the logits PyTorch computed for every position
 * (written by training/export.py). On every usable plugin, with an F32 and
 * the default F16 KV cache, every position must reach cosine >= 0.999.
 * Control: the same logits compared one position off must fail the
 * criterion, so the check can tell a right answer from a plausible one.
 * BN_TRAINED_MODEL=<file> runs the same checks on a re-encoding of the
 * model (TQ1_0 / TQ2_0 from `bitnet convert --type`, made on another
 * machine: scripts/test-aarch64.sh).
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bitnet/model.h"

#define COS_MIN 0.999
#define MAX_SEQ 8

typedef struct ref_seq {
    int32_t n;
    int32_t *ids;
    float *logits; /* n * n_vocab */
} ref_seq;

static ref_seq seqs[MAX_SEQ];

static const char *model_path(void) {
    const char *p = getenv("BN_TRAINED_MODEL");
    return p && *p ? p : BITNET_DEFAULT_MODEL;
}
static int n_seq;
static int32_t n_vocab;
static bn_settings settings;
static char plugins[16][64];
static int n_plugins;

static int read_fixture(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    char magic[4];
    int32_t hdr[2];
    int ok = fread(magic, 1, 4, f) == 4 && !memcmp(magic, "BNLG", 4) && fread(hdr, 4, 2, f) == 2 && hdr[0] > 0 &&
             hdr[0] <= MAX_SEQ && hdr[1] > 0;
    if (ok) {
        n_seq = hdr[0];
        n_vocab = hdr[1];
    }
    for (int i = 0; ok && i < n_seq; i++) {
        ref_seq *s = &seqs[i];
        ok = fread(&s->n, 4, 1, f) == 1 && s->n > 0 && s->n <= 4096;
        if (!ok)
            break;
        s->ids = malloc(sizeof *s->ids * (size_t)s->n);
        s->logits = malloc(sizeof *s->logits * (size_t)s->n * (size_t)n_vocab);
        ok = s->ids && s->logits && fread(s->ids, 4, (size_t)s->n, f) == (size_t)s->n &&
             fread(s->logits, 4, (size_t)s->n * (size_t)n_vocab, f) == (size_t)s->n * (size_t)n_vocab;
    }
    ok = ok && fgetc(f) == EOF; /* nothing left over: the layout was read as written */
    fclose(f);
    return ok ? 0 : -1;
}

static double cosine(const float *a, const float *b, int n) {
    double ab = 0, aa = 0, bb = 0;
    for (int i = 0; i < n; i++) {
        ab += (double)a[i] * b[i];
        aa += (double)a[i] * a[i];
        bb += (double)b[i] * b[i];
    }
    return ab / (sqrt(aa) * sqrt(bb) + 1e-300);
}

static int argmax(const float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best])
            best = i;
    return best;
}

static bn_engine *engine_for(const char *plugin) {
    bn_settings st = settings;
    st.backend = (char *)plugin;
    bn_engine *e = NULL;
    ck_assert_msg(bn_engine_create(&st, &e) == BN_OK, "engine for '%s': %s", plugin, bn_last_error());
    return e;
}

/* Engine logits for every position of sequence i (caller frees). */
static float *eval_seq(bn_session *s, int i) {
    float *lg = malloc(sizeof *lg * (size_t)seqs[i].n * (size_t)n_vocab);
    ck_assert_ptr_nonnull(lg);
    bn_session_reset(s);
    ck_assert_msg(bn_session_eval(s, seqs[i].ids, seqs[i].n, lg, 1) == BN_OK, "eval: %s", bn_last_error());
    return lg;
}

static void run_plugin(const char *plugin, int32_t kv_type) {
    bn_engine *e = engine_for(plugin);
    bn_model_opts o;
    bn_model_opts_init(&o);
    o.kv_type = kv_type;
    bn_model *m = NULL;
    ck_assert_msg(bn_model_load(e, model_path(), &o, &m) == BN_OK, "load %s: %s", model_path(),
                  bn_last_error());
    ck_assert_str_eq(bn_model_backend_name(m), plugin);
    ck_assert_int_eq(bn_model_hparams(m)->n_vocab, n_vocab);
    bn_session *s = NULL;
    ck_assert_msg(bn_session_create(m, &s) == BN_OK, "session: %s", bn_last_error());
    int bad = 0;
    for (int i = 0; i < n_seq; i++) {
        float *lg = eval_seq(s, i);
        double cmin = 1.0, dmax = 0.0;
        int worst = 0, top1 = 0;
        for (int p = 0; p < seqs[i].n; p++) {
            const float *a = lg + (size_t)p * n_vocab, *b = seqs[i].logits + (size_t)p * n_vocab;
            double c = cosine(a, b, n_vocab);
            if (!(c >= cmin)) { /* NaN counts as the worst */
                cmin = c;
                worst = p;
            }
            for (int k = 0; k < n_vocab; k++)
                dmax = fmax(dmax, fabs((double)a[k] - b[k]));
            top1 += argmax(a, n_vocab) == argmax(b, n_vocab);
        }
        printf("trained %-10s kv=%s seq %d (%d tokens): min cosine %.7f at %d, max|dlogit| %.4f, top-1 same %d/%d %s\n",
               plugin, kv_type == BN_TYPE_F32 ? "F32" : "F16", i, seqs[i].n, cmin, worst, dmax, top1, seqs[i].n,
               cmin >= COS_MIN ? "ok" : "FAIL");
        bad += !(cmin >= COS_MIN);
        free(lg);
    }
    fflush(stdout);
    bn_session_free(s);
    bn_model_free(m);
    bn_engine_free(e);
    ck_assert_msg(!bad, "%s: logits differ from PyTorch", plugin);
}

START_TEST(t_logits_match_pytorch) {
    ck_assert_int_gt(n_plugins, 0);
    for (int p = 0; p < n_plugins; p++) {
        run_plugin(plugins[p], BN_TYPE_F32);
        run_plugin(plugins[p], BN_TYPE_F16);
    }
}
END_TEST

/* The criterion rejects logits that are right for the neighbouring position. */
START_TEST(t_control_shifted) {
    bn_engine *e = engine_for(plugins[0]);
    bn_model_opts o;
    bn_model_opts_init(&o);
    bn_model *m = NULL;
    bn_session *s = NULL;
    ck_assert_msg(bn_model_load(e, model_path(), &o, &m) == BN_OK, "%s", bn_last_error());
    ck_assert_msg(bn_session_create(m, &s) == BN_OK, "%s", bn_last_error());
    float *lg = eval_seq(s, 0);
    double cmin = 1.0;
    for (int p = 1; p < seqs[0].n; p++)
        cmin = fmin(cmin, cosine(lg + (size_t)p * n_vocab, seqs[0].logits + (size_t)(p - 1) * n_vocab, n_vocab));
    printf("trained control: logits one position off, min cosine %.4f -> %s\n", cmin,
           cmin < COS_MIN ? "rejected (good)" : "ACCEPTED");
    free(lg);
    bn_session_free(s);
    bn_model_free(m);
    bn_engine_free(e);
    ck_assert_msg(cmin < COS_MIN, "shifted logits pass the cosine criterion");
}
END_TEST

static int setup_all(void) {
    if (read_fixture(TRAINED_FIXTURES "/logits.bin")) {
        fprintf(stderr, "trained: cannot read %s/logits.bin\n", TRAINED_FIXTURES);
        return -1;
    }
    bn_cli_overrides cli;
    bn_cli_overrides_init(&cli);
    bn_engine *e = NULL;
    if (bn_settings_resolve(&cli, &settings) != BN_OK ||
        bn_engine_create_ex(&settings, BN_ENGINE_NO_CHOICE, &e) != BN_OK) {
        fprintf(stderr, "trained: engine: %s\n", bn_last_error());
        return -1;
    }
    for (size_t i = 0; i < bn_engine_plugin_count(e) && n_plugins < 16; i++) {
        const bn_plugin_report *r = bn_engine_plugin(e, i);
        if (r->usable)
            snprintf(plugins[n_plugins++], sizeof plugins[0], "%s", r->name);
    }
    bn_engine_free(e);
    printf("trained: %d usable plugin(s), %d reference sequences, vocab %d\n", n_plugins, n_seq, n_vocab);
    return 0;
}

int main(void) {
    int failed = 1;
    if (setup_all() == 0) {
        Suite *su = suite_create("trained");
        TCase *tc = tcase_create("pytorch");
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, t_logits_match_pytorch);
        tcase_add_test(tc, t_control_shifted);
        suite_add_tcase(su, tc);
        SRunner *sr = srunner_create(su);
        srunner_set_fork_status(sr, CK_NOFORK); /* the engine's thread pool does not survive fork() */
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
    }
    for (int i = 0; i < n_seq; i++) {
        free(seqs[i].ids);
        free(seqs[i].logits);
    }
    bn_settings_free(&settings);
    return failed ? 1 : 0;
}
