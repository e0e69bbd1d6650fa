/*
 * Many sequences on one model (bitnet/batch.h).
 *
 * equivalence: on the bundled trained model, sequences with different
 * prompts and lengths - three sharing a prompt prefix, one forked after its
 * prompt, one cancelled mid-way - are decoded together, joining and leaving
 * at different steps, prompts in chunks beside the decode rows of the
 * others, batches larger than max_batch. Each must give, for 64 greedy
 * steps, the same tokens and logits with cosine >= 0.99999 as the same
 * sequence decoded alone in a one-page cache (no page table to get wrong).
 * Every usable plugin plus test-abi10 (an ABI 1.0 plugin: the core's
 * one-page-per-sequence path), F16 and F32 cache, prefix sharing on and off
 * ("equivalence-quick", for the sanitizer build: the first plugin and
 * test-abi10, F16 only). "equivalence-plugins" leaves out test-abi10, and
 * BN_BATCH_PLUGINS (a comma list) names the plugins instead of every usable
 * one: the emulated AVX-512 plugin's run (tests/avx512-emul).
 *
 * stress: 10,000 scheduler steps of random joins, leaves, cancels, forks,
 * truncations and preemptions on a small model within a small page budget;
 * the pool's counts are checked every step and it is empty at the end (the
 * ASan run checks for leaks).
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bitnet/batch.h"
#include "bitnet/sampler.h"
#include "../common/plugin_list.h"

#define PAGE 16
#define STEPS 64
#define CHUNK 12
#define N_SEQ 6
#define COS_MIN 0.99999

static int32_t prompt[N_SEQ + 1][64];
static const int32_t plen[N_SEQ + 1] = {45, 52, 41, 33, 1, 23, 50}; /* the last one is cancelled */
static const int join_step[N_SEQ + 1] = {0, 0, 2, 5, 9, 11, 3};
#define CANCEL N_SEQ
#define CANCEL_STEP 8
#define FORK_OF 2

static bn_settings settings;
static char plugins[16][64];
static int n_plugins;
static int quick; /* sanitizer builds: one plugin, F16 only (the memory checks are the point there) */

static uint64_t rng_state;
static uint32_t rnd(void) {
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng_state >> 33);
}

static int argmax(const float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best])
            best = i;
    return best;
}

static double cosine(const float *a, const float *b, int n) {
    double ab = 0, aa = 0, bb = 0;
    for (int i = 0; i < n; i++) {
        ab += (double)a[i] * b[i];
        aa += (double)a[i] * a[i];
        bb += (double)b[i] * b[i];
    }
    return ab / (sqrt(aa) * sqrt(bb) + 1e-300);
}

static void make_prompts(int32_t n_vocab) {
    rng_state = 1234;
    for (int s = 0; s <= N_SEQ; s++) {
        prompt[s][0] = 0; /* BOS */
        for (int i = 1; i < 64; i++)
            prompt[s][i] = 2 + (int32_t)(rnd() % (uint32_t)(n_vocab - 2));
    }
    for (int i = 0; i < 40; i++) /* 1 and 2 share 40 tokens with 0 (2.5 pages) */
        prompt[1][i] = prompt[2][i] = prompt[0][i];
    for (int i = 0; i < 32; i++) /* 3 shares exactly two pages with 0 */
        prompt[3][i] = prompt[0][i];
}

static bn_engine *engine_for(const char *plugin) {
    bn_settings st = settings;
    st.backend = (char *)plugin;
    bn_engine *e = NULL;
    ck_assert_msg(bn_engine_create(&st, &e) == BN_OK, "engine for '%s': %s", plugin, bn_last_error());
    return e;
}

static bn_model *load(bn_engine *e, const char *path, int32_t kv_type) {
    bn_model_opts o;
    bn_model_opts_init(&o);
    o.kv_type = kv_type;
    bn_model *m = NULL;
    ck_assert_msg(bn_model_load(e, path, &o, &m) == BN_OK, "load %s: %s", path, bn_last_error());
    return m;
}

/* ---- equivalence ------------------------------------------------------------ */

typedef struct solo_run {
    int32_t tokens[STEPS];
    float *logits; /* STEPS x n_vocab */
} solo_run;

/* Sequence s alone, in a pool with one page as long as the context. */
static void run_solo(bn_model *m, int s, solo_run *out) {
    int32_t nv = bn_model_hparams(m)->n_vocab, ctx = bn_model_mem_plan(m)->n_ctx;
    bn_kv_pool_opts o;
    bn_kv_pool_opts_init(&o);
    o.max_seqs = 1;
    o.page_tokens = (ctx + 15) / 16 * 16;
    o.no_prefix_cache = 1;
    bn_kv_pool *p;
    int32_t id;
    ck_assert_msg(bn_kv_pool_create(m, &o, &p) == BN_OK, "solo pool: %s", bn_last_error());
    ck_assert_int_eq(bn_seq_new(p, &id), BN_OK);
    out->logits = malloc(sizeof(float) * (size_t)nv * STEPS);
    bn_batch_row rows[64];
    int n = plen[s];
    for (int i = 0; i < n; i++)
        rows[i] = (bn_batch_row){.seq = id, .token = prompt[s][i], .pos = i, .logits = i == n - 1};
    for (int k = 0; k < STEPS; k++) {
        float *lg = out->logits + (size_t)k * (size_t)nv;
        ck_assert_msg(bn_decode(p, rows, n, lg) == BN_OK, "solo decode: %s", bn_last_error());
        out->tokens[k] = argmax(lg, nv);
        rows[0] = (bn_batch_row){.seq = id, .token = out->tokens[k], .pos = -1, .logits = 1};
        n = 1;
    }
    bn_kv_pool_free(p);
}

typedef struct live {
    int state; /* 0 waiting, 1 prompt, 2 decoding, 3 done */
    int32_t id, fed, gen, last, expect; /* expect: whose solo run it must equal */
} live;

typedef struct eq_result {
    double cos_min;
    int token_mismatch;
    int32_t reused;
} eq_result;

/* All sequences together; compares against solo[]. */
static void run_together(bn_model *m, int prefix, const solo_run *solo, eq_result *res) {
    int32_t nv = bn_model_hparams(m)->n_vocab;
    bn_kv_pool_opts o;
    bn_kv_pool_opts_init(&o);
    o.page_tokens = PAGE;
    o.max_seqs = 16;
    o.max_batch = 16; /* the busiest steps have more rows: split into passes */
    o.no_prefix_cache = !prefix;
    bn_kv_pool *p;
    ck_assert_msg(bn_kv_pool_create(m, &o, &p) == BN_OK, "pool: %s", bn_last_error());
    live sq[N_SEQ + 2];
    memset(sq, 0, sizeof sq);
    for (int s = 0; s < N_SEQ + 2; s++)
        sq[s].expect = s == N_SEQ + 1 ? FORK_OF : s;
    bn_batch_row rows[64];
    int who[64];
    float *lg = malloc(sizeof(float) * (size_t)nv * 64);
    res->cos_min = 1.0;
    res->token_mismatch = 0;
    for (int step = 0;; step++) {
        int active = 0;
        for (int s = 0; s <= N_SEQ; s++)
            if (sq[s].state == 0 && join_step[s] == step) {
                ck_assert_int_eq(bn_seq_new(p, &sq[s].id), BN_OK);
                ck_assert_int_eq(bn_seq_reuse_prefix(p, sq[s].id, prompt[s], plen[s], &sq[s].fed), BN_OK);
                ck_assert_int_eq(bn_seq_len(p, sq[s].id), sq[s].fed);
                sq[s].state = 1;
            }
        if (step == CANCEL_STEP && sq[CANCEL].state) {
            ck_assert_int_eq(bn_seq_free(p, sq[CANCEL].id), BN_OK);
            sq[CANCEL].state = 3;
        }
        int n = 0;
        for (int s = 0; s < N_SEQ + 2; s++) /* decode rows first */
            if (sq[s].state == 2) {
                who[n] = s;
                rows[n++] = (bn_batch_row){.seq = sq[s].id, .token = sq[s].last, .pos = -1, .logits = 1};
            }
        for (int s = 0; s <= N_SEQ; s++) /* then a chunk of each prompt */
            if (sq[s].state == 1) {
                int k = plen[s] - sq[s].fed < CHUNK ? plen[s] - sq[s].fed : CHUNK;
                for (int i = 0; i < k; i++) {
                    who[n] = s;
                    rows[n] = (bn_batch_row){.seq = sq[s].id, .token = prompt[s][sq[s].fed + i],
                                             .pos = sq[s].fed + i, .logits = sq[s].fed + i == plen[s] - 1};
                    n++;
                }
                sq[s].fed += k;
            }
        for (int s = 0; s < N_SEQ + 2; s++)
            active += sq[s].state == 1 || sq[s].state == 2 || (sq[s].state == 0 && s <= N_SEQ);
        if (!active)
            break;
        if (n == 0)
            continue;
        ck_assert_msg(bn_decode(p, rows, n, lg) == BN_OK, "decode at step %d: %s", step, bn_last_error());
        int k = 0;
        for (int i = 0; i < n; i++) {
            if (!rows[i].logits)
                continue;
            int s = who[i];
            live *q = &sq[s];
            const float *got = lg + (size_t)k++ * (size_t)nv;
            if (s == CANCEL) { /* never compared: it only takes pages and goes */
                q->state = 2;
                q->last = argmax(got, nv);
                continue;
            }
            const solo_run *want = &solo[q->expect];
            double c = cosine(got, want->logits + (size_t)q->gen * (size_t)nv, nv);
            if (!(c >= res->cos_min))
                res->cos_min = c;
            int t = argmax(got, nv);
            if (t != want->tokens[q->gen] && !res->token_mismatch) {
                res->token_mismatch = 1;
                printf("  sequence %d: token %d at step %d, alone %d\n", s, t, q->gen, want->tokens[q->gen]);
            }
            q->last = want->tokens[q->gen]; /* stay on the solo path even after a mismatch */
            q->gen++;
            if (q->state == 1) {
                q->state = 2;
                if (s == FORK_OF) { /* the fork shares the prompt and its last, partly filled page */
                    live *f = &sq[N_SEQ + 1];
                    ck_assert_int_eq(bn_seq_fork(p, q->id, &f->id), BN_OK);
                    ck_assert_int_eq(bn_seq_pages(p, f->id), bn_seq_pages(p, q->id));
                    f->state = 2;
                    f->last = q->last;
                    f->gen = q->gen;
                }
            }
        }
        bn_kv_pool_stats ps;
        bn_kv_pool_get_stats(p, &ps);
        for (int s = 0; s < N_SEQ + 2; s++)
            if (sq[s].state == 2) {
                int32_t len = bn_seq_len(p, sq[s].id);
                ck_assert_int_eq(bn_seq_pages(p, sq[s].id), (len + ps.page_tokens - 1) / ps.page_tokens);
                if (sq[s].gen == STEPS) { /* leaves while others go on */
                    ck_assert_int_eq(bn_seq_free(p, sq[s].id), BN_OK);
                    sq[s].state = 3;
                }
            }
    }
    bn_kv_pool_stats st;
    bn_kv_pool_get_stats(p, &st);
    ck_assert_int_eq(st.n_seqs, 0);
    ck_assert_int_eq(st.used_pages, 0);
    ck_assert_int_eq(st.free_pages + st.cached_pages, st.n_pages);
    res->reused = (int32_t)st.reused_tokens;
    if (st.page_tokens != PAGE) /* an ABI 1.0 plugin: one page per sequence, nothing shared */
        ck_assert_int_eq(res->reused, 0);
    else if (prefix)
        /* sequence 2 joins when one page of the shared prompt is done, 3 when two are */
        ck_assert_msg(res->reused >= 48, "prefix sharing reused only %d tokens", res->reused);
    free(lg);
    bn_kv_pool_free(p);
}

static void equivalence(const char *plugin, const char *extra_path) {
    bn_settings st = settings;
    if (extra_path)
        st.plugin_path = (char *)extra_path;
    bn_settings saved = settings;
    settings = st;
    bn_engine *e = engine_for(plugin);
    settings = saved;
    int bad = 0;
    static const int32_t kv_types[] = {BN_TYPE_F16, BN_TYPE_F32, BN_TYPE_Q8_0};
    for (int kv = 0; kv < (quick ? 1 : 3); kv++) {
        int32_t kv_type = kv_types[kv];
        bn_model *m = load(e, BITNET_DEFAULT_MODEL, kv_type);
        ck_assert_str_eq(bn_model_backend_name(m), plugin);
        solo_run solo[N_SEQ];
        for (int s = 0; s < N_SEQ; s++)
            run_solo(m, s, &solo[s]);
        for (int prefix = 0; prefix < 2; prefix++) {
            eq_result r;
            run_together(m, prefix, solo, &r);
            int ok = r.cos_min >= COS_MIN && !r.token_mismatch;
            printf("batch %-10s kv=%s prefix=%s: %d sequences + fork + cancel, %d steps each: min cosine %.7f, "
                   "tokens %s, %d prompt tokens reused: %s\n",
                   plugin, bn_type_name(kv_type), prefix ? "on " : "off", N_SEQ, STEPS, r.cos_min,
                   r.token_mismatch ? "differ" : "same", r.reused, ok ? "ok" : "FAIL (together differs from alone)");
            bad += !ok;
        }
        for (int s = 0; s < N_SEQ; s++)
            free(solo[s].logits);
        bn_model_free(m);
    }
    fflush(stdout);
    bn_engine_free(e);
    ck_assert_msg(!bad, "%s: sequences decoded together differ from alone", plugin);
}

START_TEST(t_equivalence) {
    ck_assert_int_gt(n_plugins, 0);
    for (int i = 0; i < (quick ? 1 : n_plugins); i++)
        equivalence(plugins[i], NULL);
}
END_TEST

START_TEST(t_equivalence_abi10) { equivalence("test-abi10", ABI10_PLUGIN_DIR); }
END_TEST

/* ---- sampling per sequence ---------------------------------------------------- */

/* Each sequence samples with its own sampler (its seed, its penalty
 * history): decoded together, the logits rows map back to their
 * sequences, so every sequence draws the tokens it draws alone. */
#define S_N 4
#define S_GEN 32

static void sample_run(bn_model *m, int together, int32_t out[S_N][S_GEN]) {
    int32_t nv = bn_model_hparams(m)->n_vocab;
    bn_sampler_params sp;
    bn_sampler_params_init(&sp);
    sp.temperature = 0.9f;
    sp.repeat_penalty = 1.1f;
    bn_sampler *smp[S_N];
    bn_kv_pool_opts o;
    bn_kv_pool_opts_init(&o);
    o.page_tokens = PAGE;
    o.max_seqs = S_N;
    bn_kv_pool *p;
    ck_assert_msg(bn_kv_pool_create(m, &o, &p) == BN_OK, "pool: %s", bn_last_error());
    int32_t id[S_N], last[S_N];
    float *lg = malloc(sizeof(float) * (size_t)nv * S_N);
    bn_batch_row rows[4 * 64]; /* every prompt at once */
    for (int s = 0; s < S_N; s++) {
        sp.seed = 100 + (uint64_t)s;
        ck_assert_int_eq(bn_sampler_create(&sp, nv, &smp[s]), BN_OK);
        ck_assert_int_eq(bn_seq_new(p, &id[s]), BN_OK);
    }
    /* alone: one sequence at a time from start to end; together: all
     * prompts in one call, then one decode row per sequence per step */
    for (int s0 = 0; s0 < S_N; s0 += together ? S_N : 1) {
        int s1 = together ? S_N : s0 + 1, n = 0;
        for (int s = s0; s < s1; s++)
            for (int i = 0; i < plen[s]; i++)
                rows[n++] = (bn_batch_row){.seq = id[s], .token = prompt[s][i], .pos = -1, .logits = i == plen[s] - 1};
        for (int step = 0; step < S_GEN; step++) {
            ck_assert_msg(bn_decode(p, rows, n, lg) == BN_OK, "decode: %s", bn_last_error());
            n = 0;
            for (int s = s0; s < s1; s++) {
                ck_assert_int_eq(bn_sampler_sample(smp[s], lg + (size_t)(s - s0) * (size_t)nv, &last[s]), BN_OK);
                ck_assert_int_eq(bn_sampler_accept(smp[s], last[s]), BN_OK);
                out[s][step] = last[s];
                rows[n++] = (bn_batch_row){.seq = id[s], .token = last[s], .pos = -1, .logits = 1};
            }
        }
    }
    for (int s = 0; s < S_N; s++)
        bn_sampler_free(smp[s]);
    free(lg);
    bn_kv_pool_free(p);
}

START_TEST(t_sampling) {
    bn_engine *e = NULL;
    ck_assert_msg(bn_engine_create(&settings, &e) == BN_OK, "engine: %s", bn_last_error());
    bn_model *m = load(e, BITNET_DEFAULT_MODEL, BN_TYPE_F16);
    static int32_t alone[S_N][S_GEN], together[S_N][S_GEN];
    sample_run(m, 0, alone);
    sample_run(m, 1, together);
    int same = 0, distinct = 0;
    for (int s = 0; s < S_N; s++) {
        same += !memcmp(alone[s], together[s], sizeof alone[s]);
        distinct += s > 0 && memcmp(alone[s], alone[0], sizeof alone[s]) != 0;
    }
    printf("sampling: %d of %d sequences draw the same %d tokens together as alone (own seeds and "
           "penalties); %d differ from sequence 0\n", same, S_N, S_GEN, distinct);
    ck_assert_int_eq(same, S_N);
    ck_assert_int_eq(distinct, S_N - 1); /* the samplers really are separate */
    bn_model_free(m);
    bn_engine_free(e);
}
END_TEST

/* ---- stress ------------------------------------------------------------------- */

#define S_SEQS 12
#define S_LEN 128
#define S_STEPS 10000

typedef struct sseq {
    int alive, state; /* state 1: prompt, 2: decoding */
    int32_t id, len, target, fed;
    int32_t tokens[S_LEN];
} sseq;

static void check_pool(bn_kv_pool *p, const sseq *sq, int step) {
    bn_kv_pool_stats st;
    bn_kv_pool_get_stats(p, &st);
    int alive = 0;
    for (int i = 0; i < S_SEQS; i++) {
        if (!sq[i].alive)
            continue;
        alive++;
        int32_t len = bn_seq_len(p, sq[i].id);
        ck_assert_msg(len == sq[i].len, "step %d: sequence %d holds %d tokens, expected %d", step, i, len, sq[i].len);
        ck_assert_msg(bn_seq_pages(p, sq[i].id) == (len + st.page_tokens - 1) / st.page_tokens,
                      "step %d: sequence %d of %d tokens maps %d pages", step, i, len, bn_seq_pages(p, sq[i].id));
    }
    ck_assert_int_eq(st.n_seqs, alive);
    ck_assert_int_eq(st.used_pages + st.free_pages + st.cached_pages, st.n_pages);
    ck_assert_int_ge(st.used_pages, 0);
}

START_TEST(t_stress) {
    bn_engine *e = NULL;
    ck_assert_msg(bn_engine_create(&settings, &e) == BN_OK, "engine: %s", bn_last_error());
    bn_model *m = load(e, STRESS_MODEL, BN_TYPE_F16);
    int32_t nv = bn_model_hparams(m)->n_vocab;
    bn_kv_pool_opts o;
    bn_kv_pool_opts_init(&o);
    o.page_tokens = 16;
    o.max_seqs = S_SEQS;
    o.max_seq_len = S_LEN;
    o.max_batch = 24;
    bn_kv_pool *p;
    ck_assert_msg(bn_kv_pool_create(m, &o, &p) == BN_OK, "pool: %s", bn_last_error());
    bn_kv_pool_stats st0;
    bn_kv_pool_get_stats(p, &st0);
    /* a tight budget: 40 pages for up to 12 sequences of up to 8 pages */
    bn_kv_pool_free(p);
    o.budget_bytes = 40 * st0.page_bytes;
    ck_assert_msg(bn_kv_pool_create(m, &o, &p) == BN_OK, "pool: %s", bn_last_error());
    int32_t prefixes[3][48];
    rng_state = 99;
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < 48; i++)
            prefixes[k][i] = (int32_t)(rnd() % (uint32_t)nv);
    sseq sq[S_SEQS];
    memset(sq, 0, sizeof sq);
    bn_batch_row rows[64];
    int who[64];
    float *lg = malloc(sizeof(float) * (size_t)nv * 64);
    long joins = 0, cancels = 0, forks = 0, truncs = 0, preempts = 0, leaves = 0, decoded = 0, full = 0;
    for (int step = 0; step < S_STEPS; step++) {
        uint32_t r = rnd() % 1000;
        int slot = -1;
        for (int i = 0; i < S_SEQS; i++)
            if (!sq[i].alive) {
                slot = i;
                break;
            }
        if (r < 250 && slot >= 0) { /* join: a shared prefix, then its own tokens */
            sseq *s = &sq[slot];
            memset(s, 0, sizeof *s);
            ck_assert_int_eq(bn_seq_new(p, &s->id), BN_OK);
            s->alive = s->state = 1;
            int n = 1 + (int)(rnd() % 60);
            s->target = n + 1 + (int)(rnd() % (S_LEN - n - 1));
            const int32_t *pre = prefixes[rnd() % 3];
            for (int i = 0; i < n; i++)
                s->tokens[i] = i < 48 && rnd() % 8 ? pre[i] : (int32_t)(rnd() % (uint32_t)nv);
            s->fed = n; /* prompt length, until fed */
            ck_assert_int_eq(bn_seq_reuse_prefix(p, s->id, s->tokens, n, &s->len), BN_OK);
            joins++;
        } else if (r < 300) { /* cancel one */
            int i = (int)(rnd() % S_SEQS);
            if (sq[i].alive) {
                ck_assert_int_eq(bn_seq_free(p, sq[i].id), BN_OK);
                sq[i].alive = 0;
                cancels++;
            }
        } else if (r < 330 && slot >= 0) { /* fork a decoding one */
            int i = (int)(rnd() % S_SEQS);
            if (sq[i].alive && sq[i].state == 2) {
                sq[slot] = sq[i];
                ck_assert_int_eq(bn_seq_fork(p, sq[i].id, &sq[slot].id), BN_OK);
                forks++;
            }
        } else if (r < 360) { /* truncate one (back to an earlier point) */
            int i = (int)(rnd() % S_SEQS);
            if (sq[i].alive && sq[i].state == 2 && sq[i].len > 1) {
                int32_t keep = 1 + (int32_t)(rnd() % (uint32_t)(sq[i].len - 1));
                ck_assert_int_eq(bn_seq_truncate(p, sq[i].id, keep), BN_OK);
                sq[i].len = keep;
                truncs++;
            }
        }
        /* the batch: a decode row per decoding sequence, then prompt chunks */
        int n = 0;
        for (int i = 0; i < S_SEQS && n < 64; i++)
            if (sq[i].alive && sq[i].state == 2) {
                who[n] = i;
                rows[n++] = (bn_batch_row){.seq = sq[i].id, .token = sq[i].tokens[sq[i].len], .pos = -1,
                                           .logits = rnd() % 5 == 0};
            }
        for (int i = 0; i < S_SEQS && n < 48; i++)
            if (sq[i].alive && sq[i].state == 1) {
                int k = sq[i].fed - sq[i].len < 16 ? sq[i].fed - sq[i].len : 16;
                for (int j = 0; j < k; j++) {
                    who[n] = i;
                    rows[n++] = (bn_batch_row){.seq = sq[i].id, .token = sq[i].tokens[sq[i].len + j],
                                               .pos = sq[i].len + j, .logits = j == k - 1};
                }
            }
        /* preempt the newest sequences until the batch fits */
        while (n > 0) {
            int32_t need = bn_decode_pages_needed(p, rows, n);
            bn_kv_pool_stats st;
            bn_kv_pool_get_stats(p, &st);
            ck_assert_int_ge(need, 0);
            if (need <= st.free_pages + st.cached_pages)
                break;
            int victim = -1;
            for (int i = 0; i < n; i++)
                victim = who[i] > victim && sq[who[i]].len > 0 ? who[i] : victim;
            if (victim < 0) { /* nothing to take back: a full pool refuses cleanly */
                ck_assert_int_eq(bn_decode(p, rows, n, lg), BN_ERR_NOMEM);
                full++;
                n = 0;
                break;
            }
            ck_assert_int_eq(bn_seq_truncate(p, sq[victim].id, 0), BN_OK); /* recompute later */
            sq[victim].fed = sq[victim].state == 2 ? sq[victim].len + 1 : sq[victim].fed;
            sq[victim].len = 0;
            sq[victim].state = 1;
            preempts++;
            int k = 0;
            for (int i = 0; i < n; i++)
                if (who[i] != victim) {
                    who[k] = who[i];
                    rows[k++] = rows[i];
                }
            n = k;
        }
        if (n > 0) {
            ck_assert_msg(bn_decode(p, rows, n, lg) == BN_OK, "step %d: %s", step, bn_last_error());
            int k = 0;
            for (int i = 0; i < n; i++) {
                sseq *s = &sq[who[i]];
                s->len++;
                if (rows[i].logits) {
                    const float *l = lg + (size_t)k++ * (size_t)nv;
                    ck_assert(isfinite(l[0]) && isfinite(l[nv - 1]));
                    if (s->state == 1 && s->len == s->fed)
                        s->state = 2;
                    if (s->state == 2 && s->len < S_LEN)
                        s->tokens[s->len] = argmax(l, nv);
                } else if (s->state == 2 && s->len < S_LEN) {
                    s->tokens[s->len] = (int32_t)(rnd() % (uint32_t)nv);
                }
            }
            decoded += n;
        }
        for (int i = 0; i < S_SEQS; i++) /* leave at the target length */
            if (sq[i].alive && sq[i].state == 2 && (sq[i].len >= sq[i].target || sq[i].len >= S_LEN - 1)) {
                ck_assert_int_eq(bn_seq_free(p, sq[i].id), BN_OK);
                sq[i].alive = 0;
                leaves++;
            }
        check_pool(p, sq, step);
    }
    for (int i = 0; i < S_SEQS; i++)
        if (sq[i].alive)
            ck_assert_int_eq(bn_seq_free(p, sq[i].id), BN_OK);
    bn_kv_pool_stats st;
    bn_kv_pool_get_stats(p, &st);
    printf("stress: %d steps, %ld rows decoded, %ld joins, %ld leaves, %ld cancels, %ld forks, %ld truncations, "
           "%ld preemptions, %ld full refusals, %llu prompt tokens reused; at the end %d used, %d cached, %d free "
           "of %d pages\n",
           S_STEPS, decoded, joins, leaves, cancels, forks, truncs, preempts, full,
           (unsigned long long)st.reused_tokens, st.used_pages, st.cached_pages, st.free_pages, st.n_pages);
    ck_assert_int_eq(st.n_seqs, 0);
    ck_assert_int_eq(st.used_pages, 0);
    ck_assert_int_eq(st.free_pages + st.cached_pages, st.n_pages);
    ck_assert_int_gt(preempts, 0);
    ck_assert_int_gt(st.reused_tokens, 0);
    free(lg);
    bn_kv_pool_free(p);
    bn_model_free(m);
    bn_engine_free(e);
}
END_TEST

/* ---- refusals --------------------------------------------------------------- */

START_TEST(t_refusals) {
    bn_engine *e = NULL;
    ck_assert_msg(bn_engine_create(&settings, &e) == BN_OK, "engine: %s", bn_last_error());
    bn_model *m = load(e, STRESS_MODEL, BN_TYPE_F16);
    bn_kv_pool_opts o;
    bn_kv_pool_opts_init(&o);
    bn_kv_pool *p = NULL;
    o.page_tokens = 24; /* not a multiple of 16 */
    ck_assert_int_eq(bn_kv_pool_create(m, &o, &p), BN_ERR_INVALID);
    o.page_tokens = 16;
    o.budget_bytes = 1000; /* less than one sequence */
    ck_assert_int_eq(bn_kv_pool_create(m, &o, &p), BN_ERR_INVALID);
    ck_assert_ptr_null(p);
    o.budget_bytes = 0;
    o.max_seqs = 2;
    ck_assert_int_eq(bn_kv_pool_create(m, &o, &p), BN_OK);
    int32_t a, b, c;
    ck_assert_int_eq(bn_seq_new(p, &a), BN_OK);
    ck_assert_int_eq(bn_seq_new(p, &b), BN_OK);
    ck_assert_int_eq(bn_seq_new(p, &c), BN_ERR_NOMEM); /* max_seqs */
    float lg[8192];
    bn_batch_row r = {.seq = 7, .token = 1, .pos = -1};
    ck_assert_int_eq(bn_decode(p, &r, 1, NULL), BN_ERR_INVALID); /* no such sequence */
    r = (bn_batch_row){.seq = a, .token = -1, .pos = -1};
    ck_assert_int_eq(bn_decode(p, &r, 1, NULL), BN_ERR_INVALID); /* token */
    r = (bn_batch_row){.seq = a, .token = 1, .pos = 3};
    ck_assert_int_eq(bn_decode(p, &r, 1, NULL), BN_ERR_INVALID); /* not append-only */
    r = (bn_batch_row){.seq = a, .token = 1, .pos = 0, .logits = 1};
    ck_assert_int_eq(bn_decode(p, &r, 1, NULL), BN_ERR_INVALID); /* logits but nowhere to put them */
    ck_assert_int_eq(bn_seq_len(p, a), 0);
    ck_assert_int_eq(bn_decode(p, &r, 1, lg), BN_OK);
    ck_assert_int_eq(bn_seq_len(p, a), 1);
    ck_assert_int_eq(bn_seq_truncate(p, a, 2), BN_ERR_INVALID);
    ck_assert_int_eq(bn_seq_free(p, a), BN_OK);
    ck_assert_int_eq(bn_seq_free(p, a), BN_ERR_INVALID); /* twice */
    ck_assert_int_eq(bn_seq_len(p, a), -1);
    bn_kv_pool_free(p);
    bn_model_free(m);
    bn_engine_free(e);
}
END_TEST

static int setup_all(void) {
    bn_cli_overrides cli;
    bn_cli_overrides_init(&cli);
    bn_engine *e = NULL;
    if (bn_settings_resolve(&cli, &settings) != BN_OK ||
        bn_engine_create_ex(&settings, BN_ENGINE_NO_CHOICE, &e) != BN_OK) {
        fprintf(stderr, "batch: engine: %s\n", bn_last_error());
        return -1;
    }
    const char *only = getenv("BN_BATCH_PLUGINS");
    for (size_t i = 0; i < bn_engine_plugin_count(e) && n_plugins < 16; i++) {
        const bn_plugin_report *r = bn_engine_plugin(e, i);
        if (r->usable && test_plugin_listed(only, r->name))
            snprintf(plugins[n_plugins++], sizeof plugins[0], "%s", r->name);
    }
    bn_engine_free(e);
    bn_hparams hp;
    if (bn_model_read_hparams(BITNET_DEFAULT_MODEL, &hp) != BN_OK) {
        fprintf(stderr, "batch: %s\n", bn_last_error());
        return -1;
    }
    make_prompts(hp.n_vocab);
    printf("batch: %d usable plugin(s)\n", n_plugins);
    return 0;
}

int main(int argc, char **argv) {
    if (setup_all() != 0)
        return 1;
    const char *only = argc > 1 ? argv[1] : "";
    if (!strcmp(only, "equivalence-quick")) {
        quick = 1;
        only = "equivalence";
    } else if (!strcmp(only, "equivalence-plugins-quick")) {
        quick = 1;
        only = "equivalence-plugins";
    }
    Suite *su = suite_create("batch");
    TCase *tc = tcase_create("batch");
    tcase_set_timeout(tc, 600);
    if (!*only || !strcmp(only, "equivalence") || !strcmp(only, "equivalence-plugins"))
        tcase_add_test(tc, t_equivalence);
    if (!*only || !strcmp(only, "equivalence"))
        tcase_add_test(tc, t_equivalence_abi10);
    if (!*only || !strcmp(only, "sampling"))
        tcase_add_test(tc, t_sampling);
    if (!*only || !strcmp(only, "stress"))
        tcase_add_test(tc, t_stress);
    if (!*only || !strcmp(only, "refusals"))
        tcase_add_test(tc, t_refusals);
    suite_add_tcase(su, tc);
    SRunner *sr = srunner_create(su);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
