/* Topology with hwloc: packages, cores, PUs, NUMA nodes, cache sizes,
 * memory and PCI GPUs. On any hwloc failure the sysconf counts remain. */
#include <hwloc.h>
#include <stdio.h>
#include <string.h>

#include "hw_private.h"

static int32_t count(hwloc_topology_t topo, hwloc_obj_type_t type) {
    int n = hwloc_get_nbobjs_by_type(topo, type);
    return n > 0 ? (int32_t)n : 0; /* -1 means "on several depths": not for these types */
}

/* Size of the first cache of a level: the per-instance figure kernels tile for. */
static uint64_t first_cache_size(hwloc_topology_t topo, hwloc_obj_type_t type) {
    hwloc_obj_t c = hwloc_get_obj_by_type(topo, type, 0);
    return c && c->attr ? (uint64_t)c->attr->cache.size : 0;
}

static void fill_counts(hwloc_topology_t topo, bn_hw_info *out) {
    int32_t pus = count(topo, HWLOC_OBJ_PU), cores = count(topo, HWLOC_OBJ_CORE);
    int32_t pkgs = count(topo, HWLOC_OBJ_PACKAGE), numa = count(topo, HWLOC_OBJ_NUMANODE);
    if (pus > 0)
        out->n_pus = pus;
    /* Some VMs and ARM boards report no Core objects: take one per PU. */
    out->n_cores = cores > 0 ? cores : out->n_pus;
    out->n_packages = pkgs > 0 ? pkgs : 1;
    out->n_numa = numa > 0 ? numa : 1;
    out->l1d_bytes = first_cache_size(topo, HWLOC_OBJ_L1CACHE);
    out->l2_bytes = first_cache_size(topo, HWLOC_OBJ_L2CACHE);
    out->l3_bytes = first_cache_size(topo, HWLOC_OBJ_L3CACHE);
    out->mem_total_bytes = hwloc_get_root_obj(topo)->total_memory;
    if (!out->cpu_brand[0]) {
        /* Where the ISA probe has no brand string (AArch64), hwloc may. */
        hwloc_obj_t pkg = hwloc_get_obj_by_type(topo, HWLOC_OBJ_PACKAGE, 0);
        const char *model = pkg ? hwloc_obj_get_info_by_name(pkg, "CPUModel") : NULL;
        if (model)
            snprintf(out->cpu_brand, sizeof out->cpu_brand, "%s", model);
    }
}

bn_status bn_probe_topology(bn_hw_info *out) {
    bn_hw_fill_fallback_counts(out);
    hwloc_topology_t topo;
    if (hwloc_topology_init(&topo) != 0) {
        bn_hw_fill_fallback_caches(out);
        bn_hw_fill_memory(out);
        return bn_fail(BN_ERR_INTERNAL, "hwloc_topology_init failed");
    }
    /* PCI devices are needed to find GPUs; "important" keeps display,
     * network and storage devices and drops bridges. */
    hwloc_topology_set_type_filter(topo, HWLOC_OBJ_PCI_DEVICE, HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
    hwloc_topology_set_type_filter(topo, HWLOC_OBJ_OS_DEVICE, HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
#if defined(__linux__) && HWLOC_API_VERSION >= 0x00020100
    /* On Linux the built-in sysfs discovery finds the same PCI devices; the
     * libpciaccess plugin only adds pci.ids names, and its state is lost
     * (leaked) when hwloc unloads the plugin at every topology destroy. */
    hwloc_topology_set_components(topo, HWLOC_TOPOLOGY_COMPONENTS_FLAG_BLACKLIST, "pci");
#endif
    bn_status st = BN_OK;
    if (hwloc_topology_load(topo) != 0) {
        st = bn_fail(BN_ERR_IO, "hwloc_topology_load failed");
    } else {
        fill_counts(topo, out);
        bn_hw_fill_gpus(topo, out);
    }
    hwloc_topology_destroy(topo);
    bn_hw_fill_fallback_caches(out);
    bn_hw_fill_memory(out);
    return st;
}
