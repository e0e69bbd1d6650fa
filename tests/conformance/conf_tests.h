/* The conformance test groups; each runs every case of one area on the
 * plugin conf_plugins[pi] and reports failures through conf_harness. */
#ifndef BN_CONF_TESTS_H
#define BN_CONF_TESTS_H

#include "conf_fixture.h"
#include "conf_harness.h"

/* A weight shape case: rows x cols, token rows, strided activations, a
 * wfix_mode, bn_weight_src.scale. */
typedef struct conf_shape {
    int64_t rows, cols;
    int64_t tokens;
    int pad;
    int mode;
    float scale;
} conf_shape;

/* BN_CONFORMANCE_QUICK=1 (emulated CPUs): whether to leave out a case of
 * rows x cols weights; extreme cases (overflow checks) always run. */
int conf_quick_skip(int64_t rows, int64_t cols, int extreme);
void conf_test_matmul(int pi);
void conf_test_dequantize(int pi);
void conf_test_get_rows(int pi);
void conf_test_encode(int pi);
void conf_test_refusals(int pi);
void conf_test_quantize_act(int pi);
void conf_test_rms_norm(int pi);
void conf_test_rope(int pi);
void conf_test_softmax(int pi);
/* Attention tolerance, contiguous and paged (derivation in conf_heads.c). */
#define ATTN_TOL 2.5e-6

void conf_test_attention(int pi);
void conf_test_attention_paged(int pi);
void conf_test_ffn_act(int pi);
void conf_test_add(int pi);
void conf_test_copy(int pi);

#endif
