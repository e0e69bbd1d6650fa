/*
 * Thread pool: n_threads - 1 long-lived workers plus the calling thread.
 *
 * One parallel_for is one "generation". The caller publishes the job, then
 * bumps a 32-bit word that holds (sequence << CHUNK_BITS) | n_chunks. Workers
 * spin on that word briefly, then sleep on it (futex), so an idle pool costs
 * no CPU. Worker k runs chunk k (the caller runs chunk 0) and only workers
 * with k < n_chunks touch the job or acknowledge it: the caller waits for
 * those alone, and the others never read job fields a later call rewrites.
 *
 * Pinning (pin != 0): cores are ordered round-robin over packages; worker k
 * is bound to core k of that order, core 0 is left for the caller. The
 * caller's own thread is never re-bound: it belongs to the host program and
 * binding it per call would cost two syscalls. Workers beyond the number of
 * cores stay unbound.
 */
#include <hwloc.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#endif
#include <sched.h>

#include "internal.h"

#define CHUNK_BITS 11
#define CHUNK_MASK ((1u << CHUNK_BITS) - 1)
#define POOL_MAX_THREADS 1024 /* < 2^CHUNK_BITS */
/* Waiting goes spin -> yield -> sleep. The spin (SPIN_NS) bridges the
 * serial work between the kernels of one forward pass; the yields hand the
 * CPU to a thread being waited for when threads outnumber CPUs (then the
 * spin is skipped altogether); after that the futex sleep costs nothing. */
#define SPIN_NS 50000
#define YIELD_ITERS 16
#define CACHE_LINE 64

typedef struct worker {
    struct bn_pool *pool;
    int index;
    hwloc_bitmap_t cpuset; /* NULL: not pinned */
} worker;

struct bn_pool {
    /* Written by the caller while workers are idle (generation is stable). */
    bn_range_fn fn;
    void *arg;
    int64_t n, grain;

    int n_threads;
    int n_started; /* workers running (n_threads - 1 once created) */
    pthread_t *threads;
    worker *workers;
    hwloc_topology_t topo; /* only when pinning */
    uint64_t spin_ns;      /* 0 when oversubscribed */
    pthread_mutex_t call_lock;

    _Alignas(CACHE_LINE) atomic_uint word; /* futex word: seq << CHUNK_BITS | n_chunks */
    atomic_uint sleepers;                  /* workers in (or entering) futex wait */
    atomic_int stop;
    _Alignas(CACHE_LINE) atomic_uint pending; /* participating workers not done yet */
    atomic_uint caller_sleeping;
};

/* The pool and index of the thread running a chunk, so that a nested call
 * (forbidden by the API, but cheap to survive) runs inline. */
static _Thread_local const bn_pool *tl_pool;
static _Thread_local int tl_index;

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

#if defined(__linux__)
static void wait_while_equal(atomic_uint *addr, unsigned value) {
    syscall(SYS_futex, (unsigned *)addr, FUTEX_WAIT_PRIVATE, value, NULL, NULL, 0);
}
static void wake(atomic_uint *addr, int count) {
    syscall(SYS_futex, (unsigned *)addr, FUTEX_WAKE_PRIVATE, count, NULL, NULL, 0);
}
#else
/* No futex: keep yielding instead of sleeping (correct, not frugal). */
static void wait_while_equal(atomic_uint *addr, unsigned value) {
    (void)addr;
    (void)value;
    sched_yield();
}
static void wake(atomic_uint *addr, int count) {
    (void)addr;
    (void)count;
}
#endif

/* Chunk k of c over [0, n): whole multiples of grain, the remainder going
 * to the last chunk, so every chunk has >= grain items. */
static void chunk_bounds(int64_t n, int64_t grain, int c, int k, int64_t *begin, int64_t *end) {
    int64_t units = n / grain, base = units / c, extra = units % c;
    int64_t u0 = k * base + (k < extra ? k : extra);
    int64_t u1 = u0 + base + (k < extra ? 1 : 0);
    *begin = u0 * grain;
    *end = k == c - 1 ? n : u1 * grain;
}

static void run_chunk(bn_pool *pool, int n_chunks, int k) {
    int64_t b, e;
    chunk_bounds(pool->n, pool->grain, n_chunks, k, &b, &e);
    pool->fn(pool->arg, b, e, k);
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Spin-phase bookkeeping: 1 once `spin_ns` has passed. The clock is read
 * every 32 pauses (about a microsecond), so the budget is in time, not in
 * pause instructions whose cost differs tenfold between CPUs. */
static int spin_over(uint64_t spin_ns, uint64_t *deadline, int i) {
    if (spin_ns == 0)
        return 1;
    if ((i & 31) != 31)
        return 0;
    uint64_t t = now_ns();
    if (*deadline == 0)
        *deadline = t + spin_ns;
    return t > *deadline;
}

static unsigned wait_for_change(bn_pool *pool, unsigned seen) {
    unsigned w;
    uint64_t deadline = 0;
    for (int i = 0;; i++) {
        w = atomic_load_explicit(&pool->word, memory_order_acquire);
        if (w != seen)
            return w;
        if (spin_over(pool->spin_ns, &deadline, i))
            break;
        cpu_relax();
    }
    for (int i = 0; i < YIELD_ITERS; i++) {
        w = atomic_load_explicit(&pool->word, memory_order_acquire);
        if (w != seen)
            return w;
        sched_yield();
    }
    for (;;) {
        atomic_fetch_add(&pool->sleepers, 1); /* seq_cst: pairs with the caller's check */
        wait_while_equal(&pool->word, seen);
        atomic_fetch_sub(&pool->sleepers, 1);
        w = atomic_load_explicit(&pool->word, memory_order_acquire);
        if (w != seen)
            return w;
    }
}

static void bind_self(bn_pool *pool, const worker *w) {
    if (!w->cpuset)
        return;
    if (hwloc_set_cpubind(pool->topo, w->cpuset, HWLOC_CPUBIND_THREAD) != 0)
        bn_log(BN_LOG_INFO, "thread pool: could not pin worker %d (continuing unpinned)", w->index);
}

static void *worker_main(void *p) {
    worker *w = p;
    bn_pool *pool = w->pool;
    bind_self(pool, w);
    tl_pool = pool;
    tl_index = w->index;
    /* The word's initial value, not a fresh load: a job published before
     * this thread got here must still be seen as new. */
    unsigned seen = 0;
    for (;;) {
        seen = wait_for_change(pool, seen);
        if (atomic_load_explicit(&pool->stop, memory_order_acquire))
            break;
        int n_chunks = (int)(seen & CHUNK_MASK);
        if (w->index >= n_chunks)
            continue; /* not needed this time; must not read the job */
        run_chunk(pool, n_chunks, w->index);
        if (atomic_fetch_sub(&pool->pending, 1) == 1 && atomic_load(&pool->caller_sleeping))
            wake(&pool->pending, 1);
    }
    return NULL;
}

static void wait_for_workers(bn_pool *pool) {
    uint64_t deadline = 0;
    for (int i = 0;; i++) {
        if (atomic_load_explicit(&pool->pending, memory_order_acquire) == 0)
            return;
        if (spin_over(pool->spin_ns, &deadline, i))
            break;
        cpu_relax();
    }
    for (int i = 0; i < YIELD_ITERS; i++) {
        if (atomic_load_explicit(&pool->pending, memory_order_acquire) == 0)
            return;
        sched_yield();
    }
    atomic_store(&pool->caller_sleeping, 1);
    unsigned p;
    while ((p = atomic_load(&pool->pending)) != 0)
        wait_while_equal(&pool->pending, p);
    atomic_store(&pool->caller_sleeping, 0);
}

/* Bump the generation word; n_chunks 0 with stop set ends the workers. */
static void publish(bn_pool *pool, unsigned n_chunks) {
    unsigned seq = (atomic_load_explicit(&pool->word, memory_order_relaxed) >> CHUNK_BITS) + 1;
    atomic_store(&pool->word, (seq << CHUNK_BITS) | n_chunks); /* seq_cst: see wait_for_change */
    if (atomic_load(&pool->sleepers) > 0)
        wake(&pool->word, INT_MAX);
}

void bn_pool_parallel_for(bn_pool *pool, int64_t n, int64_t grain, bn_range_fn fn, void *arg) {
    if (n <= 0)
        return;
    if (grain < 1)
        grain = 1;
    if (!pool) {
        fn(arg, 0, n, 0);
        return;
    }
    if (tl_pool == pool) { /* nested call from a work function: run inline */
        fn(arg, 0, n, tl_index);
        return;
    }
    pthread_mutex_lock(&pool->call_lock);
    int64_t units = n / grain;
    int n_chunks = units < pool->n_threads ? (int)units : pool->n_threads;
    const bn_pool *saved_pool = tl_pool;
    int saved_index = tl_index;
    tl_pool = pool;
    tl_index = 0;
    if (n_chunks <= 1) {
        fn(arg, 0, n, 0);
    } else {
        pool->fn = fn;
        pool->arg = arg;
        pool->n = n;
        pool->grain = grain;
        atomic_store_explicit(&pool->pending, (unsigned)n_chunks - 1, memory_order_relaxed);
        publish(pool, (unsigned)n_chunks);
        run_chunk(pool, n_chunks, 0);
        wait_for_workers(pool);
    }
    tl_pool = saved_pool;
    tl_index = saved_index;
    pthread_mutex_unlock(&pool->call_lock);
}

/* Cores (or PUs where hwloc shows no cores) round-robin over packages, so
 * that consecutive workers land on different packages and memory buses. */
static int core_order(hwloc_topology_t topo, hwloc_bitmap_t *out, int max) {
    hwloc_obj_type_t unit = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE) > 0 ? HWLOC_OBJ_CORE : HWLOC_OBJ_PU;
    int n_pkg = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PACKAGE);
    hwloc_const_cpuset_t all = hwloc_topology_get_topology_cpuset(topo);
    int n = 0;
    for (int round = 0, added = 1; added && n < max; round++) {
        added = 0;
        for (int p = 0; p < (n_pkg > 0 ? n_pkg : 1) && n < max; p++) {
            hwloc_obj_t pkg = n_pkg > 0 ? hwloc_get_obj_by_type(topo, HWLOC_OBJ_PACKAGE, (unsigned)p) : NULL;
            hwloc_obj_t obj = hwloc_get_obj_inside_cpuset_by_type(topo, pkg ? pkg->cpuset : all, unit,
                                                                  (unsigned)round);
            if (!obj)
                continue;
            out[n] = hwloc_bitmap_dup(obj->cpuset);
            if (!out[n])
                return n;
            n++;
            added = 1;
        }
    }
    return n;
}

static bn_status plan_pinning(bn_pool *pool) {
    if (hwloc_topology_init(&pool->topo) != 0) {
        pool->topo = NULL;
        return bn_fail(BN_ERR_INTERNAL, "thread pool: hwloc_topology_init failed");
    }
    if (hwloc_topology_load(pool->topo) != 0) {
        hwloc_topology_destroy(pool->topo);
        pool->topo = NULL;
        return bn_fail(BN_ERR_INTERNAL, "thread pool: hwloc_topology_load failed");
    }
    hwloc_bitmap_t *order = calloc((size_t)pool->n_threads, sizeof *order);
    if (!order)
        return bn_fail(BN_ERR_NOMEM, "thread pool: out of memory");
    int n = core_order(pool->topo, order, pool->n_threads);
    for (int k = 1; k < pool->n_threads; k++)
        pool->workers[k].cpuset = k < n ? order[k] : NULL;
    if (n > 0)
        hwloc_bitmap_free(order[0]); /* the caller's core: kept free, not bound */
    free(order);
    return BN_OK;
}

/* CPUs this process may run on (spinning only pays when each thread has one). */
static int usable_cpus(void) {
#if defined(__linux__)
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        return CPU_COUNT(&set);
#endif
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

static void stop_workers(bn_pool *pool) {
    atomic_store(&pool->stop, 1);
    publish(pool, 0);
    for (int k = 1; k <= pool->n_started; k++)
        pthread_join(pool->threads[k], NULL);
}

bn_status bn_pool_create(int n_threads, int pin, bn_pool **out) {
    if (!out)
        return bn_fail(BN_ERR_INVALID, "bn_pool_create: out is NULL");
    *out = NULL;
    if (n_threads < 1 || n_threads > POOL_MAX_THREADS)
        return bn_fail(BN_ERR_INVALID, "thread pool: %d threads (allowed 1..%d)", n_threads, POOL_MAX_THREADS);
    size_t size = (sizeof(bn_pool) + CACHE_LINE - 1) / CACHE_LINE * CACHE_LINE;
    bn_pool *pool = aligned_alloc(CACHE_LINE, size);
    if (!pool)
        return bn_fail(BN_ERR_NOMEM, "thread pool: out of memory");
    memset(pool, 0, size);
    pool->n_threads = n_threads;
    pool->spin_ns = n_threads > usable_cpus() ? 0 : SPIN_NS;
    atomic_init(&pool->word, 0);
    atomic_init(&pool->sleepers, 0);
    atomic_init(&pool->stop, 0);
    atomic_init(&pool->pending, 0);
    atomic_init(&pool->caller_sleeping, 0);
    pool->threads = calloc((size_t)n_threads, sizeof *pool->threads);
    pool->workers = calloc((size_t)n_threads, sizeof *pool->workers);
    if (!pool->threads || !pool->workers || pthread_mutex_init(&pool->call_lock, NULL) != 0) {
        free(pool->threads);
        free(pool->workers);
        free(pool);
        return bn_fail(BN_ERR_NOMEM, "thread pool: out of memory");
    }
    for (int k = 0; k < n_threads; k++) {
        pool->workers[k].pool = pool;
        pool->workers[k].index = k;
    }
    if (pin && n_threads > 1 && plan_pinning(pool) != BN_OK)
        bn_log(BN_LOG_WARN, "%s; threads stay unpinned", bn_last_error());
    for (int k = 1; k < n_threads; k++) {
        if (pthread_create(&pool->threads[k], NULL, worker_main, &pool->workers[k]) != 0) {
            bn_pool_free(pool);
            return bn_fail(BN_ERR_INTERNAL, "thread pool: cannot start thread %d of %d", k, n_threads);
        }
        pool->n_started = k;
    }
    *out = pool;
    return BN_OK;
}

void bn_pool_free(bn_pool *pool) {
    if (!pool)
        return;
    stop_workers(pool);
    for (int k = 0; k < pool->n_threads; k++)
        if (pool->workers[k].cpuset)
            hwloc_bitmap_free(pool->workers[k].cpuset);
    if (pool->topo)
        hwloc_topology_destroy(pool->topo);
    pthread_mutex_destroy(&pool->call_lock);
    free(pool->threads);
    free(pool->workers);
    free(pool);
}

int bn_pool_size(const bn_pool *pool) { return pool ? pool->n_threads : 0; }
