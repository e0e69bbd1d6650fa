/* libFuzzer target: GGUF bytes through bn_vocab_load_gguf (the tokenizer.*
 * keys of a model file), then the vocab is used: every token looked at,
 * fixed and input-derived text encoded and decoded, a chat rendered. */
#include <stdint.h>
#include <stdlib.h>

#include "bitnet/gguf.h"
#include "fuzz_vocab_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    bn_gguf *g = NULL;
    if (bn_gguf_open_memory(data, size, &g) != BN_OK)
        return 0;
    bn_vocab *v = NULL;
    bn_status st = bn_vocab_load_gguf(g, &v);
    if (st != BN_OK && v)
        __builtin_trap();
    if (v) {
        /* the tail of the file as text: strings the mutator put there */
        size_t k = size < 256 ? size : 256;
        fz_exercise_vocab(v, data + size - k, k);
    }
    bn_vocab_free(v); /* the vocab must not point into the file after this */
    bn_gguf_close(g);
    return 0;
}
