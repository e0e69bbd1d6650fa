/* Repetition / frequency / presence penalties over the last accepted tokens.
 * The history is a ring of ids; per call only the ids in it are touched
 * (O(window), never O(n_vocab)), using a zeroed count table that is left
 * zeroed again afterwards. */
#include <float.h>
#include <math.h>

#include "sample_internal.h"

int bn_penalty_active(const bn_penalty *pen) {
    return pen->len > 0 &&
           (pen->repeat != 1.0f || pen->freq != 0.0f || pen->presence != 0.0f);
}

void bn_penalty_push(bn_penalty *pen, int32_t token) {
    if (pen->cap == 0)
        return;
    pen->ring[pen->head] = token;
    pen->head = (pen->head + 1) % pen->cap;
    if (pen->len < pen->cap)
        pen->len++;
}

/* A penalty must not turn a finite logit into an infinity (the chain refuses
 * those as caller errors). */
static float clamp_finite(float v) {
    return v > FLT_MAX ? FLT_MAX : (v < -FLT_MAX ? -FLT_MAX : v);
}

void bn_penalty_apply(bn_penalty *pen, float *x) {
    /* The ring's contents are the last len pushes wherever head is, and
     * order does not matter for counting. */
    for (size_t i = 0; i < pen->len; i++)
        pen->count[pen->ring[i]]++;
    for (size_t i = 0; i < pen->len; i++) {
        int32_t id = pen->ring[i];
        int32_t c = pen->count[id];
        if (c == 0)
            continue; /* already done */
        pen->count[id] = 0;
        float v = x[id];
        if (pen->repeat != 1.0f)
            v = v > 0.0f ? v / pen->repeat : v * pen->repeat;
        v -= (float)c * pen->freq + pen->presence;
        x[id] = isfinite(x[id]) ? clamp_finite(v) : v; /* keep NaN/inf visible */
    }
}
