/* libFuzzer target: GGUF bytes through bn_model_load on the reference
 * backend, under a small memory budget, then one short evaluation.
 *
 * The budget: the fuzzer is linked with --wrap=bn_hw_probe, so the memory
 * plan sees FUZZ_BUDGET_MB as the free memory (and the slow hwloc probe
 * runs once, not per input). A file whose plan (weights + KV cache for the
 * model's own context + scratch) exceeds it must be refused before anything
 * big is allocated; run with -malloc_limit_mb / -rss_limit_mb so an
 * allocation the plan did not account for is reported as a crash.
 *
 * The core is compiled in with coverage (bitnet-fuzzcore); the reference
 * plugin is dlopen'ed from <build>/lib/bitnet/plugins (BITNET_PLUGIN_PATH
 * overrides) and runs uninstrumented. */
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bitnet/backend.h"
#include "bitnet/bitnet.h"
#include "bitnet/model.h"
#include "fuzz_util.h"

#ifndef FUZZ_BUDGET_MB
#define FUZZ_BUDGET_MB 64
#endif

static bn_engine *engine;

bn_status __real_bn_hw_probe(bn_hw_info *out);
bn_status __wrap_bn_hw_probe(bn_hw_info *out);

bn_status __wrap_bn_hw_probe(bn_hw_info *out) {
    static bn_hw_info cached;
    static int have;
    if (!out)
        return __real_bn_hw_probe(out);
    if (!have) {
        bn_status st = __real_bn_hw_probe(&cached);
        if (st != BN_OK)
            return st;
        cached.mem_available_bytes = (uint64_t)FUZZ_BUDGET_MB << 20;
        have = 1;
    }
    *out = cached;
    return BN_OK;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    if (!getenv("BITNET_PLUGIN_PATH")) {
        char exe[PATH_MAX], dir[PATH_MAX + 32];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n <= 0) {
            perror("fuzz-model: /proc/self/exe");
            abort();
        }
        exe[n] = 0;
        snprintf(dir, sizeof dir, "%s/../lib/bitnet/plugins", dirname(exe));
        setenv("BITNET_PLUGIN_PATH", dir, 1);
    }
    bn_settings s = {.backend = "reference", .deny = "", .plugin_path = "", .model = "", .kernel = "auto",
                     .threads = 1, .pin_threads = 0, .log_level = BN_LOG_ERROR, .config_file = ""};
    if (bn_engine_create(&s, &engine) != BN_OK) {
        fprintf(stderr, "fuzz-model: no reference backend (BITNET_PLUGIN_PATH=%s): %s\n",
                getenv("BITNET_PLUGIN_PATH"), bn_last_error());
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[512];
    fz_path(path, sizeof path, "model.gguf");
    fz_write("model.gguf", data, size);
    bn_model_opts o;
    bn_model_opts_init(&o);
    o.n_ctx = 0; /* the model's own context: a hostile one must be refused by the plan */
    o.n_batch = 4;
    if (size & 1)
        o.lm_head_type = BN_TYPE_Q8_0; /* the load-time re-encoding path, for odd sizes */
    bn_model *m = NULL;
    bn_status st = bn_model_load(engine, path, &o, &m);
    if (st != BN_OK) {
        if (m)
            __builtin_trap();
        if (getenv("FUZZ_VERBOSE"))
            fprintf(stderr, "fuzz-model: %s\n", bn_last_error());
        return 0;
    }
    const bn_mem_plan *plan = bn_model_mem_plan(m);
    const bn_hparams *hp = bn_model_hparams(m);
    if (plan->total > ((uint64_t)FUZZ_BUDGET_MB << 20) || hp->n_vocab < 1 || plan->n_ctx < 1)
        __builtin_trap(); /* loaded although the plan does not fit */
    bn_session *s = NULL;
    if (bn_session_create(m, &s) == BN_OK) {
        int32_t toks[3] = {0, hp->n_vocab - 1, hp->n_vocab / 2};
        int32_t n = plan->n_ctx < 3 ? plan->n_ctx : 3;
        float *logits = malloc((size_t)hp->n_vocab * n * sizeof *logits);
        st = logits ? bn_session_eval(s, toks, n, logits, 1) : BN_ERR_NOMEM;
        if (st == BN_OK && bn_session_pos(s) != n)
            __builtin_trap();
        if (getenv("FUZZ_VERBOSE"))
            fprintf(stderr, "fuzz-model: loaded %s, %d layers, ctx %d, plan %.1f MiB; eval: %s\n", hp->arch_name,
                    hp->n_layer, plan->n_ctx, plan->total / 1048576.0, st == BN_OK ? "ok" : bn_last_error());
        int32_t bad = hp->n_vocab;
        if (logits && bn_session_eval(s, &bad, 1, logits, 0) == BN_OK)
            __builtin_trap(); /* an out-of-range id must be refused */
        free(logits);
        bn_session_free(s);
    }
    bn_model_free(m);
    return 0;
}
