/* Hardware facts from sysconf and /proc: the whole answer when hwloc fails,
 * and the parts hwloc leaves empty (caches on some VMs, available memory). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hw_private.h"

void bn_hw_fill_fallback_counts(bn_hw_info *out) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    out->n_pus = n > 0 ? (int32_t)n : 1;
    out->n_cores = out->n_pus; /* SMT siblings are unknown without hwloc */
    out->n_packages = 1;
    out->n_numa = 1;
}

static uint64_t sysconf_bytes(int name) {
    long v = sysconf(name);
    return v > 0 ? (uint64_t)v : 0;
}

void bn_hw_fill_fallback_caches(bn_hw_info *out) {
#if defined(_SC_LEVEL1_DCACHE_SIZE) && defined(_SC_LEVEL2_CACHE_SIZE) && defined(_SC_LEVEL3_CACHE_SIZE)
    if (!out->l1d_bytes)
        out->l1d_bytes = sysconf_bytes(_SC_LEVEL1_DCACHE_SIZE);
    if (!out->l2_bytes)
        out->l2_bytes = sysconf_bytes(_SC_LEVEL2_CACHE_SIZE);
    if (!out->l3_bytes)
        out->l3_bytes = sysconf_bytes(_SC_LEVEL3_CACHE_SIZE);
#else
    (void)out;
#endif
}

/* MemAvailable (kernel's estimate incl. reclaimable cache) in bytes, 0 if absent. */
static uint64_t meminfo_available(void) {
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f)
        return 0;
    char line[128];
    unsigned long long kb = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
            break;
    fclose(f);
    return (uint64_t)kb * 1024u;
}

/* Room left under a cgroup v2 memory limit, UINT64_MAX if none. */
static uint64_t cgroup_room(void) {
    unsigned long long max = 0, cur = 0;
    FILE *f = fopen("/sys/fs/cgroup/memory.max", "r");
    if (!f)
        return UINT64_MAX;
    int limited = fscanf(f, "%llu", &max) == 1; /* "max" means no limit */
    fclose(f);
    if (!limited)
        return UINT64_MAX;
    f = fopen("/sys/fs/cgroup/memory.current", "r");
    if (f) {
        if (fscanf(f, "%llu", &cur) != 1)
            cur = 0;
        fclose(f);
    }
    return cur < max ? (uint64_t)(max - cur) : 0;
}

void bn_hw_fill_memory(bn_hw_info *out) {
    uint64_t page = sysconf_bytes(_SC_PAGESIZE);
    /* The kernel's page count is authoritative; hwloc's NUMA totals were
     * seen far below it in VMs (4 GiB of 23.5), so they are only a fallback. */
    uint64_t os_total = sysconf_bytes(_SC_PHYS_PAGES) * page;
    if (os_total)
        out->mem_total_bytes = os_total;
    uint64_t avail = meminfo_available();
#ifdef _SC_AVPHYS_PAGES
    if (!avail)
        avail = sysconf_bytes(_SC_AVPHYS_PAGES) * page;
#endif
    uint64_t room = cgroup_room();
    if (avail > room)
        avail = room;
    /* Sources disagree in some sandboxes (hwloc's NUMA totals below
     * /proc/meminfo): never report more available than total. */
    if (avail > out->mem_total_bytes)
        avail = out->mem_total_bytes;
    out->mem_available_bytes = avail;
}
