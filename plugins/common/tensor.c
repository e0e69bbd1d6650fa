/*
 * Validation and addressing of bn_tensor views. Every op checks its
 * tensors here first so a bad call returns BN_ERR_INVALID with a message
 * instead of touching memory it should not.
 */
#include <string.h>

#include "plugin_common.h"

size_t pc_elem_size(int32_t type) {
    switch (type) {
    case BN_TYPE_F32: case BN_TYPE_I32: return 4;
    case BN_TYPE_F16: case BN_TYPE_BF16: case BN_TYPE_I16: return 2;
    case BN_TYPE_I8: return 1;
    default: return 0;
    }
}

bn_status pc_check(bn_backend_ctx *ctx, const bn_tensor *t, const char *op, const char *what,
                    const int32_t *types) {
    if (!t)
        return pc_fail(ctx, BN_ERR_INVALID, "%s: %s is NULL", op, what);
    int ok = 0;
    for (const int32_t *p = types; *p >= 0; p++)
        ok |= t->type == *p;
    if (!ok)
        return pc_fail(ctx, BN_ERR_INVALID, "%s: %s has unsupported type %s (%d)", op, what,
                        bn_type_name(t->type), (int)t->type);
    if (!t->data)
        return pc_fail(ctx, BN_ERR_INVALID, "%s: %s has no data", op, what);
    for (int i = 0; i < 4; i++)
        if (t->ne[i] < 1)
            return pc_fail(ctx, BN_ERR_INVALID, "%s: %s has ne[%d] = %lld (must be >= 1)", op, what, i,
                            (long long)t->ne[i]);
    if (t->type == BN_TYPE_Q8_0) { /* rows of whole blocks; nb[0] is the block's bytes */
        if (t->ne[0] % BN_QK_Q8_0 || t->nb[0] != 34)
            return pc_fail(ctx, BN_ERR_INVALID,
                           "%s: %s is Q8_0 with ne[0] = %lld and nb[0] = %lld; rows must be whole 32-element "
                           "blocks and nb[0] the block size 34",
                           op, what, (long long)t->ne[0], (long long)t->nb[0]);
        return BN_OK;
    }
    if (t->nb[0] != (int64_t)pc_elem_size(t->type))
        return pc_fail(ctx, BN_ERR_INVALID, "%s: %s has nb[0] = %lld, expected the element size %zu",
                        op, what, (long long)t->nb[0], pc_elem_size(t->type));
    return BN_OK;
}

int pc_same_shape(const bn_tensor *a, const bn_tensor *b) {
    for (int i = 0; i < 4; i++)
        if (a->ne[i] != b->ne[i])
            return 0;
    return 1;
}

int64_t pc_n_rows(const bn_tensor *t) {
    return t->ne[1] * t->ne[2] * t->ne[3];
}

float pc_load(const bn_backend_ctx *ctx, const bn_tensor *t, const char *row, int64_t i) {
    switch (t->type) {
    case BN_TYPE_F32: {
        float v;
        memcpy(&v, row + 4 * i, 4);
        return v;
    }
    case BN_TYPE_F16: {
        uint16_t h;
        memcpy(&h, row + 2 * i, 2);
        return pc_f16_lut(ctx)[h];
    }
    case BN_TYPE_BF16: {
        uint16_t h;
        memcpy(&h, row + 2 * i, 2);
        return pc_bf16_to_f32(h);
    }
    case BN_TYPE_Q8_0: {
        const char *blk = row + (i / BN_QK_Q8_0) * 34;
        return pc_f16_lut(ctx)[pc_rd16((const uint8_t *)blk)] * (float)(int8_t)blk[2 + i % BN_QK_Q8_0];
    }
    default:
        return 0.0f;
    }
}

void pc_store(const bn_tensor *t, char *row, int64_t i, float v) {
    uint16_t h;
    switch (t->type) {
    case BN_TYPE_F32:
        memcpy(row + 4 * i, &v, 4);
        break;
    case BN_TYPE_F16:
        h = pc_f32_to_f16(v);
        memcpy(row + 2 * i, &h, 2);
        break;
    case BN_TYPE_BF16:
        h = pc_f32_to_bf16(v);
        memcpy(row + 2 * i, &h, 2);
        break;
    default:
        break;
    }
}

/* Per-row scales come in two shapes: a flat vector [n_rows] or a column
 * [1, ne1, ne2, ne3] next to the rows it scales. */
static int scale_is_flat(const bn_tensor *s, const bn_tensor *rows_of) {
    return s->ne[0] == pc_n_rows(rows_of) && s->ne[1] == 1 && s->ne[2] == 1 && s->ne[3] == 1;
}

bn_status pc_check_row_scale(bn_backend_ctx *ctx, const bn_tensor *s, const bn_tensor *rows_of,
                              const char *op) {
    static const int32_t f32[] = {BN_TYPE_F32, -1};
    bn_status st = pc_check(ctx, s, op, "row scale tensor", f32);
    if (st != BN_OK)
        return st;
    if (scale_is_flat(s, rows_of))
        return BN_OK;
    if (s->ne[0] == 1 && s->ne[1] == rows_of->ne[1] && s->ne[2] == rows_of->ne[2] &&
        s->ne[3] == rows_of->ne[3])
        return BN_OK;
    return pc_fail(ctx, BN_ERR_INVALID,
                    "%s: row scale tensor [%lld, %lld, %lld, %lld] does not hold one value per row of "
                    "[%lld, %lld, %lld, %lld]",
                    op, (long long)s->ne[0], (long long)s->ne[1], (long long)s->ne[2],
                    (long long)s->ne[3], (long long)rows_of->ne[0], (long long)rows_of->ne[1],
                    (long long)rows_of->ne[2], (long long)rows_of->ne[3]);
}

const float *pc_row_scale(const bn_tensor *s, const bn_tensor *rows_of, int64_t r) {
    if (scale_is_flat(s, rows_of))
        return (const float *)((const char *)s->data + r * s->nb[0]);
    return (const float *)pc_row(s, r);
}

/* Copy with conversion between F32, F16 and BF16 element by element (every
 * F16/BF16 value is exact in f32, so going through f32 rounds once), and
 * F32 -> Q8_0 (a KV cache) by rows of whole blocks with the same rule as
 * the Q8_0 encoder; Q8_0 -> Q8_0 as bytes (pages copied on write). */
bn_status pc_copy_check(bn_backend_ctx *ctx, const bn_tensor *src, const bn_tensor *dst) {
    static const int32_t floats[] = {BN_TYPE_F32, BN_TYPE_F16, BN_TYPE_BF16, BN_TYPE_Q8_0, -1};
    bn_status st;
    if ((st = pc_check(ctx, src, "copy", "src", floats)) != BN_OK ||
        (st = pc_check(ctx, dst, "copy", "dst", floats)) != BN_OK)
        return st;
    if (!pc_same_shape(src, dst))
        return pc_fail(ctx, BN_ERR_INVALID, "copy: src and dst must have one shape");
    return BN_OK;
}

bn_status pc_copy(bn_backend_ctx *ctx, const bn_tensor *src, bn_tensor *dst) {
    bn_status st = pc_copy_check(ctx, src, dst);
    if (st != BN_OK)
        return st;
    int q8_same = src->type == BN_TYPE_Q8_0 && dst->type == BN_TYPE_Q8_0; /* a KV page copied on write */
    if ((src->type == BN_TYPE_Q8_0 || dst->type == BN_TYPE_Q8_0) && !q8_same && src->type != BN_TYPE_F32)
        return pc_fail(ctx, BN_ERR_UNSUPPORTED, "copy: %s -> %s is not supported (Q8_0 only from F32 or Q8_0)",
                       bn_type_name(src->type), bn_type_name(dst->type));
    for (int64_t r = 0; r < pc_n_rows(src); r++) {
        const char *sr = pc_row(src, r);
        char *dr = pc_row(dst, r);
        if (q8_same) {
            memmove(dr, sr, (size_t)(src->ne[0] / BN_QK_Q8_0 * 34));
        } else if (dst->type == BN_TYPE_Q8_0) {
            pc_encode_q8_0_row((const float *)sr, src->ne[0], (uint8_t *)dr);
            continue;
        }
        for (int64_t i = 0; i < src->ne[0]; i++)
            pc_store(dst, dr, i, pc_load(ctx, src, sr, i));
    }
    return BN_OK;
}
