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
    "      --backend NAME     force a backend plugin (else the best scoring one)\n"                             \
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

/* Is arg the option (short form, long form, or "--long=value")? */
int bn_cli_matches(const char *arg, const char *shrt, const char *lng);
/* Value of "--opt VALUE" or "--opt=VALUE" at argv[*i] (advancing *i); NULL
 * with a message printed if missing. */
const char *bn_cli_value(int argc, char **argv, int *i, const char *name);
/* Strict number parsing; print "bitnet: NAME wants ..." and return 0 on error. */
int bn_cli_int(const char *v, const char *name, long lo, long hi, int *out);
int bn_cli_float(const char *v, const char *name, double lo, double hi, float *out);

/* Print "bitnet: <what>: <bn_last_error()>" to stderr. */
void bn_cli_error(const char *what);

int bn_cmd_plugins(int argc, char **argv);
int bn_cmd_run(int argc, char **argv);
int bn_cmd_chat(int argc, char **argv);
int bn_cmd_bench(int argc, char **argv);
int bn_cmd_perplexity(int argc, char **argv);
int bn_cmd_inspect(int argc, char **argv);
int bn_cmd_convert(int argc, char **argv);
int bn_cmd_tokenize(int argc, char **argv);
int bn_cmd_serve(int argc, char **argv);

#endif
