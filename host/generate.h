/* Prompt + sampling loop shared by `run` and `chat`, streaming text. */
#ifndef BITNET_HOST_GENERATE_H
#define BITNET_HOST_GENERATE_H

#include <stdio.h>

#include "model_setup.h"

typedef struct bn_gen_stats {
    int n_prompt, n_gen;
    double t_prompt, t_gen; /* seconds */
    int stopped_eog;
} bn_gen_stats;

/* Evaluate `prompt` ids on the session, then sample up to n_predict tokens
 * (-1: until end of generation or a full context), writing text to out as
 * it completes. The last sampled token is left un-evaluated in *last (or -1
 * when generation ended on a full context). text_start: the generated text
 * begins a text of its own (a chat reply, a run from an empty prompt), so a
 * SentencePiece vocab's prefix space is dropped as HF's decoder drops it.
 * Returns non-zero on error (message printed). */
int bn_generate(bn_host *h, bn_session *s, bn_sampler *smp, const int32_t *prompt, size_t n_prompt, int n_predict,
                int text_start, FILE *out, int32_t *last, bn_gen_stats *st);

void bn_gen_stats_print(FILE *f, const bn_gen_stats *st);

#endif
