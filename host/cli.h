/* Shared pieces of the `bitnet` command-line programs. */
#ifndef BITNET_HOST_CLI_H
#define BITNET_HOST_CLI_H

#include <bitnet/bitnet.h>

/* A subcommand: argv[0] is the subcommand name. Returns the exit code. */
typedef int (*bn_cmd_fn)(int argc, char **argv);

typedef struct bn_command {
    const char *name;
    const char *summary;
    bn_cmd_fn run;
} bn_command;

/* Options every subcommand that runs a backend accepts. */
#define BN_COMMON_OPTS_HELP                                                                                      \
    "  -b, --backend NAME     force a backend plugin (else the best scoring one)\n"                             \
    "      --deny LIST        never load these plugins (comma-separated)\n"                                     \
    "      --plugin-path DIRS extra plugin directories (':'-separated)\n"                                       \
    "      --kernel K         ternary kernel method: auto, mad, tl1, tl2\n"                                     \
    "  -t, --threads N        worker threads (default: one per physical core)\n"                                \
    "      --no-pin           do not pin worker threads to cores\n"                                             \
    "      --config FILE      read settings from FILE\n"                                                        \
    "  -v, --verbose          more log output (repeat for debug)\n"

/* Try to consume a common option at argv[*i]; returns 1 if consumed, 0 if
 * not a common option, -1 on a bad value (message printed). */
int bn_cli_common_opt(int argc, char **argv, int *i, bn_cli_overrides *cli);

/* Print "bitnet: <what>: <bn_last_error()>" to stderr. */
void bn_cli_error(const char *what);

int bn_cmd_plugins(int argc, char **argv);

#endif
