/*
 * Device discovery through the CUDA runtime (static): the number of
 * devices, their names, compute capabilities, SM counts and memory. A
 * machine without libcuda.so.1 (no driver) or without a device answers
 * with an error code, which becomes the plugin's reason for scoring 0.
 */
#include <cuda_runtime_api.h>
#include <stdio.h>
#include <string.h>

#include "cuda_internal.h"

static int older(int maj, int min, int ref_maj, int ref_min) {
    return maj < ref_maj || (maj == ref_maj && min < ref_min);
}

extern "C" int cu_probe(cu_device *dev, char *why, size_t why_len) {
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e == cudaErrorInsufficientDriver) {
        int drv = 0;
        cudaDriverGetVersion(&drv);
        if (drv == 0)
            snprintf(why, why_len, "no NVIDIA driver (libcuda.so.1 not found)");
        else
            snprintf(why, why_len, "NVIDIA driver supports CUDA %d.%d, this plugin needs %d.%d", drv / 1000,
                     drv % 1000 / 10, CUDART_VERSION / 1000, CUDART_VERSION % 1000 / 10);
        return 0;
    }
    if (e == cudaErrorNoDevice || (e == cudaSuccess && n == 0)) {
        snprintf(why, why_len, "no CUDA device");
        return 0;
    }
    if (e != cudaSuccess) {
        snprintf(why, why_len, "CUDA: %s", cudaGetErrorString(e));
        return 0;
    }
    int best = -1, best_sms = -1;
    cudaDeviceProp p, old;
    memset(&old, 0, sizeof old);
    for (int i = 0; i < n; i++) {
        if (cudaGetDeviceProperties(&p, i) != cudaSuccess)
            continue;
        if (older(p.major, p.minor, CU_MIN_CC_MAJOR, CU_MIN_CC_MINOR)) {
            old = p;
            continue;
        }
        if (p.multiProcessorCount > best_sms) {
            best = i;
            best_sms = p.multiProcessorCount;
            memset(dev, 0, sizeof *dev);
            dev->index = i;
            snprintf(dev->name, sizeof dev->name, "%s", p.name);
            dev->cc_major = p.major;
            dev->cc_minor = p.minor;
            dev->sm_count = p.multiProcessorCount;
            dev->total_mem = p.totalGlobalMem;
        }
    }
    if (best < 0) {
        if (old.major)
            snprintf(why, why_len, "%s: compute capability %d.%d < %d.%d", old.name, old.major, old.minor,
                     CU_MIN_CC_MAJOR, CU_MIN_CC_MINOR);
        else
            snprintf(why, why_len, "CUDA: no device answered cudaGetDeviceProperties");
        return 0;
    }
    return 1;
}
