/* libFuzzer target: a checkpoint's config.json through bn_hf_config_read.
 * Whatever it accepts must be a usable shape: positive sizes, heads that
 * divide, finite positive floats (as floats, not only as the JSON doubles),
 * a known architecture, NUL-terminated strings. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "convert/convert_internal.h"
#include "fuzz_util.h"

static volatile uint64_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_write("config.json", data, size);
    bn_hf_config c;
    if (bn_hf_config_read(fz_tmpdir(), &c) != BN_OK)
        return 0;
    if (c.n_embd < 1 || c.n_ff < 1 || c.n_layer < 1 || c.n_head < 1 || c.n_head_kv < 1 || c.n_vocab < 1 ||
        c.n_ctx < 1 || c.n_embd % c.n_head || c.n_head % c.n_head_kv || !(c.rope_theta > 0) || !(c.rms_eps > 0) ||
        isinf(c.rope_theta) || isinf(c.rms_eps))
        __builtin_trap();
    if (!memchr(c.model_type, 0, sizeof c.model_type) || !memchr(c.hidden_act, 0, sizeof c.hidden_act) ||
        !memchr(c.arch, 0, sizeof c.arch))
        __builtin_trap();
    if (strcmp(c.arch, "bitnet-b1.58") && strcmp(c.arch, "bitnet") && strcmp(c.arch, "llama"))
        __builtin_trap();
    sink += strlen(c.model_type) + strlen(c.hidden_act) + (uint64_t)c.tie_embeddings + (uint64_t)c.scale_multiplies;
    return 0;
}
