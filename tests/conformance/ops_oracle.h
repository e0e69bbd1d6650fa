/*
 * Independent scalar versions of the plugin ops, written from the ABI
 * comments in backend.h and the arithmetic in DESIGN.md. Everything that is
 * not integer is computed in double and rounded once at the end, so the
 * oracle is at least as accurate as any plugin it judges.
 */
#ifndef BN_CONF_OPS_ORACLE_H
#define BN_CONF_OPS_ORACLE_H

#include <stdint.h>

/* Per-row absmax int8: s = 127 / max(max|x|, 1e-5) (float division),
 * q = clamp(round_half_even(x * s), -128, 127) with x * s a float product. */
void or_quantize_row(const float *x, int64_t n, int8_t *q, float *s);

/* sum_k t_k q_k exactly. */
int32_t or_dot_i8(const int8_t *t, const int8_t *q, int64_t n);

/* rms_norm of one row: x / sqrt(mean(x^2) + eps) * w (w may be NULL). */
void or_rms_norm_row(const float *x, const float *w, int64_t n, float eps, float *y);

/* RoPE of one head vector of head_dim in place; theta_i = pos *
 * freq_scale * freq_base^(-2i/n_dims), in double. style: bn_rope_style. */
void or_rope_head(float *x, int32_t n_dims, int32_t style, float freq_base, float freq_scale, int32_t pos);

/* softmax of (x * scale) over n. */
void or_softmax_row(const float *x, int64_t n, float scale, float *y);

/* Causal GQA attention for one query head vector q (head_dim) against a
 * cache of n_kv positions: k_at(i)[d], v_at(i)[d] already decoded to f32.
 * mag receives sum_i p_i |v_i[d]| per d (error scale for comparisons). */
void or_attention_head(const float *q, const float *k, const float *v, int64_t kv_stride, int32_t head_dim,
                       int64_t n_kv, float scale, float *out, float *mag);

/* act(g) * u: relu(g)^2 * u or silu(g) * u. act: bn_act. */
float or_ffn_act(float g, float u, int32_t act);

#endif
