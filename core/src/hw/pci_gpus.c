/* Display-class PCI devices (class 0x03xx) from the hwloc topology. */
#include <hwloc.h>
#include <stdio.h>
#include <string.h>

#include "hw_private.h"

/* Best available name: a GPU model from an OS device (NVML, ROCm SMI, ...),
 * then the pci.ids name, then the ids themselves. */
static void gpu_name(hwloc_obj_t pci, char *name, size_t len) {
    for (hwloc_obj_t os = pci->io_first_child; os; os = os->next_sibling) {
        const char *model = hwloc_obj_get_info_by_name(os, "GPUModel");
        if (model && *model) {
            snprintf(name, len, "%s", model);
            return;
        }
    }
    const char *dev = hwloc_obj_get_info_by_name(pci, "PCIDevice");
    if (dev && *dev)
        snprintf(name, len, "%s", dev);
    else if (pci->name && *pci->name)
        snprintf(name, len, "%s", pci->name);
    else
        snprintf(name, len, "PCI %04x:%04x", pci->attr->pcidev.vendor_id, pci->attr->pcidev.device_id);
}

void bn_hw_fill_gpus(struct hwloc_topology *topo, bn_hw_info *out) {
    out->n_gpus = 0;
    for (hwloc_obj_t pci = hwloc_get_next_pcidev(topo, NULL); pci && out->n_gpus < BN_HW_MAX_GPUS;
         pci = hwloc_get_next_pcidev(topo, pci)) {
        if ((pci->attr->pcidev.class_id >> 8) != 0x03)
            continue;
        bn_gpu_info *g = &out->gpus[out->n_gpus++];
        g->pci_vendor = pci->attr->pcidev.vendor_id;
        g->pci_device = pci->attr->pcidev.device_id;
        gpu_name(pci, g->name, sizeof g->name);
    }
}
