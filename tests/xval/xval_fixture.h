/* Reference data of one cross-validation case, as gen_fixtures.py writes it
 * (reference.txt + reference.bin in the checkpoint folder). */
#ifndef XVAL_FIXTURE_H
#define XVAL_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#define XV_MAX_SEQ 4
#define XV_MAX_TOK 8
#define XV_MAX_IDS 128

typedef struct xv_seq {
    char label[32];
    int32_t n;
    int32_t ids[XV_MAX_IDS];
    const float *logits; /* n * n_vocab, into xv_case.blob */
} xv_seq;

typedef struct xv_tok { /* a text and the ids HF tokenizers gives it */
    char text[256];
    int32_t n;
    int32_t ids[XV_MAX_IDS];
} xv_tok;

typedef struct xv_case {
    char name[64];
    char dir[1024];
    int32_t n_vocab;
    int n_seq, n_tok;
    xv_seq seq[XV_MAX_SEQ];
    xv_tok tok[XV_MAX_TOK];
    int32_t prompt_len, n_gen;
    int32_t greedy[XV_MAX_IDS]; /* prompt then continuation */
    double gap;                 /* smallest top-1/top-2 logit gap along the continuation */
    float *blob;
} xv_case;

/* 0 on success; on failure a message in err. */
int xv_case_load(const char *dir, xv_case *c, char *err, size_t err_len);
void xv_case_free(xv_case *c);

#endif
