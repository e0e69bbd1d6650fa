/* Thread pool (core/src/threadpool.c, built into this test since bn_pool_*
 * are internal to libbitnet): coverage, chunking, thread indices, wakeups,
 * pinning, create/free cycles. */
#include <check.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

#define MAX_T 8
#define MAX_CHUNKS 64

/* What one parallel_for saw, filled by the work function. */
typedef struct {
    atomic_llong sum;         /* sum of the indices visited */
    atomic_llong items;       /* number of indices visited */
    atomic_int chunks;        /* number of fn calls */
    atomic_int busy[MAX_T];   /* thread_index currently in use */
    atomic_int index_bad;     /* out of range or used twice at once */
    atomic_llong begins[MAX_CHUNKS], ends[MAX_CHUNKS];
    int n_threads;
    atomic_int *visits;       /* per-index counters, or NULL */
    int slow_workers_us;      /* chunks on workers sleep this long */
} job;

static void sleep_us(long us) {
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

static void record(void *arg, int64_t b, int64_t e, int t) {
    job *j = arg;
    if (t < 0 || t >= j->n_threads || t >= MAX_T) {
        atomic_fetch_add(&j->index_bad, 1);
        return;
    }
    if (atomic_exchange(&j->busy[t], 1) != 0)
        atomic_fetch_add(&j->index_bad, 1);
    int c = atomic_fetch_add(&j->chunks, 1);
    if (c < MAX_CHUNKS) {
        atomic_store(&j->begins[c], b);
        atomic_store(&j->ends[c], e);
    }
    long long s = 0;
    for (int64_t i = b; i < e; i++) {
        s += i;
        if (j->visits)
            atomic_fetch_add_explicit(&j->visits[i], 1, memory_order_relaxed);
    }
    atomic_fetch_add(&j->sum, s);
    atomic_fetch_add(&j->items, e - b);
    if (t > 0 && j->slow_workers_us)
        sleep_us(j->slow_workers_us);
    atomic_store(&j->busy[t], 0);
}

static bn_pool *make_pool(int n, int pin) {
    bn_pool *p = NULL;
    ck_assert_int_eq(bn_pool_create(n, pin, &p), BN_OK);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(bn_pool_size(p), n);
    return p;
}

/* Run one parallel_for and check everything an observer can check. */
static void run_and_check(bn_pool *p, int t, int64_t n, int64_t grain) {
    job *j = calloc(1, sizeof *j);
    ck_assert_ptr_nonnull(j);
    j->n_threads = t;
    bn_pool_parallel_for(p, n, grain, record, j);
    int bad = atomic_load(&j->index_bad), chunks = atomic_load(&j->chunks);
    long long items = atomic_load(&j->items), sum = atomic_load(&j->sum);
    ck_assert_msg(bad == 0, "thread_index out of range or shared (t=%d n=%lld)", t, (long long)n);
    ck_assert_int_eq(items, n);
    ck_assert_int_eq(sum, n * (n - 1) / 2);
    int64_t g = grain < 1 ? 1 : grain;
    ck_assert_int_ge(chunks, 1);
    ck_assert_int_le(chunks, t);
    if (n <= g)
        ck_assert_int_eq(chunks, 1);
    else
        ck_assert_int_eq(chunks, (n / g < t) ? (int)(n / g) : t); /* as many as grain allows */
    for (int c = 0; c < chunks && c < MAX_CHUNKS; c++) {
        int64_t b = atomic_load(&j->begins[c]), e = atomic_load(&j->ends[c]);
        ck_assert_int_lt(b, e);
        if (chunks > 1) {
            ck_assert_int_ge(e - b, g);
            ck_assert_int_eq(b % g, 0); /* boundaries on multiples of grain */
        }
    }
    free(j);
}

START_TEST(sums_match_closed_form) {
    static const int64_t cases[][2] = {{1, 1},     {2, 1},        {3, 1},     {7, 3},     {5, 10},
                                       {10, 10},   {11, 10},      {100, 0},   {64, 16},   {65, 16},
                                       {97, 7},    {1000003, 1},  {1000003, 17}, {4000037, 4096},
                                       {123457, 123456}, {123457, 30000}};
    for (int t = 1; t <= 4; t++) {
        bn_pool *p = make_pool(t, 0);
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
            run_and_check(p, t, cases[i][0], cases[i][1]);
        bn_pool_parallel_for(p, 0, 1, record, NULL); /* empty range: fn never called */
        bn_pool_free(p);
    }
}
END_TEST

START_TEST(every_index_once) {
    const int64_t n = 300007;
    for (int t = 1; t <= 4; t++) {
        bn_pool *p = make_pool(t, 0);
        for (int64_t grain = 1; grain <= 100000; grain *= 31) {
            job *j = calloc(1, sizeof *j);
            j->n_threads = t;
            j->visits = calloc((size_t)n, sizeof *j->visits);
            ck_assert_ptr_nonnull(j->visits);
            bn_pool_parallel_for(p, n, grain, record, j);
            int64_t wrong = 0, first = -1;
            for (int64_t i = 0; i < n; i++)
                if (atomic_load(&j->visits[i]) != 1 && wrong++ == 0)
                    first = i;
            ck_assert_msg(wrong == 0, "%lld indices not visited once, first %lld (t=%d grain=%lld)",
                          (long long)wrong, (long long)first, t, (long long)grain);
            int bad = atomic_load(&j->index_bad);
            ck_assert_msg(bad == 0, "thread_index out of range or shared");
            free(j->visits);
            free(j);
        }
        bn_pool_free(p);
    }
}
END_TEST

static void count_items(void *arg, int64_t b, int64_t e, int t) {
    (void)t;
    atomic_fetch_add((atomic_llong *)arg, e - b);
}

/* Many tiny calls back to back, with pauses long enough for workers to fall
 * asleep now and then: a lost wakeup would hang here (and time out). */
START_TEST(many_tiny_calls) {
    for (int t = 2; t <= 4; t++) {
        bn_pool *p = make_pool(t, 0);
        atomic_llong total = 0;
        long long expect = 0;
        for (int i = 0; i < 10000; i++) {
            int64_t n = 1 + i % (2 * t + 1);
            bn_pool_parallel_for(p, n, 1, count_items, &total);
            expect += n;
            if (i % 1000 == 999)
                sleep_us(20000); /* past the spin: workers go to sleep */
        }
        ck_assert_int_eq(atomic_load(&total), expect);
        bn_pool_free(p);
    }
}
END_TEST

/* Workers slower than the caller: the caller must sleep and be woken. */
START_TEST(caller_waits_for_slow_workers) {
    bn_pool *p = make_pool(3, 0);
    for (int i = 0; i < 20; i++) {
        job *j = calloc(1, sizeof *j);
        j->n_threads = 3;
        j->slow_workers_us = 3000;
        bn_pool_parallel_for(p, 3000, 1, record, j);
        ck_assert_int_eq(atomic_load(&j->items), 3000);
        ck_assert_int_eq(atomic_load(&j->chunks), 3);
        ck_assert_int_eq(atomic_load(&j->index_bad), 0);
        free(j);
    }
    bn_pool_free(p);
}
END_TEST

typedef struct {
    bn_pool *pool;
    atomic_llong total;
} nest_arg;

static void nested(void *arg, int64_t b, int64_t e, int t) {
    nest_arg *a = arg;
    (void)t;
    /* forbidden by the API, but must not deadlock: runs inline */
    bn_pool_parallel_for(a->pool, e - b, 1, count_items, &a->total);
}

START_TEST(nested_call_runs_inline) {
    nest_arg a = {make_pool(3, 0), 0};
    bn_pool_parallel_for(a.pool, 999, 1, nested, &a);
    ck_assert_int_eq(atomic_load(&a.total), 999);
    bn_pool_free(a.pool);
}
END_TEST

static int affinity_count(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return -1;
    return CPU_COUNT(&set);
}

typedef struct {
    atomic_int affinity[MAX_T];
} pin_arg;

static void note_affinity(void *arg, int64_t b, int64_t e, int t) {
    pin_arg *a = arg;
    (void)b;
    (void)e;
    if (t >= 0 && t < MAX_T)
        atomic_store(&a->affinity[t], affinity_count());
}

START_TEST(pinned_pool_works) {
    int all = affinity_count();
    bn_hw_info hw;
    ck_assert_int_eq(bn_hw_probe(&hw), BN_OK);
    /* more threads than cores: the extras run unpinned */
    int t = hw.n_cores + 2 > MAX_T ? MAX_T : hw.n_cores + 2;
    bn_pool *p = make_pool(t, 1);
    run_and_check(p, t, 100003, 1);
    pin_arg a;
    memset(&a, 0, sizeof a);
    bn_pool_parallel_for(p, t, 1, note_affinity, &a);
    ck_assert_int_eq(atomic_load(&a.affinity[0]), all); /* the caller is never re-bound */
    for (int k = 1; k < t; k++) {
        int got = atomic_load(&a.affinity[k]);
        if (k < hw.n_cores && all == hw.n_pus) /* bound to one core: a strict subset */
            ck_assert_msg(got >= 1 && got < all, "worker %d bound to %d of %d PUs", k, got, all);
        else if (k >= hw.n_cores)
            ck_assert_int_eq(got, all); /* extras stay unpinned */
    }
    bn_pool_free(p);
}
END_TEST

START_TEST(create_free_cycles) {
    for (int i = 0; i < 200; i++) {
        int t = 1 + i % 4;
        bn_pool *p = make_pool(t, i % 7 == 0);
        if (i % 2)
            run_and_check(p, t, 1000 + i, 1 + i % 5);
        bn_pool_free(p);
    }
    bn_pool_free(NULL);
}
END_TEST

START_TEST(invalid_sizes_refused) {
    bn_pool *p = (bn_pool *)&p;
    ck_assert_int_eq(bn_pool_create(0, 0, &p), BN_ERR_INVALID);
    ck_assert_ptr_null(p);
    ck_assert_int_eq(bn_pool_create(-3, 0, &p), BN_ERR_INVALID);
    ck_assert_int_eq(bn_pool_create(1 << 20, 0, &p), BN_ERR_INVALID);
    ck_assert(strlen(bn_last_error()) > 0);
    ck_assert_int_eq(bn_pool_create(2, 0, NULL), BN_ERR_INVALID);
    ck_assert_int_eq(bn_pool_size(NULL), 0);
}
END_TEST

static Suite *pool_suite(void) {
    Suite *s = suite_create("pool");
    struct {
        const char *name;
        const TTest *test;
    } cases[] = {
        {"pool_sums", sums_match_closed_form},
        {"pool_visit_once", every_index_once},
        {"pool_many_calls", many_tiny_calls},
        {"pool_slow_workers", caller_waits_for_slow_workers},
        {"pool_nested", nested_call_runs_inline},
        {"pool_pinned", pinned_pool_works},
        {"pool_create_free", create_free_cycles},
        {"pool_invalid", invalid_sizes_refused},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        TCase *tc = tcase_create(cases[i].name);
        tcase_set_timeout(tc, 30);
        tcase_add_test(tc, cases[i].test);
        suite_add_tcase(s, tc);
    }
    return s;
}

/* argv[1]: run only this test case (one ctest entry per case). */
int main(int argc, char **argv) {
    SRunner *sr = srunner_create(pool_suite());
    srunner_run(sr, NULL, argc > 1 ? argv[1] : NULL, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    int run = srunner_ntests_run(sr);
    srunner_free(sr);
    return failed == 0 && run > 0 ? 0 : 1;
}
