/* `bitnet plugins`: what the loader found, how each scores here and why. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* Plugins the project ships; listed even when absent so the reason shows. */
static const char *const standard_plugins[] = {"reference", "cpu-avx2", "cpu-avx512", "cpu-neon", "cuda"};

static void print_hw(const bn_hw_info *hw) {
    char isa[512];
    bn_isa_to_string(hw->isa, isa, sizeof isa);
    printf("machine: %s, %s%s%s\n", hw->arch, hw->cpu_brand[0] ? hw->cpu_brand : hw->cpu_vendor,
           hw->cpu_brand[0] ? "" : " (no brand string)", "");
    printf("  %d package(s), %d core(s), %d hardware thread(s), %d NUMA node(s)\n", hw->n_packages, hw->n_cores,
           hw->n_pus, hw->n_numa);
    printf("  caches: L1d %llu KiB, L2 %llu KiB, L3 %llu KiB; memory %.1f GiB (%.1f GiB available)\n",
           (unsigned long long)(hw->l1d_bytes >> 10), (unsigned long long)(hw->l2_bytes >> 10),
           (unsigned long long)(hw->l3_bytes >> 10), (double)hw->mem_total_bytes / (1 << 30),
           (double)hw->mem_available_bytes / (1 << 30));
    printf("  ISA usable: %s\n", isa[0] ? isa : "(none)");
    if (hw->isa_cpu != hw->isa) {
        char off[512];
        bn_isa_to_string(hw->isa_cpu & ~hw->isa, off, sizeof off);
        printf("  ISA present but unusable (OS support or BITNET_ISA_DISABLE): %s\n", off);
    }
    if (hw->n_gpus == 0)
        printf("  GPUs: none found\n");
    for (int i = 0; i < hw->n_gpus && i < BN_HW_MAX_GPUS; i++)
        printf("  GPU %d: %04x:%04x %s\n", i, hw->gpus[i].pci_vendor, hw->gpus[i].pci_device, hw->gpus[i].name);
}

static int usage(FILE *f, int code) {
    fprintf(f, "usage: bitnet plugins [options]\n\n"
               "Lists every backend plugin on the search path with its score on this machine (0 = cannot run,\n"
               "with the reason) and marks the one that would be chosen.\n\noptions:\n" BN_COMMON_OPTS_HELP
               "  -h, --help             this text\n");
    return code;
}

int bn_cmd_plugins(int argc, char **argv) {
    bn_cli_overrides cli;
    bn_cli_overrides_init(&cli);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return usage(stdout, 0);
        int r = bn_cli_common_opt(argc, argv, &i, &cli);
        if (r < 0)
            return 2;
        if (r == 0) {
            fprintf(stderr, "bitnet plugins: unknown option '%s'\n", argv[i]);
            return usage(stderr, 2);
        }
    }
    bn_settings s;
    if (bn_settings_resolve(&cli, &s) != BN_OK) {
        bn_cli_error("settings");
        return 1;
    }
    bn_engine *e = NULL;
    bn_status st = bn_engine_create_ex(&s, BN_ENGINE_KEEP_ON_ERROR, &e);
    if (!e) {
        bn_cli_error("cannot start the engine");
        bn_settings_free(&s);
        return 1;
    }
    char choice_error[512] = "";
    if (st != BN_OK)
        snprintf(choice_error, sizeof choice_error, "%s", bn_last_error());

    printf("bitnet %s, plugin ABI %d.%d\n", bn_version(), BN_ABI_MAJOR, BN_ABI_MINOR);
    print_hw(bn_engine_hw(e));
    printf("config: %s\n", s.config_file[0] ? s.config_file : "(no config file)");
    printf("search path: %s\n\n", bn_engine_search_path(e)[0] ? bn_engine_search_path(e) : "(empty)");
    printf("  %-14s %-7s %-8s %-5s %s\n", "PLUGIN", "SCORE", "VERSION", "ABI", "STATUS");
    for (size_t i = 0; i < bn_engine_plugin_count(e); i++) {
        const bn_plugin_report *r = bn_engine_plugin(e, i);
        char abi[16] = "-";
        if (r->abi_major || r->abi_minor)
            snprintf(abi, sizeof abi, "%d.%d", r->abi_major, r->abi_minor);
        const char *note = r->reason ? r->reason : "";
        printf("%c %-14s %-7d %-8s %-5s %s%s%s\n", r->chosen ? '*' : ' ', r->name, r->score,
               r->version[0] ? r->version : "-", abi,
               r->chosen ? "chosen" : (r->usable ? "usable" : note),
               r->usable && note[0] ? ": " : "", r->usable ? note : "");
        printf("  %-14s %s\n", "", r->path);
    }
    for (size_t k = 0; k < sizeof standard_plugins / sizeof standard_plugins[0]; k++) {
        int found = 0;
        for (size_t i = 0; i < bn_engine_plugin_count(e); i++)
            found |= !strcmp(bn_engine_plugin(e, i)->name, standard_plugins[k]);
        if (!found)
            printf("  %-14s %-7d %-8s %-5s not installed (no bitnet-plugin-%s.so on the search path)\n",
                   standard_plugins[k], 0, "-", "-", standard_plugins[k]);
    }
    int rc = 0;
    if (choice_error[0]) {
        fprintf(stderr, "\nbitnet: no backend can be chosen: %s\n", choice_error);
        rc = 1;
    } else {
        printf("\nchosen: %s (%d thread(s))\n", bn_engine_backend(e)->info.name, bn_engine_threads(e));
    }
    bn_engine_free(e);
    bn_settings_free(&s);
    return rc;
}
