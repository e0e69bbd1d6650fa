/*
 * Entry point of the cuda plugin. So far it discovers the device
 * (probe.cu) and says what it found, but its kernels are not written: it
 * scores 0 on every machine, with the reason, so the core never chooses
 * it and nothing runs on a GPU that no test has checked. The ops come with
 * the kernels (issue: the cuda plugin); bench/cuda/device_check.sh is the
 * script that runs every GPU check on a machine that has one.
 */
#include <stdio.h>

#include "cuda_internal.h"
#include "plugin_common.h"

static int cu_score(const bn_hw_info *hw, char *why, size_t why_len) {
    (void)hw;
    char buf[512] = "";
    cu_device d;
    if (!cu_probe(&d, buf, sizeof buf)) {
        if (why && why_len)
            snprintf(why, why_len, "%s", buf);
        return 0;
    }
    if (why && why_len)
        snprintf(why, why_len, "%s (sm_%d%d, %d SMs, %.1f GiB): the CUDA kernels are not written yet", d.name,
                 d.cc_major, d.cc_minor, d.sm_count, (double)d.total_mem / (1024.0 * 1024.0 * 1024.0));
    return 0;
}

struct bn_backend_ctx {
    pc_ctx pc;
};

/* init refuses wherever score() says 0, which is everywhere for now. */
const pc_plugin pc_this_plugin = {
    .ctx_size = sizeof(bn_backend_ctx),
    .init_gate = cu_score,
};

static const bn_backend cu_backend = {
    .info = PC_BACKEND_INFO("cuda", "0.0.1", "NVIDIA GPUs (CUDA): device discovery; kernels not written yet",
                            BN_DEVICE_GPU),
    PC_SKELETON_SLOTS,
    .score = cu_score,
};

PC_PLUGIN_ENTRY(cu_backend)
