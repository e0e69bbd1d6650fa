/* Session state shared by session.c and forward.c. */
#ifndef BITNET_SESSION_INTERNAL_H
#define BITNET_SESSION_INTERNAL_H

#include "model_internal.h"

struct bn_session {
    bn_model *m;
    int32_t pos, n_ctx, n_batch;
    bn_buffer *kv_buf, *scratch;
    char *kv_base, *scratch_base; /* backend address space */
};

/* One forward pass over b <= n_batch tokens at s->pos. logits: n_vocab
 * floats of the last token, or b * n_vocab when all is non-zero; NULL to
 * skip the LM head. Does not advance s->pos. */
bn_status bn_forward_batch(bn_session *s, const int32_t *tokens, int32_t b, float *logits, int all);

#endif
