/* Storage encoders come from the reference plugin: one implementation of
 * every format, the same one the conformance suite checks. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "convert_internal.h"

bn_status bn_encoder_open(bn_engine *e, bn_encoder *enc) {
    bn_status st = bn_engine_open_backend(e, "reference", &enc->be, &enc->ctx);
    if (st != BN_OK)
        return bn_fail(st, "the converter needs the reference plugin for its encoders: %s", bn_last_error());
    if (!BN_BACKEND_SLOT(enc->be, encode))
        return bn_fail(BN_ERR_UNSUPPORTED, "the reference plugin has no encoder");
    return BN_OK;
}

bn_status bn_encode(const bn_encoder *enc, int32_t type, const float *src, int64_t rows, int64_t cols, void **out,
                    uint64_t *size) {
    uint64_t need = bn_storage_size(type, rows, cols);
    if (!need)
        return bn_fail(BN_ERR_INVALID, "a %lld x %lld matrix cannot be stored as %s (row length must be a multiple of %lld)",
                       (long long)rows, (long long)cols, bn_type_name(type),
                       (long long)(type == BN_TYPE_I2_S ? BN_I2S_BLOCK : bn_type_block_elems(type)));
    void *buf = malloc(need);
    if (!buf)
        return bn_fail(BN_ERR_NOMEM, "out of memory encoding %llu bytes", (unsigned long long)need);
    size_t written = 0;
    bn_status st = enc->be->encode(enc->ctx, type, src, rows, cols, buf, need, &written);
    if (st != BN_OK || written != need) {
        const char *e = enc->be->last_error ? enc->be->last_error(enc->ctx) : "";
        free(buf);
        return bn_fail(st != BN_OK ? st : BN_ERR_INTERNAL, "encoding to %s failed: %s", bn_type_name(type), e);
    }
    *out = buf;
    *size = need;
    return BN_OK;
}

/* TQ blocks with d = 1 and the scale apart: the reference encoder
 * ternarises to I2_S first (its one rule for codes and scale), then the
 * bare codes are encoded as TQ, whose d then is exactly 1 (all non-zero
 * values are +-1). */
bn_status bn_encode_ternary(const bn_encoder *enc, int32_t type, int separate_scale, float *f, int64_t rows,
                            int64_t cols, void **out, uint64_t *size, float *scale) {
    *scale = 1.0f;
    if (!separate_scale || type == BN_TYPE_I2_S)
        return bn_encode(enc, type, f, rows, cols, out, size);
    void *i2 = NULL;
    uint64_t i2_size = 0, n = (uint64_t)rows * (uint64_t)cols;
    bn_status st = bn_encode(enc, BN_TYPE_I2_S, f, rows, cols, &i2, &i2_size);
    if (st != BN_OK)
        return st;
    const unsigned char *p = i2;
    float s;
    memcpy(&s, p + n / 4, 4);
    for (uint64_t g = 0; g < n; g++) {
        uint64_t j = g % BN_I2S_BLOCK;
        unsigned code = (p[(g / BN_I2S_BLOCK) * 32 + j % 32] >> (6 - 2 * (j / 32))) & 3;
        f[g] = (float)code - 1.0f;
    }
    free(i2);
    if (!isfinite(s))
        return bn_fail(BN_ERR_INVALID, "the weights have no finite scale (NaN or infinite values)");
    *scale = s != 0.0f ? s : 1.0f; /* all codes zero: any scale will do, and 0 is refused on load */
    return bn_encode(enc, type, f, rows, cols, out, size);
}
