/* Declarations shared inside libbitnet only (never installed). */
#ifndef BITNET_INTERNAL_H
#define BITNET_INTERNAL_H

#include <stdarg.h>
#include <stdint.h>

#include "bitnet/bitnet.h"

/* ---- thread pool (threadpool.c) ---------------------------------------- */

typedef struct bn_pool bn_pool;

/* n_threads >= 1 workers including the caller; pin != 0 binds each worker
 * to its own core (hwloc), spreading over packages/NUMA nodes. Workers wait
 * between calls (spin briefly, then sleep), so parallel_for costs no thread
 * creation. */
bn_status bn_pool_create(int n_threads, int pin, bn_pool **out);
void bn_pool_free(bn_pool *pool);
int bn_pool_size(const bn_pool *pool);
/* Split [0, n) into chunks of >= grain items; the caller takes part.
 * Not re-entrant: one parallel_for at a time per pool. */
void bn_pool_parallel_for(bn_pool *pool, int64_t n, int64_t grain, bn_range_fn fn, void *arg);

/* ---- hardware probe helpers (hwprobe*.c) -------------------------------- */

/* ISA bits from cpuid/XCR0 (x86) or HWCAP (aarch64); isa_cpu before OS
 * checks. Fills arch, cpu_vendor, cpu_brand, isa, isa_cpu of out. */
void bn_probe_isa(bn_hw_info *out);
/* Topology, caches, memory, PCI GPUs with hwloc. */
bn_status bn_probe_topology(bn_hw_info *out);

/* ---- misc --------------------------------------------------------------- */

void bn_vlog(int level, const char *fmt, va_list ap);
char *bn_strdup(const char *s);

#endif
