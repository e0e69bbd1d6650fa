/* `bitnet`: one program, many subcommands (git style). */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const bn_command commands[] = {
    {"run", "generate text from a prompt, streaming it", bn_cmd_run},
    {"chat", "talk with a model using its chat template", bn_cmd_chat},
    {"bench", "measure prompt and generation speed (ppN / tgN)", bn_cmd_bench},
    {"perplexity", "perplexity of a model on a text file", bn_cmd_perplexity},
    {"inspect", "show a GGUF's metadata, tensors and memory plan", bn_cmd_inspect},
    {"convert", "Hugging Face checkpoint -> GGUF, or re-encode a GGUF", bn_cmd_convert},
    {"tokenize", "show the token ids and pieces of a text", bn_cmd_tokenize},
    {"serve", "OpenAI-compatible HTTP server for many users at once", bn_cmd_serve},
    {"plugins", "list backend plugins, their scores here and which one is chosen", bn_cmd_plugins},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f) {
    fprintf(f,
            "usage: bitnet <command> [options]\n"
            "       bitnet --version | --help\n\n"
            "Runs 1.58-bit (ternary) language models with the best backend plugin for this machine.\n\n"
            "commands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n`bitnet <command> --help` describes each command.\n"
               "Environment: BITNET_BACKEND, BITNET_DENY, BITNET_PLUGIN_PATH, BITNET_THREADS, BITNET_KERNEL,\n"
               "BITNET_CONFIG, BITNET_LOG_LEVEL (they override the config file; options override them).\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("bitnet %s (plugin ABI %d.%d)\n", bn_version(), BN_ABI_MAJOR, BN_ABI_MINOR);
        return 0;
    }
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (!strcmp(cmd, commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "bitnet: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return 2;
}
