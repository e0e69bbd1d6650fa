/* Test doubles for the loader's refusals. One source, built several times
 * with a different TEST_KIND each: every module is a plugin that is wrong
 * in exactly one way. */
#include <string.h>

#include <bitnet/backend.h>

#define KIND_ABI2 1     /* ABI major 2 */
#define KIND_NOSYM 2    /* no entry symbol */
#define KIND_SCORE0 3   /* cannot run here */
#define KIND_SMALL 4    /* vtable shorter than ABI 1.0 */
#define KIND_GOOD 5     /* valid plugin with a low score (never chosen over reference) */
#define KIND_INITFAIL 6 /* scores high but init() fails */

static int score_fn(const bn_hw_info *hw, char *why, size_t len) {
    (void)hw;
#if TEST_KIND == KIND_SCORE0
    strncpy(why, "needs the frobnicator instruction set, which this CPU lacks", len - 1);
    return 0;
#elif TEST_KIND == KIND_INITFAIL
    (void)why, (void)len;
    return 1000;
#else
    (void)why, (void)len;
    return 1;
#endif
}

struct bn_backend_ctx {
    int unused;
};
static struct bn_backend_ctx the_ctx;

static bn_status init_fn(const bn_services *svc, const bn_hw_info *hw, bn_backend_ctx **out) {
    (void)svc, (void)hw;
#if TEST_KIND == KIND_INITFAIL
    (void)the_ctx;
    *out = NULL;
    return BN_ERR_DEVICE;
#else
    *out = &the_ctx;
    return BN_OK;
#endif
}

static void shutdown_fn(bn_backend_ctx *ctx) { (void)ctx; }

static const bn_backend vtable = {
    .info =
        {
#if TEST_KIND == KIND_ABI2
            .abi_major = 2,
#else
            .abi_major = BN_ABI_MAJOR,
#endif
            .abi_minor = 0,
#if TEST_KIND == KIND_SMALL
            .struct_size = sizeof(bn_backend_info) + 2 * sizeof(void *),
#else
            .struct_size = sizeof(bn_backend),
#endif
            .name = TEST_NAME,
            .version = "0.0-test",
            .description = "loader test double",
            .device = BN_DEVICE_CPU,
        },
    .score = score_fn,
    .init = init_fn,
    .shutdown = shutdown_fn,
};

#if TEST_KIND == KIND_NOSYM
BN_PLUGIN_EXPORT const bn_backend *bn_plugin_entry_misspelt(void);
BN_PLUGIN_EXPORT const bn_backend *bn_plugin_entry_misspelt(void) { return &vtable; }
#else
BN_PLUGIN_EXPORT const bn_backend *bn_plugin_entry(void);
BN_PLUGIN_EXPORT const bn_backend *bn_plugin_entry(void) { return &vtable; }
#endif
