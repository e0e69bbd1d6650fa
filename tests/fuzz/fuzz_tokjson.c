/* libFuzzer target: tokenizer.json bytes through bn_tokenizer_import_hf
 * (both outputs: GGUF keys on a writer and a vocab, which is then encoded
 * and decoded with). Beside it in the temporary folder: a fixed small
 * tokenizer.model (for byte_fallback tokenizers) and one of three fixed
 * tokenizer_config.json variants, picked by the input's size so each input
 * always sees the same one: none, a Llama 3 style one (string tokens, a
 * string chat template) or an older style one ({"content": ...} tokens, a
 * list of named templates). */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_spm_model.h"
#include "fuzz_util.h"
#include "fuzz_vocab_util.h"

static const char cfg_llama3[] =
    "{\"bos_token\": \"<|begin_of_text|>\", \"eos_token\": \"<|end_of_text|>\", \"pad_token\": null,"
    " \"add_bos_token\": true, \"chat_template\": \"{% for m in messages %}<|start_header_id|>{{ m.role }}"
    "<|end_header_id|>\\n\\n{{ m.content }}<|eot_id|>{% endfor %}\"}";
static const char cfg_objects[] =
    "{\"bos_token\": {\"content\": \"<s>\", \"lstrip\": false}, \"eos_token\": {\"content\": \"</s>\"},"
    " \"pad_token\": {\"content\": \"<pad>\"}, \"add_eos_token\": false,"
    " \"chat_template\": [{\"name\": \"tool_use\", \"template\": \"x\"},"
    " {\"name\": \"default\", \"template\": \"{{ 'Assistant: ' }}<|eot_id|>capitalize\"}]}";

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    fz_buf m;
    fz_spm_model(&m, 1);
    fz_write("tokenizer.model", m.p, m.n);
    free(m.p);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    switch (size % 3) {
    case 0: fz_remove("tokenizer_config.json"); break;
    case 1: fz_write("tokenizer_config.json", cfg_llama3, sizeof cfg_llama3 - 1); break;
    default: fz_write("tokenizer_config.json", cfg_objects, sizeof cfg_objects - 1); break;
    }
    fz_write("tokenizer.json", data, size);
    bn_gguf_writer *w = NULL;
    if (bn_gguf_writer_create(&w) != BN_OK)
        abort();
    bn_vocab *v = NULL;
    bn_status st = bn_tokenizer_import_hf(fz_tmpdir(), w, &v);
    if (st != BN_OK && v)
        __builtin_trap();
    if (v)
        fz_exercise_vocab(v, data, size);
    bn_vocab_free(v);
    bn_gguf_writer_free(w);
    return 0;
}
