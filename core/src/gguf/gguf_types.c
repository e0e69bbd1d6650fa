/* GGML type ids: block geometry, and identification of each tensor's type.
 *
 * Ids 0..35 mean the same everywhere. Ids 36..39 were given different
 * meanings by BitNet's llama.cpp fork (I2_S, I8_S, TL1, TL2) and upstream
 * llama.cpp (IQ4_NL_4_4, IQ4_NL_4_8, IQ4_NL_8_8 - repacked types that were
 * later removed - and MXFP4). A wrong guess would feed 4-bit data to a
 * ternary kernel (or the reverse) and produce garbage silently, so these
 * tensors are identified by the number of bytes they span in the file:
 * exactly one interpretation must fit, or the file is refused. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "gguf_internal.h"

#define E(t) BN_TYPE_##t
static const bn_ggml_type_desc fixed_types[] = {
    {0, "F32", 1, 4, E(F32)},          {1, "F16", 1, 2, E(F16)},
    {2, "Q4_0", 32, 18, -1},           {3, "Q4_1", 32, 20, -1},
    {6, "Q5_0", 32, 22, -1},           {7, "Q5_1", 32, 24, -1},
    {8, "Q8_0", 32, 34, E(Q8_0)},      {9, "Q8_1", 32, 36, -1},
    {10, "Q2_K", 256, 84, -1},         {11, "Q3_K", 256, 110, -1},
    {12, "Q4_K", 256, 144, -1},        {13, "Q5_K", 256, 176, -1},
    {14, "Q6_K", 256, 210, E(Q6_K)},   {15, "Q8_K", 256, 292, -1},
    {16, "IQ2_XXS", 256, 66, -1},      {17, "IQ2_XS", 256, 74, -1},
    {18, "IQ3_XXS", 256, 98, -1},      {19, "IQ1_S", 256, 50, -1},
    {20, "IQ4_NL", 32, 18, -1},        {21, "IQ3_S", 256, 110, -1},
    {22, "IQ2_S", 256, 82, -1},        {23, "IQ4_XS", 256, 136, -1},
    {24, "I8", 1, 1, E(I8)},           {25, "I16", 1, 2, E(I16)},
    {26, "I32", 1, 4, E(I32)},         {27, "I64", 1, 8, -1},
    {28, "F64", 1, 8, -1},             {29, "IQ1_M", 256, 56, -1},
    {30, "BF16", 1, 2, E(BF16)},       {31, "Q4_0_4_4", 32, 18, -1},
    {32, "Q4_0_4_8", 32, 18, -1},      {33, "Q4_0_8_8", 32, 18, -1},
    {34, "TQ1_0", 256, 54, E(TQ1_0)},  {35, "TQ2_0", 256, 66, E(TQ2_0)},
};

/* How an interpretation of an ambiguous id determines its size. */
enum { SZ_FIXED, SZ_I2S, SZ_I8S, SZ_TILED };

typedef struct ambiguous_type {
    uint32_t id;
    const char *name;
    int sizing;
    int64_t block_elems, block_bytes; /* SZ_FIXED */
    int32_t engine_type;
    const char *origin;
} ambiguous_type;

static const ambiguous_type ambiguous_types[] = {
    {36, "I2_S", SZ_I2S, 0, 0, E(I2_S), "BitNet fork"},
    {36, "IQ4_NL_4_4", SZ_FIXED, 32, 18, -1, "upstream llama.cpp, removed"},
    {37, "I8_S", SZ_I8S, 0, 0, -1, "BitNet fork"},
    {37, "IQ4_NL_4_8", SZ_FIXED, 32, 18, -1, "upstream llama.cpp, removed"},
    {38, "TL1", SZ_TILED, 0, 0, E(TL1), "BitNet fork"},
    {38, "IQ4_NL_8_8", SZ_FIXED, 32, 18, -1, "upstream llama.cpp, removed"},
    {39, "TL2", SZ_TILED, 0, 0, E(TL2), "BitNet fork"},
    {39, "MXFP4", SZ_FIXED, 32, 17, -1, "upstream llama.cpp"},
};
#undef E

#define N_FIXED (sizeof fixed_types / sizeof fixed_types[0])
#define N_AMBIGUOUS (sizeof ambiguous_types / sizeof ambiguous_types[0])

const bn_ggml_type_desc *bn_ggml_type_lookup(uint32_t id) {
    for (size_t i = 0; i < N_FIXED; i++)
        if (fixed_types[i].id == id)
            return &fixed_types[i];
    return NULL;
}

/* n_elems / block * bytes with the block dividing ne[0]; 0 if not. */
static uint64_t blocks_size(int64_t ne0, int64_t n, int64_t be, int64_t bb) {
    if (ne0 % be)
        return 0;
    uint64_t blocks = (uint64_t)(n / be);
    if (blocks > UINT64_MAX / (uint64_t)bb)
        return 0;
    return blocks * (uint64_t)bb;
}

uint64_t gguf_fixed_size(const bn_ggml_type_desc *d, const int64_t *ne, int64_t n_elems) {
    return blocks_size(ne[0], n_elems, d->block_elems, d->block_bytes);
}

/* Tight packing puts the next tensor at the next aligned offset; the last
 * tensor may or may not be followed by padding. */
static int span_fits(uint64_t size, uint64_t span, uint32_t alignment) {
    return size && size <= span && span <= gguf_align_up(size, alignment);
}

/* Does interpretation `a` fit tensor t spanning `span` bytes? Sets *size. */
static int interpretation_fits(const ambiguous_type *a, const bn_gguf_tensor *t, uint64_t span,
                               uint32_t alignment, uint64_t *size) {
    uint64_t n = (uint64_t)t->n_elems;
    switch (a->sizing) {
    case SZ_FIXED:
        *size = blocks_size(t->ne[0], t->n_elems, a->block_elems, a->block_bytes);
        return span_fits(*size, span, alignment);
    case SZ_I2S: /* 2 bits per weight, then a 32-byte trailer holding the scale */
        *size = n % 4 ? 0 : n / 4 + 32;
        return span_fits(*size, span, alignment);
    case SZ_I8S: /* one byte per element, possibly a small trailer */
        *size = span;
        return n <= span && span <= gguf_align_up(n + 32, alignment);
    default: /* TL1/TL2: ~1.67-2 bits per weight plus per-tile scales; size
                not derivable from the shape, so accept a plausible range */
        *size = span; /* never empty: a zero-byte span would point past the data */
        return span >= 1 && span >= (n + 7) / 8 && span <= n / 8 * 3 + 64 + alignment;
    }
}

static bn_status identify_ambiguous(bn_gguf_tensor *t, uint64_t span, uint32_t alignment,
                                    const ambiguous_type **out) {
    const ambiguous_type *fit[2] = {NULL, NULL}, *cand[2] = {NULL, NULL};
    uint64_t sizes[2] = {0, 0}, csize[2] = {0, 0};
    int nfit = 0, ncand = 0;
    for (size_t i = 0; i < N_AMBIGUOUS; i++) {
        if (ambiguous_types[i].id != t->ggml_type)
            continue;
        uint64_t size = 0;
        int ok = interpretation_fits(&ambiguous_types[i], t, span, alignment, &size);
        if (ncand < 2) {
            cand[ncand] = &ambiguous_types[i];
            csize[ncand++] = size;
        }
        if (ok && nfit < 2) {
            fit[nfit] = &ambiguous_types[i];
            sizes[nfit++] = size;
        }
    }
    if (nfit == 1) {
        *out = fit[0];
        t->size = sizes[0];
        return BN_OK;
    }
    if (nfit == 2)
        return bn_fail(BN_ERR_FORMAT, "tensor '%s': type id %" PRIu32 " is ambiguous: its %" PRIu64
                       " bytes fit both %s (%s) and %s (%s); refusing to guess", t->name, t->ggml_type,
                       span, fit[0]->name, fit[0]->origin, fit[1]->name, fit[1]->origin);
    char want[2][48];
    for (int i = 0; i < 2; i++) {
        if (cand[i]->sizing == SZ_TILED || cand[i]->sizing == SZ_I8S || !csize[i])
            snprintf(want[i], sizeof want[i], "%s", cand[i]->sizing == SZ_TILED ? "tiled" :
                     cand[i]->sizing == SZ_I8S ? "1 byte/element" : "shape does not fit");
        else
            snprintf(want[i], sizeof want[i], "%" PRIu64 " bytes", csize[i]);
    }
    return bn_fail(BN_ERR_FORMAT, "tensor '%s': type id %" PRIu32 " with %" PRId64 " elements spans %"
                   PRIu64 " bytes, which fits neither %s (%s) nor %s (%s); refusing to guess",
                   t->name, t->ggml_type, t->n_elems, span, cand[0]->name, want[0], cand[1]->name, want[1]);
}

static int engine_runs(int32_t type) {
    switch (type) {
    case BN_TYPE_F32: case BN_TYPE_F16: case BN_TYPE_BF16: case BN_TYPE_Q8_0:
    case BN_TYPE_Q6_K: case BN_TYPE_TQ1_0: case BN_TYPE_TQ2_0: case BN_TYPE_I2_S: return 1;
    default: return 0;
    }
}

/* Fill supported / reason once type, size and name are known. */
static bn_status set_support(gguf_arena *a, bn_gguf_tensor *t, const char *origin) {
    t->reason = "";
    if (engine_runs(t->type)) {
        int64_t cols = t->ne[0], rows = t->n_elems / t->ne[0];
        if (bn_storage_size(t->type, rows, cols) == t->size) {
            t->supported = 1;
            return BN_OK;
        }
        t->reason = gguf_arena_printf(a, "tensor '%s': %s with shape %" PRId64 " x %" PRId64
                                      " (%" PRId64 " elements) is not supported by bitnet%s", t->name,
                                      t->type_name, rows, cols, t->n_elems,
                                      t->type == BN_TYPE_I2_S ? " (needs a multiple of 128 elements)" : "");
    } else if (t->type == BN_TYPE_TL1 || t->type == BN_TYPE_TL2) {
        t->reason = gguf_arena_printf(a, "tensor '%s': type id %" PRIu32 " (%s): BitNet %s layout tiled for "
                                      "a specific model shape; not supported, convert to I2_S/TQ2_0",
                                      t->name, t->ggml_type, t->type_name, t->type_name);
    } else {
        t->reason = gguf_arena_printf(a, "tensor '%s': type id %" PRIu32 " (%s%s%s) is not supported by bitnet",
                                      t->name, t->ggml_type, t->type_name, origin ? ", " : "",
                                      origin ? origin : "");
    }
    return t->reason ? BN_OK : bn_fail(BN_ERR_NOMEM, "out of memory");
}

bn_status gguf_identify_tensor(gguf_arena *a, bn_gguf_tensor *t, uint64_t span, uint32_t alignment) {
    t->supported = 0;
    const bn_ggml_type_desc *d = bn_ggml_type_lookup(t->ggml_type);
    if (d) {
        t->type_name = d->name;
        t->type = d->engine_type;
        t->size = gguf_fixed_size(d, t->ne, t->n_elems);
        if (!t->size)
            return bn_fail(BN_ERR_FORMAT, "tensor '%s': ne[0] = %" PRId64 " is not a multiple of the %s "
                           "block size %" PRId64 " (or the size overflows)", t->name, t->ne[0], d->name,
                           d->block_elems);
        return set_support(a, t, NULL);
    }
    if (t->ggml_type < 36 || t->ggml_type > 39)
        return bn_fail(BN_ERR_FORMAT, "tensor '%s': unknown type id %" PRIu32, t->name, t->ggml_type);
    const ambiguous_type *at = NULL;
    bn_status st = identify_ambiguous(t, span, alignment, &at);
    if (st)
        return st;
    t->type_name = at->name;
    t->type = at->engine_type;
    return set_support(a, t, at->origin);
}
