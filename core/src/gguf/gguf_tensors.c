/* GGUF tensor table: shapes, types, offsets, sizes, overlaps. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "gguf_internal.h"

static bn_status parse_one(bn_gguf *g, uint64_t *pos, uint64_t i, bn_gguf_tensor *t) {
    bn_gguf_str name = {0};
    uint32_t n_dims = 0;
    bn_status st = gguf_read_str(g, pos, &name, "tensor name");
    if (!st)
        st = gguf_check_name(&name, "tensor", i);
    if (st)
        return st;
    if (!(t->name = gguf_arena_strndup(&g->arena, name.ptr, (size_t)name.len)))
        return bn_fail(BN_ERR_NOMEM, "out of memory for tensor names");
    if ((st = gguf_read_u32(g, pos, &n_dims, "tensor n_dims")))
        return st;
    if (n_dims < 1 || n_dims > BN_GGUF_MAX_DIMS)
        return bn_fail(BN_ERR_FORMAT, "tensor '%s': n_dims %" PRIu32 " out of range 1..%d", t->name, n_dims,
                       BN_GGUF_MAX_DIMS);
    t->n_dims = (int32_t)n_dims;
    int64_t n = 1;
    for (int d = 0; d < BN_GGUF_MAX_DIMS; d++) {
        uint64_t ne = 1;
        if (d < (int)n_dims && (st = gguf_read_u64(g, pos, &ne, "tensor dimension")))
            return st;
        if (ne < 1 || ne > (uint64_t)INT64_MAX)
            return bn_fail(BN_ERR_FORMAT, "tensor '%s': ne[%d] = %" PRIu64 " out of range (must be >= 1)",
                           t->name, d, ne);
        if ((int64_t)ne > INT64_MAX / n)
            return bn_fail(BN_ERR_FORMAT, "tensor '%s': element count overflows (ne[%d] = %" PRIu64 ")",
                           t->name, d, ne);
        t->ne[d] = (int64_t)ne;
        n *= (int64_t)ne;
    }
    t->n_elems = n;
    if ((st = gguf_read_u32(g, pos, &t->ggml_type, "tensor type")) ||
        (st = gguf_read_u64(g, pos, &t->offset, "tensor offset")))
        return st;
    t->type = -1;
    return BN_OK;
}

bn_status gguf_parse_tensors(bn_gguf *g, uint64_t *pos) {
    g->tensors = gguf_arena_alloc(&g->arena, (size_t)g->n_tensors * sizeof(bn_gguf_tensor) + 1);
    if (!g->tensors)
        return bn_fail(BN_ERR_NOMEM, "out of memory for %" PRIu64 " tensors", g->n_tensors);
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        bn_status st = parse_one(g, pos, i, &g->tensors[i]);
        if (st)
            return st;
    }
    bn_status st = gguf_index_build(&g->arena, &g->tensor_index, &g->tensors[0].name, sizeof(bn_gguf_tensor),
                                    g->n_tensors, "tensor name");
    if (st)
        return st;
    g->data_offset = gguf_align_up(*pos, g->alignment);
    if (g->n_tensors && g->data_offset > g->size)
        return bn_fail(BN_ERR_FORMAT, "data section would start at offset %" PRIu64
                       ", past end of file (size %" PRIu64 ")", g->data_offset, g->size);
    return BN_OK;
}

/* Sorted (offset, index) pairs: qsort has no context argument. */
typedef struct off_idx {
    uint64_t offset, index;
} off_idx;

static int by_pair(const void *a, const void *b) {
    const off_idx *x = a, *y = b;
    if (x->offset != y->offset)
        return x->offset < y->offset ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

bn_status gguf_layout_tensors(bn_gguf *g) {
    uint64_t n = g->n_tensors, room = g->size - (g->n_tensors ? g->data_offset : g->size);
    if (!n)
        return BN_OK;
    for (uint64_t i = 0; i < n; i++) {
        bn_gguf_tensor *t = &g->tensors[i];
        if (t->offset % g->alignment)
            return bn_fail(BN_ERR_FORMAT, "tensor '%s': offset %" PRIu64 " is not a multiple of the alignment %"
                           PRIu32, t->name, t->offset, g->alignment);
        if (t->offset > room)
            return bn_fail(BN_ERR_FORMAT, "tensor '%s': data offset %" PRIu64 " (file offset %" PRIu64
                           ") lies past end of file (size %" PRIu64 ")", t->name, t->offset,
                           g->data_offset + t->offset, g->size);
        t->file_offset = g->data_offset + t->offset;
    }
    off_idx *order = malloc((size_t)n * sizeof(off_idx));
    if (!order)
        return bn_fail(BN_ERR_NOMEM, "out of memory sorting %" PRIu64 " tensors", n);
    for (uint64_t i = 0; i < n; i++)
        order[i] = (off_idx){g->tensors[i].file_offset, i};
    qsort(order, (size_t)n, sizeof(off_idx), by_pair);
    bn_status st = BN_OK;
    for (uint64_t k = 0; k < n && !st; k++) {
        bn_gguf_tensor *t = &g->tensors[order[k].index];
        uint64_t end = k + 1 < n ? order[k + 1].offset : g->size;
        if ((st = gguf_identify_tensor(&g->arena, t, end - t->file_offset, g->alignment)))
            break;
        if (t->size > g->size - t->file_offset) {
            st = bn_fail(BN_ERR_FORMAT, "tensor '%s': data [%" PRIu64 ", %" PRIu64 ") runs past end of file "
                         "(size %" PRIu64 ")", t->name, t->file_offset, t->file_offset + t->size, g->size);
        } else if (k + 1 < n && t->file_offset + t->size > end) {
            const bn_gguf_tensor *u = &g->tensors[order[k + 1].index];
            st = bn_fail(BN_ERR_FORMAT, "tensor '%s': data [%" PRIu64 ", %" PRIu64 ") overlaps tensor '%s' "
                         "at %" PRIu64, t->name, t->file_offset, t->file_offset + t->size, u->name, end);
        }
        t->data = g->base + t->file_offset;
    }
    free(order);
    return st;
}
