/* Comparison of engine logits with a case's reference logits. */
#ifndef XVAL_COMPARE_H
#define XVAL_COMPARE_H

#include "bitnet/bitnet.h"
#include "bitnet/model.h"
#include "xval_fixture.h"

typedef struct cmp_result {
    double cos_last, cos_min; /* cosine at the last position, worst over positions */
    double max_abs;           /* max |delta logit| over positions and tokens */
    double rel_l2;            /* worst ||ours - ref|| / ||ref|| over positions */
    double scale;             /* least-squares s in ours ~ s * ref, whole sequence */
} cmp_result;

double xv_cosine(const float *a, const float *b, int n);
double xv_rel_l2(const float *a, const float *b, int n);
int32_t xv_argmax(const float *x, int n);
/* Evaluate one reference sequence from position 0 (one batch) and compare:
 * cosine at the last and the worst position, max |delta logit|. */
void xv_compare_seq(bn_session *s, const xv_case *c, const xv_seq *q, cmp_result *r);
/* Greedy continuation, one token per eval; the index of the first token
 * that differs from the reference, or n_gen if all match. */
int xv_greedy_match(bn_session *s, const xv_case *c, int32_t *got);
/* What a test of models over every plugin needs: settings, the best
 * plugin's engine (it owns the converter's encoders), the usable plugins'
 * names, and a fresh temp dir named after tag. 0 on success. */
typedef struct xv_env {
    bn_settings settings;
    bn_engine *engine;
    char plugins[16][64];
    int n_plugins;
    char tmp_dir[256];
} xv_env;
int xv_env_setup(xv_env *env, const char *tag);
void xv_env_free(xv_env *env);

/* An engine forced to one plugin, and a model on it (n_ctx 256). */
bn_engine *xv_engine_for(const bn_settings *settings, const char *plugin);
bn_model *xv_load(bn_engine *e, const char *path, int32_t kv_type, int32_t n_batch);

#endif
