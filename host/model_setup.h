/* What every model-running subcommand shares: option parsing for the model,
 * context and sampling flags, and opening engine + model + vocabulary. */
#ifndef BITNET_HOST_MODEL_SETUP_H
#define BITNET_HOST_MODEL_SETUP_H

#include <bitnet/model.h>
#include <bitnet/sampler.h>
#include <bitnet/tokenizer.h>

#include "cli.h"

typedef struct bn_host_opts {
    bn_cli_overrides cli;
    const char *model;
    int n_ctx;       /* 0 = model's */
    int n_batch;
    int32_t kv_type; /* BN_TYPE_F16 (default), BN_TYPE_F32 or BN_TYPE_Q8_0 */
    int lm_head_q8;
    bn_sampler_params sp;
    int n_predict;   /* -1 = until end of generation or context */
    int kv_page;     /* KV pool page in tokens; 0 = [kv] page_tokens or the default */
    uint64_t kv_budget; /* KV pool bytes; 0 = [kv] budget or the default */
} bn_host_opts;

/* --kv-type values: "f16", "f32", "q8_0" <-> bn_type; 0 / NULL when unknown. */
int bn_host_kv_type(const char *v, int32_t *out);
const char *bn_host_kv_name(int32_t type);

#define BN_MODEL_OPTS_HELP                                                                                        \
    "  -m, --model FILE       model (GGUF); default: [model] path, BITNET_MODEL, or the bundled model\n"         \
    "  -c, --ctx-size N       context length (default: the model's)\n"                                          \
    "  -b, --batch-size N     tokens per forward pass when reading a prompt (default 256)\n"                     \
    "      --kv-type TYPE     KV cache type: f16 (default), f32, or q8_0 (8-bit, half the bytes of f16)\n"       \
    "      --kv-f32           the same as --kv-type f32\n"                                                      \
    "      --lm-head q8_0     re-encode a float LM head as Q8_0 at load (faster decode)\n"                     \
    "      --kv-page N        KV pool page, tokens (multiple of 16, default 64; many-sequence runs)\n"         \
    "      --kv-budget SIZE   KV pool bytes, e.g. 4G or 512M (default: every sequence at full length,\n"      \
    "                         at most half the free memory)\n"

#define BN_SAMPLING_OPTS_HELP                                                                                     \
    "  -n, --n-predict N      tokens to generate (default: until end of text or context)\n"                     \
    "      --temp T           temperature (default 0.8; 0 = greedy)\n"                                          \
    "      --top-k K          (default 40; 0 = off)\n"                                                          \
    "      --top-p P          (default 0.95; 1 = off)\n"                                                        \
    "      --min-p P          (default 0.05; 0 = off)\n"                                                        \
    "      --repeat-penalty R (default 1.0 = off)   --repeat-last-n N (default 64)\n"                           \
    "      --frequency-penalty F, --presence-penalty P (default 0)\n"                                           \
    "  -s, --seed S           sampling seed (default: random)\n"

void bn_host_opts_init(bn_host_opts *o);
/* Consume a model / sampling / common option at argv[*i]: 1 consumed, 0
 * not ours, -1 bad value (message printed). */
int bn_host_opt(int argc, char **argv, int *i, bn_host_opts *o);

typedef struct bn_host {
    bn_settings settings;
    bn_engine *engine;
    bn_model *model;
    bn_vocab *vocab;
    char model_path[4096];
    double load_seconds; /* bn_model_load: map, validate, plan, weight_prepare */
    int kv_page;         /* KV pool settings: the flag, else the config key, else 0 (default) */
    uint64_t kv_budget;
} bn_host;

/* Resolve settings, start the engine, load the model and its vocabulary.
 * Prints the error and returns non-zero on failure. */
int bn_host_open(const bn_host_opts *o, int need_vocab, bn_host *h);
void bn_host_close(bn_host *h);

/* Monotonic seconds. */
double bn_now(void);

#endif
