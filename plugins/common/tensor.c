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
