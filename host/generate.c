/* The decode loop: prompt in batches, then one token at a time. */
#include <stdlib.h>

#include "generate.h"

int bn_generate(bn_host *h, bn_session *s, bn_sampler *smp, const int32_t *prompt, size_t n_prompt, int n_predict,
                int text_start, FILE *out, int32_t *last, bn_gen_stats *st) {
    const bn_hparams *hp = bn_model_hparams(h->model);
    float *logits = malloc(sizeof *logits * (size_t)hp->n_vocab);
    if (!logits) {
        fprintf(stderr, "bitnet: out of memory\n");
        return 1;
    }
    *last = -1;
    int rc = 0;
    double t0 = bn_now();
    if (bn_session_eval(s, prompt, (int32_t)n_prompt, logits, 0) != BN_OK) {
        bn_cli_error("evaluating the prompt");
        free(logits);
        return 1;
    }
    for (size_t i = 0; i < n_prompt; i++)
        bn_sampler_accept(smp, prompt[i]);
    st->n_prompt += (int)n_prompt;
    st->t_prompt += bn_now() - t0;

    bn_detok dt;
    bn_detok_init(&dt, h->vocab, text_start ? BN_DETOK_STRIP_PREFIX : 0);
    bn_text text = {0};
    t0 = bn_now();
    for (int n = 0; n_predict < 0 || n < n_predict; n++) {
        int32_t tok;
        if (bn_sampler_sample(smp, logits, &tok) != BN_OK) {
            bn_cli_error("sampling");
            rc = 1;
            break;
        }
        bn_sampler_accept(smp, tok);
        st->n_gen++;
        if (bn_vocab_is_eog(h->vocab, tok)) {
            st->stopped_eog = 1;
            *last = tok;
            break;
        }
        text.len = 0;
        bn_detok_push(&dt, tok, &text);
        if (text.len) {
            fwrite(text.data, 1, text.len, out);
            fflush(out);
        }
        *last = tok;
        if (bn_session_pos(s) >= bn_session_n_ctx(s) || (n_predict >= 0 && n + 1 >= n_predict))
            break; /* the last token stays un-evaluated */
        if (bn_session_eval(s, &tok, 1, logits, 0) != BN_OK) {
            bn_cli_error("decoding");
            rc = 1;
            break;
        }
        *last = -1;
    }
    text.len = 0;
    bn_detok_flush(&dt, &text);
    if (text.len)
        fwrite(text.data, 1, text.len, out);
    fflush(out);
    st->t_gen += bn_now() - t0;
    bn_text_free(&text);
    free(logits);
    return rc;
}

void bn_gen_stats_print(FILE *f, const bn_gen_stats *st) {
    fprintf(f, "\nbitnet: prompt %d tokens in %.2f s (%.1f tok/s), generated %d tokens in %.2f s (%.1f tok/s)%s\n",
            st->n_prompt, st->t_prompt, st->t_prompt > 0 ? st->n_prompt / st->t_prompt : 0.0, st->n_gen, st->t_gen,
            st->t_gen > 0 ? st->n_gen / st->t_gen : 0.0, st->stopped_eog ? ", stopped at end of text" : "");
}
