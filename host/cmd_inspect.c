/* `bitnet inspect`: metadata, tensors by type, parameters, memory plan. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <bitnet/gguf.h>
#include <bitnet/batch.h>
#include <bitnet/model.h>

#include "cli.h"
#include "model_setup.h"

static int usage(FILE *f, int code) {
    fprintf(f, "usage: bitnet inspect MODEL.gguf [options]\n\n"
               "Prints the model's metadata, its tensors grouped by type, the parameter count and the memory\n"
               "plan (weights, KV cache for the context, scratch) against the memory available here.\n\n"
               "options:\n"
               "  -c, --ctx-size N       context for the memory plan (default: the model's)\n"
               "      --kv-type TYPE     plan a KV cache of f16 (default), f32 or q8_0\n"
               "      --kv-f32           the same as --kv-type f32\n"
               "      --parallel N       plan the KV pool for N sequences of the context (default 256)\n"
               "      --kv-page N        KV pool page in tokens (default 64)\n"
               "      --kv-budget SIZE   KV pool bytes (default: N sequences at full length, at most half the\n"
               "                         free memory)\n"
               "      --tensors          list every tensor\n"
               "  -h, --help             this text\n");
    return code;
}

static void print_value(const bn_gguf_value *v) {
    int t = bn_gguf_value_type(v);
    int64_t i;
    double d;
    const char *s;
    int b;
    if (t == BN_GGUF_STR && bn_gguf_value_str(v, &s, NULL) == BN_OK) {
        size_t n = strlen(s);
        printf("\"%.*s%s\"", (int)(n > 60 ? 60 : n), s, n > 60 ? "..." : "");
        for (const char *c = s; *c && c < s + 60; c++)
            if (*c == '\n') { /* keep one line per key */
                printf(" (multi-line, %zu bytes)", n);
                break;
            }
    } else if (t == BN_GGUF_ARR) {
        printf("[%s x %" PRIu64 "]", bn_gguf_vtype_name(bn_gguf_array_type(v)), bn_gguf_array_len(v));
    } else if (t == BN_GGUF_BOOL && bn_gguf_value_bool(v, &b) == BN_OK) {
        printf("%s", b ? "true" : "false");
    } else if ((t == BN_GGUF_F32 || t == BN_GGUF_F64) && bn_gguf_value_f64(v, &d) == BN_OK) {
        printf("%g", d);
    } else if (bn_gguf_value_i64(v, &i) == BN_OK) {
        printf("%" PRId64, i);
    } else {
        uint64_t u;
        if (bn_gguf_value_u64(v, &u) == BN_OK)
            printf("%" PRIu64, u);
    }
}

int bn_cmd_inspect(int argc, char **argv) {
    const char *path = NULL, *v;
    int list = 0;
    bn_model_opts mo;
    bn_model_opts_init(&mo);
    bn_kv_pool_opts po;
    bn_kv_pool_opts_init(&po);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help"))
            return usage(stdout, 0);
        if (bn_cli_matches(a, "-c", "--ctx-size")) {
            if (!(v = bn_cli_value(argc, argv, &i, "--ctx-size")) || !bn_cli_int(v, "--ctx-size", 1, 1 << 24, &mo.n_ctx))
                return 2;
        } else if (!strcmp(a, "--kv-f32")) {
            mo.kv_type = BN_TYPE_F32;
        } else if (bn_cli_matches(a, NULL, "--kv-type")) {
            if (!(v = bn_cli_value(argc, argv, &i, "--kv-type")))
                return 2;
            if (!bn_host_kv_type(v, &mo.kv_type)) {
                fprintf(stderr, "bitnet: --kv-type wants f16, f32 or q8_0, got '%s'\n", v);
                return 2;
            }
        } else if (bn_cli_matches(a, NULL, "--parallel")) {
            if (!(v = bn_cli_value(argc, argv, &i, "--parallel")) || !bn_cli_int(v, "--parallel", 1, 1 << 20, &po.max_seqs))
                return 2;
        } else if (bn_cli_matches(a, NULL, "--kv-page")) {
            if (!(v = bn_cli_value(argc, argv, &i, "--kv-page")) || !bn_cli_int(v, "--kv-page", 16, 65536, &po.page_tokens))
                return 2;
        } else if (bn_cli_matches(a, NULL, "--kv-budget")) {
            if (!(v = bn_cli_value(argc, argv, &i, "--kv-budget")) || !bn_parse_bytes(v, &po.budget_bytes) ||
                !po.budget_bytes) {
                fprintf(stderr, "bitnet inspect: --kv-budget wants a size such as 4G or 512M\n");
                return 2;
            }
        } else if (!strcmp(a, "--tensors")) {
            list = 1;
        } else if (a[0] == '-') {
            fprintf(stderr, "bitnet inspect: unknown option '%s'\n", a);
            return usage(stderr, 2);
        } else if (!path) {
            path = a;
        } else {
            return usage(stderr, 2);
        }
    }
    if (!path)
        return usage(stderr, 2);
    bn_gguf *g;
    if (bn_gguf_open(path, &g) != BN_OK) {
        bn_cli_error("cannot read the file");
        return 1;
    }
    printf("file: %s (GGUF v%u, %.1f MiB, alignment %u)\n\nmetadata (%" PRIu64 " keys):\n", path, bn_gguf_version(g),
           bn_gguf_file_size(g) / 1048576.0, bn_gguf_alignment(g), bn_gguf_kv_count(g));
    for (uint64_t i = 0; i < bn_gguf_kv_count(g); i++) {
        printf("  %-44s ", bn_gguf_kv_key(g, i));
        print_value(bn_gguf_kv_value(g, i));
        putchar('\n');
    }
    uint64_t nt = bn_gguf_tensor_count(g), params = 0;
    struct {
        const char *name;
        uint64_t n, bytes, elems;
    } by[64] = {{0}};
    int n_by = 0, unsupported = 0;
    for (uint64_t i = 0; i < nt; i++) {
        const bn_gguf_tensor *t = bn_gguf_tensor_at(g, i);
        params += (uint64_t)t->n_elems;
        unsupported += !t->supported;
        int k = 0;
        while (k < n_by && strcmp(by[k].name, t->type_name))
            k++;
        if (k == n_by && n_by < 64)
            by[n_by++].name = t->type_name;
        if (k < 64) {
            by[k].n++;
            by[k].bytes += t->size;
            by[k].elems += (uint64_t)t->n_elems;
        }
        if (list)
            printf("  %-40s %-6s [%" PRId64 ", %" PRId64 "] %s\n", t->name, t->type_name, t->ne[0], t->ne[1],
                   t->supported ? "" : t->reason);
    }
    printf("\ntensors: %" PRIu64 ", parameters: %.3f M\n", nt, params / 1e6);
    for (int k = 0; k < n_by; k++)
        printf("  %-8s %5" PRIu64 " tensors %10.2f MiB  %.3f bits/weight\n", by[k].name, by[k].n,
               by[k].bytes / 1048576.0, by[k].elems ? 8.0 * by[k].bytes / by[k].elems : 0.0);
    if (unsupported)
        printf("  %d tensor(s) have types bitnet cannot run (see --tensors)\n", unsupported);
    bn_gguf_close(g);

    bn_hparams hp;
    bn_mem_plan p;
    if (bn_model_read_hparams(path, &hp) != BN_OK || bn_model_plan(path, &mo, &p) != BN_OK) {
        printf("\nnot a runnable model: %s\n", bn_last_error());
        return 0;
    }
    printf("\nmodel: %s, %d layers, embd %d, ffn %d, heads %d/%d (head dim %d), vocab %d, context %d%s\n",
           hp.arch_name, hp.n_layer, hp.n_embd, hp.n_ff, hp.n_head, hp.n_head_kv, hp.head_dim, hp.n_vocab,
           hp.n_ctx_train, hp.tied_embeddings ? ", tied embeddings" : "");
    printf("  RoPE %s base %g over %d dims, FFN %s, %s, RMS eps %g\n", hp.rope_style == BN_ROPE_NEOX ? "NEOX" : "NORM",
           (double)hp.rope_freq_base, hp.n_rot, hp.act == BN_ACT_RELU2 ? "relu2" : "silu",
           hp.has_sub_norms ? "sub-norms" : "no sub-norms", (double)hp.norm_eps);
    const double M = 1048576.0;
    printf("\nmemory plan for a context of %d (KV %s, batch %d):\n", p.n_ctx, bn_type_name(p.kv_type),
           p.n_batch);
    printf("  weights   %10.1f MiB\n  KV cache  %10.1f MiB (%.1f KiB per token)\n  scratch   %10.1f MiB\n"
           "  total     %10.1f MiB of %.1f MiB available: %s\n",
           p.weight_total / M, p.kv_total / M, p.kv_bytes_per_token / 1024.0, p.scratch_bytes / M, p.total / M,
           p.available / M, !p.available || p.total <= p.available ? "fits" : "DOES NOT FIT");
    bn_kv_pool_stats ks;
    if (bn_kv_pool_plan(&p, &hp, &po, &ks) != BN_OK) {
        printf("\nKV pool: %s\n", bn_last_error());
        return 0;
    }
    uint64_t want = (uint64_t)ks.max_seqs * (uint64_t)((ks.max_seq_len + ks.page_tokens - 1) / ks.page_tokens);
    printf("\nKV pool for many sequences (bench --parallel): pages of %d tokens, %.1f KiB each\n"
           "  budget    %10.1f MiB = %d pages = %lld tokens; %d sequences of %d tokens want %llu pages%s\n",
           ks.page_tokens, ks.page_bytes / 1024.0, ks.budget_bytes / M, ks.n_pages,
           (long long)ks.n_pages * ks.page_tokens, ks.max_seqs, ks.max_seq_len, (unsigned long long)want,
           want > (uint64_t)ks.n_pages ? " (capped at half the free memory; sequences share it as they grow)" : "");
    return 0;
}
