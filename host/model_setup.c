/* Shared set-up of the model-running subcommands. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model_setup.h"

double bn_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void bn_host_opts_init(bn_host_opts *o) {
    memset(o, 0, sizeof *o);
    bn_cli_overrides_init(&o->cli);
    bn_sampler_params_init(&o->sp);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    o->sp.seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20);
    o->n_batch = 256;
    o->n_predict = -1;
}

int bn_host_kv_type(const char *v, int32_t *out) {
    static const struct {
        const char *name;
        int32_t type;
    } kinds[] = {{"f16", BN_TYPE_F16}, {"f32", BN_TYPE_F32}, {"q8_0", BN_TYPE_Q8_0}};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (!strcmp(v, kinds[i].name)) {
            *out = kinds[i].type;
            return 1;
        }
    return 0;
}

const char *bn_host_kv_name(int32_t type) {
    return type == BN_TYPE_F32 ? "f32" : type == BN_TYPE_Q8_0 ? "q8_0" : "f16";
}

int bn_host_opt(int argc, char **argv, int *i, bn_host_opts *o) {
    const char *a = argv[*i], *v;
    int r = bn_cli_common_opt(argc, argv, i, &o->cli);
    if (r)
        return r;
#define VAL(name) if (!(v = bn_cli_value(argc, argv, i, name))) return -1
    if (bn_cli_matches(a, "-m", "--model")) {
        VAL("--model");
        o->model = v;
    } else if (bn_cli_matches(a, "-c", "--ctx-size")) {
        VAL("--ctx-size");
        return bn_cli_int(v, "--ctx-size", 1, 1 << 24, &o->n_ctx) ? 1 : -1;
    } else if (bn_cli_matches(a, "-b", "--batch-size")) {
        VAL("--batch-size");
        return bn_cli_int(v, "--batch-size", 1, 4096, &o->n_batch) ? 1 : -1;
    } else if (!strcmp(a, "--kv-f32")) {
        o->kv_type = BN_TYPE_F32;
    } else if (bn_cli_matches(a, NULL, "--kv-type")) {
        VAL("--kv-type");
        if (!bn_host_kv_type(v, &o->kv_type)) {
            fprintf(stderr, "bitnet: --kv-type wants f16, f32 or q8_0, got '%s'\n", v);
            return -1;
        }
    } else if (bn_cli_matches(a, NULL, "--kv-page")) {
        VAL("--kv-page");
        if (!bn_cli_int(v, "--kv-page", 16, 65536, &o->kv_page))
            return -1;
        if (o->kv_page % 16) {
            fprintf(stderr, "bitnet: --kv-page wants a multiple of 16, got %d\n", o->kv_page);
            return -1;
        }
    } else if (bn_cli_matches(a, NULL, "--kv-budget")) {
        VAL("--kv-budget");
        if (!bn_parse_bytes(v, &o->kv_budget) || o->kv_budget == 0) {
            fprintf(stderr, "bitnet: --kv-budget wants a size such as 4G, 512M or 1048576, got '%s'\n", v);
            return -1;
        }
    } else if (bn_cli_matches(a, NULL, "--lm-head")) {
        VAL("--lm-head");
        if (strcmp(v, "q8_0") && strcmp(v, "keep")) {
            fprintf(stderr, "bitnet: --lm-head wants q8_0 or keep, got '%s'\n", v);
            return -1;
        }
        o->lm_head_q8 = !strcmp(v, "q8_0");
    } else if (bn_cli_matches(a, "-n", "--n-predict")) {
        VAL("--n-predict");
        return bn_cli_int(v, "--n-predict", -1, 1 << 24, &o->n_predict) ? 1 : -1;
    } else if (bn_cli_matches(a, NULL, "--temp")) {
        VAL("--temp");
        return bn_cli_float(v, "--temp", 0, 100, &o->sp.temperature) ? 1 : -1;
    } else if (bn_cli_matches(a, NULL, "--top-k")) {
        VAL("--top-k");
        return bn_cli_int(v, "--top-k", 0, 1 << 30, &o->sp.top_k) ? 1 : -1;
    } else if (bn_cli_matches(a, NULL, "--top-p")) {
        VAL("--top-p");
        return bn_cli_float(v, "--top-p", 1e-6, 1, &o->sp.top_p) ? 1 : -1;
    } else if (bn_cli_matches(a, NULL, "--min-p")) {
        VAL("--min-p");
        return bn_cli_float(v, "--min-p", 0, 1, &o->sp.min_p) ? 1 : -1;
    } else if (bn_cli_matches(a, NULL, "--repeat-penalty")) {
        VAL("--repeat-penalty");
        return bn_cli_float(v, "--repeat-penalty", 1e-3, 100, &o->sp.repeat_penalty) ? 1 : -1;
    } else if (bn_cli_matches(a, NULL, "--repeat-last-n")) {
        VAL("--repeat-last-n");
        return bn_cli_int(v, "--repeat-last-n", 0, BN_SAMPLER_MAX_LAST_N, &o->sp.repeat_last_n) ? 1 : -1;
    } else if (bn_cli_matches(a, NULL, "--frequency-penalty")) {
        VAL("--frequency-penalty");
        return bn_cli_float(v, "--frequency-penalty", -100, 100, &o->sp.frequency_penalty) ? 1 : -1;
    } else if (bn_cli_matches(a, NULL, "--presence-penalty")) {
        VAL("--presence-penalty");
        return bn_cli_float(v, "--presence-penalty", -100, 100, &o->sp.presence_penalty) ? 1 : -1;
    } else if (bn_cli_matches(a, "-s", "--seed")) {
        VAL("--seed");
        char *end;
        unsigned long long x = strtoull(v, &end, 10);
        if (end == v || *end) {
            fprintf(stderr, "bitnet: --seed wants a non-negative integer, got '%s'\n", v);
            return -1;
        }
        o->sp.seed = x;
    } else {
        return 0;
    }
#undef VAL
    return 1;
}

int bn_host_open(const bn_host_opts *o, int need_vocab, bn_host *h) {
    memset(h, 0, sizeof *h);
    bn_cli_overrides cli = o->cli;
    if (o->model)
        cli.model = o->model;
    if (bn_settings_resolve(&cli, &h->settings) != BN_OK) {
        bn_cli_error("settings");
        return 1;
    }
    if (h->settings.model[0])
        snprintf(h->model_path, sizeof h->model_path, "%s", h->settings.model);
    else if (bn_default_model_path(h->model_path, sizeof h->model_path) != BN_OK) {
        bn_cli_error("no model given (-m FILE) and no bundled default model");
        bn_host_close(h);
        return 1;
    }
    if (bn_engine_create(&h->settings, &h->engine) != BN_OK) {
        bn_cli_error("cannot start the engine");
        bn_host_close(h);
        return 1;
    }
    bn_model_opts mo;
    bn_model_opts_init(&mo);
    mo.n_ctx = o->n_ctx;
    mo.n_batch = o->n_batch;
    mo.kv_type = o->kv_type ? o->kv_type : BN_TYPE_F16;
    mo.lm_head_type = o->lm_head_q8 ? BN_TYPE_Q8_0 : -1;
    mo.kernel = !strcmp(h->settings.kernel, "mad") ? BN_KERNEL_MAD
                : !strcmp(h->settings.kernel, "tl1") ? BN_KERNEL_TL1
                : !strcmp(h->settings.kernel, "tl2") ? BN_KERNEL_TL2
                                                      : BN_KERNEL_AUTO;
    double t_load = bn_now();
    bn_status load_st = bn_model_load(h->engine, h->model_path, &mo, &h->model);
    h->load_seconds = bn_now() - t_load;
    if (load_st != BN_OK) {
        char what[4200];
        snprintf(what, sizeof what, "cannot load model '%s'", h->model_path);
        bn_cli_error(what);
        bn_host_close(h);
        return 1;
    }
    h->kv_page = o->kv_page ? o->kv_page : h->settings.kv_page_tokens;
    h->kv_budget = o->kv_budget ? o->kv_budget : h->settings.kv_budget_bytes;
    if (need_vocab && bn_vocab_load_gguf(bn_model_gguf(h->model), &h->vocab) != BN_OK) {
        bn_cli_error("cannot read the model's tokenizer");
        bn_host_close(h);
        return 1;
    }
    return 0;
}

void bn_host_close(bn_host *h) {
    bn_vocab_free(h->vocab);
    bn_model_free(h->model);
    bn_engine_free(h->engine);
    bn_settings_free(&h->settings);
    memset(h, 0, sizeof *h);
}
