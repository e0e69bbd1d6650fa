/* Read-only, validated view of .safetensors files (mmap + cJSON header). */
#ifndef BITNET_SAFETENSORS_H
#define BITNET_SAFETENSORS_H

#include <stdint.h>

#include "bitnet/bitnet.h"

typedef enum bn_st_dtype {
    BN_ST_F32, BN_ST_F16, BN_ST_BF16, BN_ST_F64, BN_ST_U8, BN_ST_I8, BN_ST_I16, BN_ST_I32, BN_ST_I64, BN_ST_BOOL,
    BN_ST_UNKNOWN
} bn_st_dtype;

typedef struct bn_st_tensor {
    char *name;
    int32_t dtype; /* bn_st_dtype */
    const char *dtype_name;
    int32_t n_dims;
    int64_t shape[8]; /* outermost first, as in the file */
    int64_t n_elems;
    const void *data;
    uint64_t size;
} bn_st_tensor;

/* All tensors of all *.safetensors files in one folder (shards merged). */
typedef struct bn_st_set bn_st_set;

bn_status bn_st_open_dir(const char *dir, bn_st_set **out);
/* One file (tests, fuzzing). */
bn_status bn_st_open_file(const char *path, bn_st_set **out);
/* Parse a file image already in memory (not copied; must outlive the set). */
bn_status bn_st_open_memory(const void *data, size_t size, const char *label, bn_st_set **out);
void bn_st_close(bn_st_set *s);
size_t bn_st_count(const bn_st_set *s);
const bn_st_tensor *bn_st_at(const bn_st_set *s, size_t i);
const bn_st_tensor *bn_st_find(const bn_st_set *s, const char *name);

#endif
