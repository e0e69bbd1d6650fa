/* Hugging Face import internals shared by tok_hf.c and tok_hf_spm.c. */
#ifndef BITNET_TOK_HF_H
#define BITNET_TOK_HF_H

#include <cjson/cJSON.h>

#include "tok_internal.h"
#include "tok_sentencepiece.h"

typedef struct hf {
    cJSON *tok, *cfg; /* tokenizer.json, tokenizer_config.json (may be NULL) */
    const char *pre;
    uint32_t n;
    bn_gguf_str *tokens;
    int32_t *types;
    char *holes;      /* "[PAD<id>]" texts for unused ids */
    uint32_t n_merges;
    bn_gguf_str *merges;
    char *merge_buf;  /* "a b" texts of merges given as pairs */
    bn_spm_model spm; /* SentencePiece-style: tokenizer.model beside tokenizer.json */
    float *scores;
    bn_vocab_spec spec;
} hf;

/* String value, or the "content" of an {"content": ...} object. */
const char *bn_hf_str(const cJSON *j);
/* Id of the token with this text, -1 if none (or text NULL). */
int32_t bn_hf_id_of(const hf *h, const char *text);
/* Whether max_id is a sane top id for n_listed tokens (sets the error if not). */
int bn_hf_ids_plausible(int64_t max_id, size_t n_listed);
/* Give ids nobody uses an unused "[PAD<id>]" token. */
bn_status bn_hf_fill_holes(hf *h);
/* SentencePiece-style (BPE with byte_fallback): tokens, scores and types
 * from tokenizer.model, added tokens from tokenizer.json. */
bn_status bn_hf_collect_spm(hf *h, const char *model_path, const cJSON *added);

#endif
