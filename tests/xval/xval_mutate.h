/* Deliberately broken copies of a model file (negative controls). */
#ifndef XVAL_MUTATE_H
#define XVAL_MUTATE_H

#include <stddef.h>

#include "bitnet/gguf.h"

typedef enum xv_mutation {
    XV_ROPE_SWAP,                   /* Q/K rows of each head put into the other RoPE order */
    XV_ATTN_SUB_NORM_FROM_ATTN_NORM, /* attn_sub_norm weights := attn_norm weights */
    XV_FFN_SUB_NORM_ONES,           /* ffn_sub_norm weights := 1 */
    XV_OUTPUT_NORM_1PCT,            /* output_norm weights * 1.01: every logit 1 % larger */
    XV_ROPE_BASE,                   /* rope.freq_base 10000 <-> 500000 */
    XV_NORM_EPS,                    /* RMS epsilon / 10 (1e-5 -> 1e-6) */
    XV_SUB_NORM_OTHER_LAYER         /* layer 0's attn_sub_norm := layer 1's */
} xv_mutation;

/* Write `out` as a copy of `in` with the mutation applied. 0 on success. */
int xv_mutate(const char *in, const char *out, xv_mutation what, char *err, size_t err_len);

#endif
