/* Sessions: one conversation on a shared, immutable model - a KV pool of
 * its own with one sequence, sized for the model's context (the pool,
 * batch.h, is the many-sequence form). */
#include <stdlib.h>
#include <string.h>

#include "pool_internal.h"

struct bn_session {
    bn_model *m;
    bn_kv_pool *pool;
    int32_t seq, n_ctx;
    bn_batch_row *rows; /* n_batch rows of work */
};

bn_status bn_session_create(bn_model *m, bn_session **out) {
    *out = NULL;
    bn_session *s = calloc(1, sizeof *s);
    if (!s)
        return bn_fail(BN_ERR_NOMEM, "out of memory");
    s->m = m;
    s->n_ctx = m->plan.n_ctx;
    bn_kv_pool_opts o;
    bn_kv_pool_opts_init(&o);
    o.max_seqs = 1;
    o.max_seq_len = m->plan.n_ctx;
    o.max_batch = m->plan.n_batch;
    o.no_prefix_cache = 1;
    bn_status st = bn_kv_pool_create(m, &o, &s->pool);
    if (st == BN_OK)
        st = bn_seq_new(s->pool, &s->seq);
    if (st == BN_OK && !(s->rows = malloc((size_t)m->plan.n_batch * sizeof *s->rows)))
        st = bn_fail(BN_ERR_NOMEM, "out of memory");
    if (st != BN_OK) {
        bn_session_free(s);
        return st;
    }
    *out = s;
    return BN_OK;
}

void bn_session_free(bn_session *s) {
    if (!s)
        return;
    bn_kv_pool_free(s->pool);
    free(s->rows);
    free(s);
}

void bn_session_reset(bn_session *s) { bn_seq_truncate(s->pool, s->seq, 0); }
int32_t bn_session_pos(const bn_session *s) { return bn_seq_len(s->pool, s->seq); }
int32_t bn_session_n_ctx(const bn_session *s) { return s->n_ctx; }

bn_status bn_session_eval(bn_session *s, const int32_t *tokens, int32_t n, float *logits, int all_logits) {
    const bn_hparams *hp = &s->m->hp;
    int32_t pos = bn_session_pos(s);
    if (n < 1 || !tokens)
        return bn_fail(BN_ERR_INVALID, "no tokens to evaluate");
    if ((int64_t)pos + n > s->n_ctx)
        return bn_fail(BN_ERR_INVALID,
                       "context full: %d tokens in the cache + %d new exceed the context of %d; start a new session or "
                       "use a larger context (-c)",
                       pos, n, s->n_ctx);
    for (int32_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= hp->n_vocab)
            return bn_fail(BN_ERR_INVALID, "token id %d at index %d is outside the vocabulary (0..%d)", tokens[i], i,
                           hp->n_vocab - 1);
    int32_t nb = s->m->plan.n_batch;
    for (int32_t done = 0; done < n;) {
        int32_t b = n - done < nb ? n - done : nb;
        for (int32_t i = 0; i < b; i++)
            s->rows[i] = (bn_batch_row){.seq = s->seq, .token = tokens[done + i], .pos = pos + done + i,
                                        .logits = logits && (all_logits || done + i == n - 1)};
        float *dst = logits && all_logits ? logits + (size_t)done * (size_t)hp->n_vocab : logits;
        bn_status st = bn_decode(s->pool, s->rows, b, dst);
        if (st != BN_OK)
            return st;
        done += b;
    }
    return BN_OK;
}
