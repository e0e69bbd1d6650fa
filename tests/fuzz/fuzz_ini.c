/* libFuzzer target: INI text as the --config file of bn_settings_resolve
 * (inih from the system, the key handling and line counting of config.c).
 * The environment is cleared of BITNET_* so only the file decides. Every
 * resolved value must be in its documented range. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bitnet/bitnet.h"
#include "fuzz_util.h"

static volatile uint64_t sink;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    static const char *const vars[] = {"BITNET_CONFIG", "BITNET_BACKEND", "BITNET_DENY", "BITNET_KERNEL",
                                       "BITNET_THREADS", "BITNET_PIN_THREADS", "BITNET_MODEL", "BITNET_LOG_LEVEL"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
        unsetenv(vars[i]);
    return 0;
}

static int known_kernel(const char *k) {
    static const char *const names[] = {"auto", "mad", "tl1", "tl2"};
    for (size_t i = 0; i < 4; i++)
        if (!strcasecmp(k, names[i]))
            return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[512];
    fz_path(path, sizeof path, "config.ini");
    fz_write("config.ini", data, size);
    bn_cli_overrides cli;
    bn_cli_overrides_init(&cli);
    cli.config_path = path;
    bn_settings s;
    if (bn_settings_resolve(&cli, &s) != BN_OK)
        __builtin_trap(); /* the file exists: resolving must succeed */
    if (!s.backend || !s.deny || !s.plugin_path || !s.model || !s.kernel || !s.config_file)
        __builtin_trap();
    if (s.threads < 0 || s.threads > 4096 || (s.pin_threads != 0 && s.pin_threads != 1) || s.log_level < 0 ||
        s.log_level > 3 || !known_kernel(s.kernel) || strcmp(s.config_file, path))
        __builtin_trap();
    sink += strlen(s.backend) + strlen(s.deny) + strlen(s.plugin_path) + strlen(s.model);
    bn_settings_free(&s);
    return 0;
}
