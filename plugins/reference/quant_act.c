/*
 * Per-row absmax int8 quantisation of activations (backend.h, top):
 *   s = 127 / max(max|x|, 1e-5);  q = clamp(round_half_even(x * s), -128, 127)
 * nearbyintf rounds in the current mode, which is round-to-nearest-even
 * unless a host changed it; the products and s are plain float arithmetic.
 * NaN inputs quantise to 0 (a defined value rather than UB in the cast).
 */
#include <math.h>

#include "ref_internal.h"

float ref_quantize_row(const float *x, int64_t n, int8_t *q) {
    float amax = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        float a = fabsf(x[i]);
        if (a > amax)
            amax = a;
    }
    float s = 127.0f / fmaxf(amax, 1e-5f);
    for (int64_t i = 0; i < n; i++)
        q[i] = pc_quant_one(x[i], s);
    return s;
}
