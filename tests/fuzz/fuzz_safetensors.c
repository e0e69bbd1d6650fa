/* libFuzzer target: the safetensors reader on arbitrary bytes. Whatever it
 * accepts must describe tensors that lie inside the input. */
#include <stdint.h>
#include <stdlib.h>

#include "convert/safetensors.h"

static volatile uint64_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    bn_st_set *s = NULL;
    if (bn_st_open_memory(data, size, "fuzz", &s) != BN_OK) {
        if (s)
            __builtin_trap();
        return 0;
    }
    for (size_t i = 0; i < bn_st_count(s); i++) {
        const bn_st_tensor *t = bn_st_at(s, i);
        const uint8_t *p = t->data;
        if (p < data || p + t->size > data + size || bn_st_find(s, t->name) != t)
            __builtin_trap();
        if (t->size)
            sink += p[0] + p[t->size - 1];
    }
    bn_st_close(s);
    return 0;
}
