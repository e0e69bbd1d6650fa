/* SentencePiece tokenizer.model reader (tok_sentencepiece.c). */
#ifndef BITNET_TOK_SENTENCEPIECE_H
#define BITNET_TOK_SENTENCEPIECE_H

#include "tok_internal.h"

typedef struct bn_spm_model {
    unsigned char *data;  /* the file; pieces point into it */
    size_t n, cap;
    bn_gguf_str *pieces;
    float *scores;
    int32_t *types;       /* numbered as tokenizer.ggml.token_type */
    int add_dummy_prefix;
} bn_spm_model;

bn_status bn_spm_model_read(const char *path, bn_spm_model *out);
void bn_spm_model_free(bn_spm_model *m);

#endif
