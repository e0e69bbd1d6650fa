/* Running a converted model on the reference sequences of a case and
 * comparing with the reference logits: shared by the transformers
 * cross-validation (test_xval) and the interop tests (test_interop). */
#include "xval_compare.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/plugin_list.h"

int xv_env_setup(xv_env *env, const char *tag) {
    memset(env, 0, sizeof *env);
    bn_cli_overrides cli;
    bn_cli_overrides_init(&cli);
    if (bn_settings_resolve(&cli, &env->settings) != BN_OK || bn_engine_create(&env->settings, &env->engine) != BN_OK) {
        fprintf(stderr, "%s: engine: %s\n", tag, bn_last_error());
        return -1;
    }
    /* BN_XVAL_PLUGINS=a,b limits the runs to those plugins (emulated CPUs) */
    const char *only = getenv("BN_XVAL_PLUGINS");
    for (size_t i = 0; i < bn_engine_plugin_count(env->engine) && env->n_plugins < 16; i++) {
        const bn_plugin_report *r = bn_engine_plugin(env->engine, i);
        if (r->usable && test_plugin_listed(only, r->name))
            snprintf(env->plugins[env->n_plugins++], sizeof env->plugins[0], "%s", r->name);
    }
    printf("%s: %d usable plugin(s):", tag, env->n_plugins);
    for (int i = 0; i < env->n_plugins; i++)
        printf(" %s", env->plugins[i]);
    printf("\n");
    const char *t = getenv("TMPDIR");
    snprintf(env->tmp_dir, sizeof env->tmp_dir, "%s/bitnet-%s-XXXXXX", t && t[0] ? t : "/tmp", tag);
    if (!mkdtemp(env->tmp_dir)) {
        perror("mkdtemp");
        env->tmp_dir[0] = 0;
        return -1;
    }
    return 0;
}

void xv_env_free(xv_env *env) {
    if (env->tmp_dir[0])
        rmdir(env->tmp_dir);
    bn_engine_free(env->engine);
    bn_settings_free(&env->settings);
}

/* ||a - b|| / ||b||: unlike the cosine, it sees a wrong overall scale. */
double xv_rel_l2(const float *a, const float *b, int n) {
    double dd = 0, bb = 0;
    for (int i = 0; i < n; i++) {
        double d = (double)a[i] - b[i];
        dd += d * d;
        bb += (double)b[i] * b[i];
    }
    return sqrt(dd) / (sqrt(bb) + 1e-300);
}

double xv_cosine(const float *a, const float *b, int n) {
    double ab = 0, aa = 0, bb = 0;
    for (int i = 0; i < n; i++) {
        ab += (double)a[i] * b[i];
        aa += (double)a[i] * a[i];
        bb += (double)b[i] * b[i];
    }
    return ab / (sqrt(aa) * sqrt(bb) + 1e-300);
}

int32_t xv_argmax(const float *x, int n) {
    int32_t best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best])
            best = i;
    return best;
}

/* Evaluate one reference sequence from position 0 and compare. */
void xv_compare_seq(bn_session *s, const xv_case *c, const xv_seq *q, cmp_result *r) {
    int V = c->n_vocab;
    float *lg = malloc(sizeof *lg * (size_t)q->n * (size_t)V);
    ck_assert_ptr_nonnull(lg);
    bn_session_reset(s);
    ck_assert_msg(bn_session_eval(s, q->ids, q->n, lg, 1) == BN_OK, "eval: %s", bn_last_error());
    r->cos_min = 1.0;
    r->max_abs = 0.0;
    r->rel_l2 = 0.0;
    double ab = 0, bb = 0;
    for (size_t k = 0; k < (size_t)q->n * (size_t)V; k++) {
        ab += (double)lg[k] * q->logits[k];
        bb += (double)q->logits[k] * q->logits[k];
    }
    r->scale = ab / (bb + 1e-300);
    for (int p = 0; p < q->n; p++) {
        double cs = xv_cosine(lg + (size_t)p * V, q->logits + (size_t)p * V, V);
        double rl = xv_rel_l2(lg + (size_t)p * V, q->logits + (size_t)p * V, V);
        if (!(rl <= r->rel_l2))
            r->rel_l2 = rl;
        if (!(cs >= r->cos_min)) /* NaN counts as the worst */
            r->cos_min = cs;
        if (p == q->n - 1)
            r->cos_last = cs;
        for (int k = 0; k < V; k++) {
            double d = fabs((double)lg[(size_t)p * V + k] - q->logits[(size_t)p * V + k]);
            if (!(d <= r->max_abs))
                r->max_abs = d;
        }
    }
    free(lg);
}

/* Greedy continuation, one token per eval; returns the index of the first
 * token that differs from the reference, or n_gen if all match. */
int xv_greedy_match(bn_session *s, const xv_case *c, int32_t *got) {
    float *lg = malloc(sizeof *lg * (size_t)c->n_vocab);
    ck_assert_ptr_nonnull(lg);
    bn_session_reset(s);
    ck_assert_msg(bn_session_eval(s, c->greedy, c->prompt_len, lg, 0) == BN_OK, "eval prompt: %s", bn_last_error());
    int first_diff = c->n_gen;
    for (int i = 0; i < c->n_gen; i++) {
        got[i] = xv_argmax(lg, c->n_vocab);
        if (got[i] != c->greedy[c->prompt_len + i] && first_diff == c->n_gen)
            first_diff = i;
        if (i + 1 < c->n_gen)
            ck_assert_msg(bn_session_eval(s, &got[i], 1, lg, 0) == BN_OK, "eval step %d: %s", i, bn_last_error());
    }
    free(lg);
    return first_diff;
}

bn_engine *xv_engine_for(const bn_settings *settings, const char *plugin) {
    bn_settings st = *settings;
    st.backend = (char *)plugin;
    bn_engine *e = NULL;
    ck_assert_msg(bn_engine_create(&st, &e) == BN_OK, "engine for '%s': %s", plugin, bn_last_error());
    return e;
}

bn_model *xv_load(bn_engine *e, const char *path, int32_t kv_type, int32_t n_batch) {
    bn_model_opts o;
    bn_model_opts_init(&o);
    o.n_ctx = 256;
    o.kv_type = kv_type;
    if (n_batch)
        o.n_batch = n_batch;
    bn_model *m = NULL;
    ck_assert_msg(bn_model_load(e, path, &o, &m) == BN_OK, "load %s: %s", path, bn_last_error());
    return m;
}

