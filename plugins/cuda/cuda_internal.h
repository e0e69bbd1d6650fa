/*
 * Shared declarations of the cuda plugin (never included outside
 * plugins/cuda/). probe.cu is the only file that talks to the CUDA
 * runtime so far; entry.c is plain C.
 */
#ifndef BITNET_CUDA_INTERNAL_H
#define BITNET_CUDA_INTERNAL_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Oldest compute capability the plugin is built for (CUDA 13 builds
 * sm_75 and newer; BITNET_CUDA_ARCHITECTURES in the top CMakeLists.txt). */
#define CU_MIN_CC_MAJOR 7
#define CU_MIN_CC_MINOR 5

typedef struct cu_device {
    int index;
    char name[256];
    int cc_major, cc_minor;
    int sm_count;
    size_t total_mem;
} cu_device;

/* The best CUDA device here (most SMs among those of a high enough
 * compute capability). Returns 1 and fills *dev, or 0 and writes why not
 * ("no NVIDIA driver", "no CUDA device", "compute capability 6.1 < 7.5",
 * ...) into why. */
int cu_probe(cu_device *dev, char *why, size_t why_len);

#ifdef __cplusplus
}
#endif

#endif
