/* libFuzzer target: SentencePiece tokenizer.model bytes through
 * bn_spm_model_read (the protobuf reader the Hugging Face import uses),
 * then, as the import does, a "llama" vocab built from the pieces, which
 * is encoded and decoded with. Every piece must lie inside the file. */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_util.h"
#include "fuzz_vocab_util.h"
#include "tokenizer/tok_sentencepiece.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[512];
    fz_path(path, sizeof path, "tokenizer.model");
    fz_write("tokenizer.model", data, size);
    bn_spm_model m;
    if (bn_spm_model_read(path, &m) != BN_OK) {
        if (m.data || m.pieces || m.n)
            __builtin_trap(); /* a failure leaves nothing behind */
        return 0;
    }
    if (m.n == 0 || m.n > m.cap)
        __builtin_trap();
    for (size_t i = 0; i < m.n; i++) {
        const bn_gguf_str *p = &m.pieces[i];
        if (p->len && ((const unsigned char *)p->ptr < m.data ||
                       (const unsigned char *)p->ptr + p->len > m.data + size))
            __builtin_trap();
        if (p->len)
            fz_sink += (uint8_t)p->ptr[0] + (uint8_t)p->ptr[p->len - 1];
    }
    if (m.n < (1u << 20)) {
        bn_vocab_spec spec;
        bn_vocab_spec_init(&spec);
        spec.model = "llama";
        spec.n_tokens = (uint32_t)m.n;
        spec.tokens = m.pieces;
        spec.scores = m.scores;
        spec.token_types = m.types;
        spec.add_space_prefix = m.add_dummy_prefix;
        spec.bos_id = 1;
        spec.eos_id = 2;
        bn_vocab *v = NULL;
        if (bn_vocab_create(&spec, &v) == BN_OK)
            fz_exercise_vocab(v, data, size);
        bn_vocab_free(v);
    }
    bn_spm_model_free(&m);
    return 0;
}
