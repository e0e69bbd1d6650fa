/* `bitnet bench --parallel`: many sequences decoded together. */
#ifndef BITNET_HOST_BENCH_PARALLEL_H
#define BITNET_HOST_BENCH_PARALLEL_H

#include "model_setup.h"

/* list: "1,4,16,64". Prints a table (or JSON) and returns the exit code. */
int bn_bench_parallel(bn_host *h, const bn_host_opts *o, const char *list, int n_prompt, int n_gen, int reps,
                      int shared, int json);

#endif
