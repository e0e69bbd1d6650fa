/* Helpers for the tokenizer tests: the fixture case files, loading the
 * fixture vocabs, and a per-process temp dir. */
#ifndef TOK_TEST_UTIL_H
#define TOK_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "bitnet/tokenizer.h"

/* cases.inp / cases.out of one fixture folder. */
typedef struct tok_cases {
    size_t n;
    char **text;     /* NUL-terminated, may hold embedded bytes of any value */
    size_t *len;
    int32_t **ids;
    size_t *n_ids;
} tok_cases;

/* Root of tests/fixtures/tokenizers, or NULL (with a FAIL message printed)
 * when absent. */
const char *tok_fixtures_dir(void);
/* s[0..n) to stderr, printable ASCII as is, other bytes as \xNN (200 at most). */
void tok_print_escaped(const char *s, size_t n);
/* Read <dir>/<name>/cases.{inp,out}; 0 on success. */
int tok_cases_load(const char *fixtures, const char *name, tok_cases *out);
void tok_cases_free(tok_cases *c);

/* Vocab from <fixtures>/<name>/vocab.gguf (kept open in *g). */
bn_status tok_load_gguf_vocab(const char *fixtures, const char *name, bn_gguf **g, bn_vocab **v);

/* A fresh directory under $TMPDIR (or /tmp), removed by tok_tmp_cleanup. */
void tok_tmp_path(char *buf, size_t len, const char *name);
void tok_tmp_cleanup(void);

#endif
