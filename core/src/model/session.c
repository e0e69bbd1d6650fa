/* Sessions: the per-conversation state (KV cache, scratch activations,
 * position) on top of a shared, immutable model. */
#include <stdlib.h>
#include <string.h>

#include "session_internal.h"

static bn_status be_fail(const bn_model *m, bn_status st, const char *what) {
    const char *e = m->be->last_error ? m->be->last_error(m->ctx) : "";
    return bn_fail(st, "%s failed on backend '%s': %s%s%s", what, m->be->info.name, bn_status_str(st),
                   e && e[0] ? ": " : "", e ? e : "");
}

bn_status bn_session_create(bn_model *m, bn_session **out) {
    *out = NULL;
    bn_session *s = calloc(1, sizeof *s);
    if (!s)
        return bn_fail(BN_ERR_NOMEM, "out of memory");
    s->m = m;
    s->n_ctx = m->plan.n_ctx;
    s->n_batch = m->plan.n_batch;
    bn_status st = m->be->buffer_alloc(m->ctx, m->plan.kv_total, &s->kv_buf);
    if (st != BN_OK) {
        free(s);
        return be_fail(m, st, "allocating the KV cache");
    }
    st = m->be->buffer_alloc(m->ctx, m->plan.scratch_bytes, &s->scratch);
    if (st != BN_OK) {
        m->be->buffer_free(m->ctx, s->kv_buf);
        free(s);
        return be_fail(m, st, "allocating scratch memory");
    }
    s->kv_base = m->be->buffer_base(m->ctx, s->kv_buf);
    s->scratch_base = m->be->buffer_base(m->ctx, s->scratch);
    *out = s;
    return BN_OK;
}

void bn_session_free(bn_session *s) {
    if (!s)
        return;
    s->m->be->buffer_free(s->m->ctx, s->kv_buf);
    s->m->be->buffer_free(s->m->ctx, s->scratch);
    free(s);
}

void bn_session_reset(bn_session *s) { s->pos = 0; }
int32_t bn_session_pos(const bn_session *s) { return s->pos; }
int32_t bn_session_n_ctx(const bn_session *s) { return s->n_ctx; }

bn_status bn_session_eval(bn_session *s, const int32_t *tokens, int32_t n, float *logits, int all_logits) {
    const bn_hparams *hp = &s->m->hp;
    if (n < 1 || !tokens)
        return bn_fail(BN_ERR_INVALID, "no tokens to evaluate");
    if ((int64_t)s->pos + n > s->n_ctx)
        return bn_fail(BN_ERR_INVALID,
                       "context full: %d tokens in the cache + %d new exceed the context of %d; start a new session or "
                       "use a larger context (-c)",
                       s->pos, n, s->n_ctx);
    for (int32_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= hp->n_vocab)
            return bn_fail(BN_ERR_INVALID, "token id %d at index %d is outside the vocabulary (0..%d)", tokens[i], i,
                           hp->n_vocab - 1);
    for (int32_t done = 0; done < n;) {
        int32_t b = n - done < s->n_batch ? n - done : s->n_batch;
        int want = logits != NULL && (all_logits || done + b == n);
        float *dst = want ? (all_logits ? logits + (size_t)done * hp->n_vocab : logits) : NULL;
        bn_status st = bn_forward_batch(s, tokens + done, b, dst, all_logits);
        if (st != BN_OK)
            return st;
        s->pos += b;
        done += b;
    }
    return BN_OK;
}
