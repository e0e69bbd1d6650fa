/* `bitnet convert`: Hugging Face folder -> GGUF, or GGUF -> GGUF. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bitnet/convert.h>

#include "cli.h"

static int usage(FILE *f, int code) {
    fprintf(f, "usage: bitnet convert HF_FOLDER -o OUT.gguf [options]\n"
               "       bitnet convert IN.gguf -o OUT.gguf --type TYPE     (re-encode ternary tensors; codes\n"
               "                          kept, and the per-tensor scale exactly unless --tq-scale blocks)\n\n"
               "HF_FOLDER holds config.json, *.safetensors, tokenizer.json and tokenizer_config.json of a\n"
               "BitNet b1.58 / 1bitLLM / Llama checkpoint; weights may be bf16/f16/f32 masters (absmean\n"
               "ternarised) or packed ternary uint8 with weight_scale (kept exactly).\n\noptions:\n"
               "  -o, --output FILE      where to write the GGUF (required)\n"
               "      --type TYPE        linear layers: i2_s (default), tq2_0, tq1_0; f16, f32 for llama float models\n"
               "      --embd-type TYPE   token embedding / LM head: f16 (default), f32, q8_0\n"
               "      --tq-scale WHERE   where tq1_0/tq2_0 keep each layer's scale: 'tensor' (default) writes\n"
               "                         blocks with d = 1 and the exact float32 scale as a one-value F32\n"
               "                         tensor 'blk.N.<layer>.scale' that bitnet applies; 'blocks' rounds the\n"
               "                         scale to fp16 into every block's d, for readers that ignore .scale\n"
               "                         tensors (logits then differ slightly from an i2_s file)\n"
               "      --vocab-only       write only the tokenizer (from tokenizer.json)\n"
               "      --name NAME        general.name (default: the folder name)\n"
               "  -q, --quiet            no progress output\n" BN_COMMON_OPTS_HELP "  -h, --help             this text\n");
    return code;
}

static int parse_type(const char *v, int32_t *out) {
    static const struct {
        const char *n;
        int32_t t;
    } names[] = {{"i2_s", BN_TYPE_I2_S}, {"tq2_0", BN_TYPE_TQ2_0}, {"tq1_0", BN_TYPE_TQ1_0}, {"f16", BN_TYPE_F16},
                 {"f32", BN_TYPE_F32},   {"q8_0", BN_TYPE_Q8_0}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcasecmp(v, names[i].n)) {
            *out = names[i].t;
            return 1;
        }
    fprintf(stderr, "bitnet convert: unknown type '%s'\n", v);
    return 0;
}

/* One line per tensor; a bar when stderr is a terminal. */
static void progress(void *arg, int done, int total, const char *name) {
    (void)arg;
    int tty = isatty(2), width = 30, fill = total ? done * width / total : width;
    if (tty) {
        fprintf(stderr, "\r[%.*s%*s] %3d/%d %-40.40s", fill, "##############################", width - fill, "",
                done, total, name);
        if (done == total)
            fputc('\n', stderr);
    } else {
        fprintf(stderr, "[%3d/%d] %s\n", done, total, name);
    }
}

int bn_cmd_convert(int argc, char **argv) {
    bn_cli_overrides cli;
    bn_cli_overrides_init(&cli);
    bn_convert_opts o;
    bn_convert_opts_init(&o);
    const char *in = NULL, *out = NULL, *v;
    int quiet = 0, type_given = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help"))
            return usage(stdout, 0);
        if (bn_cli_matches(a, "-o", "--output")) {
            if (!(out = bn_cli_value(argc, argv, &i, "--output")))
                return 2;
        } else if (bn_cli_matches(a, NULL, "--type")) {
            if (!(v = bn_cli_value(argc, argv, &i, "--type")) || !parse_type(v, &o.type))
                return 2;
            type_given = 1;
        } else if (bn_cli_matches(a, NULL, "--embd-type")) {
            if (!(v = bn_cli_value(argc, argv, &i, "--embd-type")) || !parse_type(v, &o.embd_type))
                return 2;
        } else if (bn_cli_matches(a, NULL, "--tq-scale")) {
            if (!(v = bn_cli_value(argc, argv, &i, "--tq-scale")))
                return 2;
            if (strcmp(v, "tensor") && strcmp(v, "blocks")) {
                fprintf(stderr, "bitnet convert: --tq-scale takes 'tensor' or 'blocks', not '%s'\n", v);
                return 2;
            }
            o.tq_scale_in_blocks = !strcmp(v, "blocks");
        } else if (!strcmp(a, "--vocab-only")) {
            o.vocab_only = 1;
        } else if (bn_cli_matches(a, NULL, "--name")) {
            if (!(o.name = bn_cli_value(argc, argv, &i, "--name")))
                return 2;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            quiet = 1;
        } else if (a[0] == '-' && a[1]) {
            int r = bn_cli_common_opt(argc, argv, &i, &cli);
            if (r < 0)
                return 2;
            if (r == 0) {
                fprintf(stderr, "bitnet convert: unknown option '%s'\n", a);
                return usage(stderr, 2);
            }
        } else if (!in) {
            in = a;
        } else {
            fprintf(stderr, "bitnet convert: unexpected argument '%s'\n", a);
            return usage(stderr, 2);
        }
    }
    if (!in || !out) {
        fprintf(stderr, "bitnet convert: give an input and -o OUT.gguf\n");
        return usage(stderr, 2);
    }
    struct stat sb;
    if (stat(in, &sb) != 0) {
        fprintf(stderr, "bitnet convert: '%s' does not exist\n", in);
        return 1;
    }
    if (!quiet) {
        o.progress = progress;
        o.progress_arg = NULL;
    }
    bn_settings s;
    bn_engine *e = NULL;
    if (bn_settings_resolve(&cli, &s) != BN_OK) {
        bn_cli_error("settings");
        return 1;
    }
    /* The encoders are the reference plugin's: no other backend is needed. */
    if (bn_engine_create_ex(&s, BN_ENGINE_NO_CHOICE, &e) != BN_OK) {
        bn_cli_error("cannot start the engine");
        bn_settings_free(&s);
        return 1;
    }
    bn_status st;
    if (S_ISDIR(sb.st_mode)) {
        st = bn_convert_hf(e, in, out, &o);
    } else if (!type_given) {
        fprintf(stderr, "bitnet convert: re-encoding a GGUF needs --type (i2_s, tq2_0 or tq1_0)\n");
        st = BN_ERR_INVALID;
        bn_engine_free(e);
        bn_settings_free(&s);
        return 2;
    } else {
        st = bn_requantize(e, in, out, &o);
    }
    if (st != BN_OK)
        bn_cli_error("conversion failed");
    else if (!quiet)
        fprintf(stderr, "bitnet convert: wrote %s\n", out);
    bn_engine_free(e);
    bn_settings_free(&s);
    return st == BN_OK ? 0 : 1;
}
