/*
 * The scalar parts of the CPU plugins' row-wise ops: argument checks of
 * rms_norm, rope, ffn_act and add (every CPU plugin), rope's angle tables
 * (cpu-avx2, cpu-neon) and the activations' scalar form (cpu-avx2,
 * cpu-neon; silu in cpu-avx512). Kept here once so the plugins hold only
 * their vector loops, and every plugin refuses the same arguments with the
 * same message.
 */
#include <math.h>

#include "plugin_common.h"

static const int32_t F32_ONLY[] = {BN_TYPE_F32, -1};

bn_status pc_rms_norm_check(bn_backend_ctx *ctx, const bn_tensor *x, const bn_tensor *weight,
                            const bn_tensor *dst, const float **wv) {
    bn_status st;
    *wv = NULL;
    if ((st = pc_check(ctx, x, "rms_norm", "x", F32_ONLY)) != BN_OK ||
        (st = pc_check(ctx, dst, "rms_norm", "dst", F32_ONLY)) != BN_OK)
        return st;
    if (!pc_same_shape(x, dst))
        return pc_fail(ctx, BN_ERR_INVALID, "rms_norm: dst must have the shape of x");
    if (weight) {
        if ((st = pc_check(ctx, weight, "rms_norm", "weight", F32_ONLY)) != BN_OK)
            return st;
        if (weight->ne[0] != x->ne[0] || pc_n_rows(weight) != 1)
            return pc_fail(ctx, BN_ERR_INVALID, "rms_norm: weight must be [%lld], got ne[0] = %lld",
                           (long long)x->ne[0], (long long)weight->ne[0]);
        *wv = weight->data;
    }
    return BN_OK;
}

bn_status pc_rope_check(bn_backend_ctx *ctx, const bn_tensor *x, const bn_tensor *pos, const bn_rope_args *args) {
    static const int32_t i32[] = {BN_TYPE_I32, -1};
    bn_status st;
    if ((st = pc_check(ctx, x, "rope", "x", F32_ONLY)) != BN_OK ||
        (st = pc_check(ctx, pos, "rope", "pos", i32)) != BN_OK)
        return st;
    if (!args)
        return pc_fail(ctx, BN_ERR_INVALID, "rope: NULL args");
    int64_t head_dim = x->ne[0], n_tok = x->ne[2];
    int nd = args->n_dims;
    if (x->ne[3] != 1 || pos->ne[0] != n_tok || pc_n_rows(pos) != 1)
        return pc_fail(ctx, BN_ERR_INVALID, "rope: x must be [head_dim, n_head, n_tokens] and pos [n_tokens] "
                       "(x ne[2] = %lld, pos ne[0] = %lld)", (long long)n_tok, (long long)pos->ne[0]);
    if (nd <= 0 || nd % 2 || nd > head_dim)
        return pc_fail(ctx, BN_ERR_INVALID, "rope: n_dims %d must be even and in (0, head_dim = %lld]", nd,
                       (long long)head_dim);
    if (args->style != BN_ROPE_NORM && args->style != BN_ROPE_NEOX)
        return pc_fail(ctx, BN_ERR_INVALID, "rope: unknown style %d", (int)args->style);
    if (!(args->freq_base > 0.0f))
        return pc_fail(ctx, BN_ERR_INVALID, "rope: freq_base must be > 0");
    return BN_OK;
}

void pc_rope_tables(const bn_tensor *pos, const bn_rope_args *a, int64_t n_tok, float *cs, float *sn) {
    int nd = a->n_dims, half = nd / 2, norm = a->style == BN_ROPE_NORM;
    int64_t stride = norm ? nd : half;
    /* base^(-2i/n_dims) once per call (heads up to 512 rotated dims) */
    double inv_freq[256];
    int hoist = half <= 256;
    for (int i = 0; hoist && i < half; i++)
        inv_freq[i] = pow((double)a->freq_base, -2.0 * i / (double)nd);
    for (int64_t t = 0; t < n_tok; t++) {
        int32_t p = *(const int32_t *)((const char *)pos->data + t * pos->nb[0]);
        for (int i = 0; i < half; i++) {
            /* same expression and evaluation order as the reference: bit-identical theta */
            double f = hoist ? inv_freq[i] : pow((double)a->freq_base, -2.0 * i / (double)nd);
            double theta = (double)p * (double)a->freq_scale * f;
            float c = (float)cos(theta), s = (float)sin(theta);
            if (norm) {
                cs[t * stride + 2 * i] = cs[t * stride + 2 * i + 1] = c;
                sn[t * stride + 2 * i] = -s;
                sn[t * stride + 2 * i + 1] = s;
            } else {
                cs[t * stride + i] = c;
                sn[t * stride + i] = s;
            }
        }
    }
}

bn_status pc_ffn_act_check(bn_backend_ctx *ctx, const bn_tensor *gate, const bn_tensor *up, int32_t act,
                           const bn_tensor *dst) {
    bn_status st;
    if ((st = pc_check(ctx, gate, "ffn_act", "gate", F32_ONLY)) != BN_OK ||
        (st = pc_check(ctx, up, "ffn_act", "up", F32_ONLY)) != BN_OK ||
        (st = pc_check(ctx, dst, "ffn_act", "dst", F32_ONLY)) != BN_OK)
        return st;
    if (!pc_same_shape(gate, up) || !pc_same_shape(gate, dst))
        return pc_fail(ctx, BN_ERR_INVALID, "ffn_act: gate, up and dst must have one shape");
    if (act != BN_ACT_RELU2 && act != BN_ACT_SILU)
        return pc_fail(ctx, BN_ERR_INVALID, "ffn_act: unknown activation %d", (int)act);
    return BN_OK;
}

float pc_act_one(float g, int32_t act) {
    if (act == BN_ACT_RELU2)
        return g > 0.0f ? g * g : 0.0f;
    return g / (1.0f + expf(-g));
}

bn_status pc_add_check(bn_backend_ctx *ctx, const bn_tensor *a, const bn_tensor *b, const bn_tensor *dst) {
    bn_status st;
    if ((st = pc_check(ctx, a, "add", "a", F32_ONLY)) != BN_OK ||
        (st = pc_check(ctx, b, "add", "b", F32_ONLY)) != BN_OK ||
        (st = pc_check(ctx, dst, "add", "dst", F32_ONLY)) != BN_OK)
        return st;
    if (!pc_same_shape(a, b) || !pc_same_shape(a, dst))
        return pc_fail(ctx, BN_ERR_INVALID, "add: a, b and dst must have one shape");
    return BN_OK;
}
