/* Scalar oracle ops (see ops_oracle.h). */
#include "ops_oracle.h"

#include <math.h>

#include "bitnet/backend.h"

void or_quantize_row(const float *x, int64_t n, int8_t *q, float *s) {
    float amax = 0.0f;
    for (int64_t i = 0; i < n; i++)
        amax = fabsf(x[i]) > amax ? fabsf(x[i]) : amax;
    float sx = 127.0f / (amax > 1e-5f ? amax : 1e-5f);
    for (int64_t i = 0; i < n; i++) {
        float v = nearbyintf(x[i] * sx); /* default rounding mode: half to even */
        q[i] = (int8_t)(v > 127.0f ? 127 : v < -128.0f ? -128 : (int)v);
    }
    *s = sx;
}

int32_t or_dot_i8(const int8_t *t, const int8_t *q, int64_t n) {
    int64_t acc = 0;
    for (int64_t i = 0; i < n; i++)
        acc += (int64_t)t[i] * q[i];
    return (int32_t)acc;
}

void or_rms_norm_row(const float *x, const float *w, int64_t n, float eps, float *y) {
    double ss = 0.0;
    for (int64_t i = 0; i < n; i++)
        ss += (double)x[i] * x[i];
    double inv = 1.0 / sqrt(ss / (double)n + (double)eps);
    for (int64_t i = 0; i < n; i++)
        y[i] = (float)((double)x[i] * inv * (w ? (double)w[i] : 1.0));
}

void or_rope_head(float *x, int32_t n_dims, int32_t style, float freq_base, float freq_scale, int32_t pos) {
    int32_t half = n_dims / 2;
    for (int32_t i = 0; i < half; i++) {
        double theta = (double)pos * (double)freq_scale * pow((double)freq_base, -2.0 * i / (double)n_dims);
        double c = cos(theta), s = sin(theta);
        int32_t a = style == BN_ROPE_NEOX ? i : 2 * i;
        int32_t b = style == BN_ROPE_NEOX ? i + half : 2 * i + 1;
        double x0 = x[a], x1 = x[b];
        x[a] = (float)(x0 * c - x1 * s);
        x[b] = (float)(x0 * s + x1 * c);
    }
}

void or_softmax_row(const float *x, int64_t n, float scale, float *y) {
    double mx = -INFINITY, sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double v = (double)x[i] * scale;
        mx = v > mx ? v : mx;
    }
    for (int64_t i = 0; i < n; i++)
        sum += exp((double)x[i] * scale - mx);
    for (int64_t i = 0; i < n; i++)
        y[i] = (float)(exp((double)x[i] * scale - mx) / sum);
}

void or_attention_head(const float *q, const float *k, const float *v, int64_t kv_stride, int32_t head_dim,
                       int64_t n_kv, float scale, float *out, float *mag) {
    double mx = -INFINITY, sum = 0.0;
    for (int64_t i = 0; i < n_kv; i++) {
        double dot = 0.0;
        for (int32_t d = 0; d < head_dim; d++)
            dot += (double)q[d] * k[i * kv_stride + d];
        dot *= scale;
        mx = dot > mx ? dot : mx;
    }
    for (int32_t d = 0; d < head_dim; d++) {
        out[d] = 0.0f;
        mag[d] = 0.0f;
    }
    double acc[1024] = {0}, am[1024] = {0};
    for (int64_t i = 0; i < n_kv; i++) {
        double dot = 0.0;
        for (int32_t d = 0; d < head_dim; d++)
            dot += (double)q[d] * k[i * kv_stride + d];
        double p = exp(dot * scale - mx);
        sum += p;
        for (int32_t d = 0; d < head_dim && d < 1024; d++) {
            acc[d] += p * v[i * kv_stride + d];
            am[d] += p * fabs((double)v[i * kv_stride + d]);
        }
    }
    for (int32_t d = 0; d < head_dim && d < 1024; d++) {
        out[d] = (float)(acc[d] / sum);
        mag[d] = (float)(am[d] / sum);
    }
}

float or_ffn_act(float g, float u, int32_t act) {
    double dg = g, du = u;
    if (act == BN_ACT_RELU2)
        return dg > 0.0 ? (float)(dg * dg * du) : 0.0f;
    return (float)(dg / (1.0 + exp(-dg)) * du);
}
