/* Building a vocabulary from its GGUF-shaped description, and accessors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok_internal.h"

void bn_vocab_spec_init(bn_vocab_spec *spec) {
    memset(spec, 0, sizeof *spec);
    spec->bos_id = spec->eos_id = spec->eot_id = spec->unk_id = spec->pad_id = -1;
    spec->add_bos = spec->add_eos = spec->add_space_prefix = -1;
}

static int pre_kind_of(const char *pre, int *known) {
    static const char *const llama3[] = {"llama-bpe", "llama3", "llama-v3"};
    static const char *const gpt2[] = {"default", "gpt-2", "gpt2"};
    *known = 1;
    for (size_t i = 0; i < sizeof llama3 / sizeof *llama3; i++)
        if (strcmp(pre, llama3[i]) == 0)
            return BN_PRE_LLAMA3;
    for (size_t i = 0; i < sizeof gpt2 / sizeof *gpt2; i++)
        if (strcmp(pre, gpt2[i]) == 0)
            return BN_PRE_GPT2;
    *known = 0;
    return BN_PRE_GPT2;
}

/* Piece bytes of token i into dst; returns the length. */
static size_t make_piece(const bn_vocab *v, int32_t i, char *dst) {
    const char *t = v->arena + v->text_off[i];
    size_t n = v->text_len[i];
    int type = v->types[i];
    if (type == BN_TOKEN_CONTROL || type == BN_TOKEN_UNKNOWN) {
        memcpy(dst, t, n);
        return n;
    }
    if (v->kind == BN_VOCAB_BPE) {
        long k = bn_bytelevel_decode(t, n, dst);
        if (k >= 0)
            return (size_t)k;
        memcpy(dst, t, n); /* not byte-level (an added token): as written */
        return n;
    }
    unsigned hex;
    char tail;
    if (type == BN_TOKEN_BYTE && n == 6 && sscanf(t, "<0x%2X%c", &hex, &tail) == 2 && tail == '>') {
        dst[0] = (char)hex;
        return 1;
    }
    size_t o = 0;
    for (size_t k = 0; k < n;) {
        if (k + 3 <= n && memcmp(t + k, "\xE2\x96\x81", 3) == 0) {
            dst[o++] = ' ';
            k += 3;
        } else {
            dst[o++] = t[k++];
        }
    }
    return o;
}

static bn_status copy_texts(bn_vocab *v, const bn_vocab_spec *spec) {
    size_t total = 0;
    for (uint32_t i = 0; i < spec->n_tokens; i++) {
        if (spec->tokens[i].len > UINT32_MAX / 4)
            return bn_fail(BN_ERR_FORMAT, "tokenizer: token %u is too long", i);
        total += spec->tokens[i].len + 1;
    }
    v->arena = malloc(2 * total + 1);
    v->text_off = malloc(spec->n_tokens * sizeof *v->text_off);
    v->text_len = malloc(spec->n_tokens * sizeof *v->text_len);
    v->piece_off = malloc(spec->n_tokens * sizeof *v->piece_off);
    v->piece_len = malloc(spec->n_tokens * sizeof *v->piece_len);
    v->scores = calloc(spec->n_tokens, sizeof *v->scores);
    v->types = malloc(spec->n_tokens);
    if (!v->arena || !v->text_off || !v->text_len || !v->piece_off || !v->piece_len || !v->scores ||
        !v->types)
        return bn_fail(BN_ERR_NOMEM, "tokenizer: out of memory for %u tokens", spec->n_tokens);
    size_t o = 0;
    for (uint32_t i = 0; i < spec->n_tokens; i++) {
        v->text_off[i] = (uint32_t)o;
        v->text_len[i] = (uint32_t)spec->tokens[i].len;
        memcpy(v->arena + o, spec->tokens[i].ptr, spec->tokens[i].len);
        o += spec->tokens[i].len;
        v->arena[o++] = 0;
        int type = spec->token_types ? spec->token_types[i] : BN_TOKEN_NORMAL;
        v->types[i] = (uint8_t)(type >= 1 && type <= 6 ? type : BN_TOKEN_NORMAL);
        if (spec->scores)
            v->scores[i] = spec->scores[i];
    }
    for (uint32_t i = 0; i < spec->n_tokens; i++) {
        v->piece_off[i] = (uint32_t)o;
        v->piece_len[i] = (uint32_t)make_piece(v, (int32_t)i, v->arena + o);
        o += v->piece_len[i];
        v->arena[o++] = 0;
    }
    v->arena_len = o;
    return BN_OK;
}

static const char *text_of(const bn_vocab *v, int32_t i) { return v->arena + v->text_off[i]; }
static const char *piece_of(const bn_vocab *v, int32_t i) { return v->arena + v->piece_off[i]; }

#define KEY_BATCH 64

static bn_status build_maps(bn_vocab *v) {
    bn_status st = bn_strmap_init(&v->by_text, v->arena, (size_t)v->n);
    if (st == BN_OK)
        st = bn_strmap_init(&v->by_piece, v->arena, (size_t)v->n);
    if (st != BN_OK)
        return st;
    /* Which map key each token gets: BPE merging looks tokens up by their
     * bytes, SPM by their "▁" text; by_text has every token. */
    for (int32_t i0 = 0; i0 < v->n; i0 += KEY_BATCH) {
        int32_t nb = v->n - i0 < KEY_BATCH ? v->n - i0 : KEY_BATCH;
        uint64_t ht[KEY_BATCH], hp[KEY_BATCH];
        for (int32_t k = 0; k < nb; k++) {
            int32_t i = i0 + k;
            ht[k] = bn_hash_bytes(text_of(v, i), v->text_len[i]);
            hp[k] = bn_hash_bytes(piece_of(v, i), v->piece_len[i]);
            bn_strmap_prefetch(&v->by_text, ht[k]);
            bn_strmap_prefetch(&v->by_piece, v->kind == BN_VOCAB_BPE ? hp[k] : ht[k]);
        }
        for (int32_t k = 0; k < nb; k++) {
            int32_t i = i0 + k;
            int type = v->types[i];
            bn_strmap_put_h(&v->by_text, v->text_off[i], v->text_len[i], i, ht[k]);
            if (v->kind == BN_VOCAB_BPE && type == BN_TOKEN_NORMAL)
                bn_strmap_put_h(&v->by_piece, v->piece_off[i], v->piece_len[i], i, hp[k]);
            if (v->kind == BN_VOCAB_SPM && (type == BN_TOKEN_NORMAL || type == BN_TOKEN_USER_DEFINED))
                bn_strmap_put_h(&v->by_piece, v->text_off[i], v->text_len[i], i, ht[k]);
        }
    }
    for (int b = 0; b < 256; b++) {
        if (v->kind == BN_VOCAB_BPE) {
            char c = (char)b;
            v->byte_token[b] = bn_strmap_get(&v->by_piece, &c, 1);
        } else {
            char name[8];
            snprintf(name, sizeof name, "<0x%02X>", b);
            v->byte_token[b] = bn_strmap_get(&v->by_text, name, 6);
        }
    }
    return BN_OK;
}

/* Merges are resolved in batches: hash everything of a batch, prefetch the
 * table slots, then look up - the lookups are cache misses (the tables
 * are megabytes), and this lets them overlap instead of queueing. */
#define MERGE_BATCH 64

typedef struct merge_job {
    const char *left, *right, *cat;
    uint32_t nl, nr;
    uint64_t hl, hr, hc;
    int32_t l, r, c;
} merge_job;

static bn_status build_merges(bn_vocab *v, const bn_vocab_spec *spec) {
    bn_status st = bn_pairmap_init(&v->merges, spec->n_merges);
    if (st != BN_OK)
        return st;
    size_t skipped = 0, cap = 4096;
    char *buf = malloc(cap);
    merge_job job[MERGE_BATCH];
    if (!buf)
        return bn_fail(BN_ERR_NOMEM, "tokenizer: out of memory");
    for (uint32_t r0 = 0; r0 < spec->n_merges; r0 += MERGE_BATCH) {
        uint32_t nb = spec->n_merges - r0 < MERGE_BATCH ? spec->n_merges - r0 : MERGE_BATCH;
        size_t need = 0;
        for (uint32_t k = 0; k < nb; k++)
            need += spec->merges[r0 + k].len;
        if (need > cap) {
            free(buf);
            cap = 2 * need;
            if (!(buf = malloc(cap)))
                return bn_fail(BN_ERR_NOMEM, "tokenizer: out of memory");
        }
        char *o = buf;
        for (uint32_t k = 0; k < nb; k++) {
            merge_job *j = &job[k];
            const char *m = spec->merges[r0 + k].ptr;
            size_t n = spec->merges[r0 + k].len;
            const char *sp = memchr(m, ' ', n);
            j->left = NULL;
            if (!sp || sp == m || sp == m + n - 1)
                continue;
            j->left = m;
            j->nl = (uint32_t)(sp - m);
            j->right = sp + 1;
            j->nr = (uint32_t)(n - j->nl - 1);
            memcpy(o, m, j->nl);
            memcpy(o + j->nl, j->right, j->nr);
            j->cat = o;
            o += j->nl + j->nr;
            j->hl = bn_hash_bytes(j->left, j->nl);
            j->hr = bn_hash_bytes(j->right, j->nr);
            j->hc = bn_hash_bytes(j->cat, j->nl + j->nr);
            bn_strmap_prefetch(&v->by_text, j->hl);
            bn_strmap_prefetch(&v->by_text, j->hr);
            bn_strmap_prefetch(&v->by_text, j->hc);
        }
        for (uint32_t k = 0; k < nb; k++) {
            merge_job *j = &job[k];
            if (!j->left)
                continue;
            j->l = bn_strmap_get_h(&v->by_text, j->left, j->nl, j->hl);
            j->r = bn_strmap_get_h(&v->by_text, j->right, j->nr, j->hr);
            j->c = bn_strmap_get_h(&v->by_text, j->cat, j->nl + j->nr, j->hc);
            if (j->l >= 0 && j->r >= 0)
                bn_pairmap_prefetch(&v->merges, j->l, j->r);
        }
        for (uint32_t k = 0; k < nb; k++) {
            merge_job *j = &job[k];
            if (!j->left || j->l < 0 || j->r < 0 || j->c < 0) {
                skipped++;
                continue;
            }
            bn_pairmap_put(&v->merges, j->l, j->r, (int32_t)(r0 + k), j->c);
        }
    }
    free(buf);
    if (skipped)
        bn_log(BN_LOG_WARN, "tokenizer: %zu of %u merges name tokens not in the vocab; ignored",
               skipped, spec->n_merges);
    return BN_OK;
}

static int32_t checked_id(const bn_vocab *v, int32_t id, const char *what) {
    if (id < -1 || id >= v->n) {
        bn_log(BN_LOG_WARN, "tokenizer: %s id %d is outside the vocab of %d; ignored", what, id, v->n);
        return -1;
    }
    return id;
}

static bn_status build(bn_vocab *v, const bn_vocab_spec *spec) {
    if (!spec->model)
        return bn_fail(BN_ERR_FORMAT, "tokenizer: no tokenizer.ggml.model");
    if (strcmp(spec->model, "gpt2") == 0)
        v->kind = BN_VOCAB_BPE;
    else if (strcmp(spec->model, "llama") == 0)
        v->kind = BN_VOCAB_SPM;
    else
        return bn_fail(BN_ERR_UNSUPPORTED, "tokenizer: model '%s' is not supported (gpt2, llama)",
                       spec->model);
    if (spec->n_tokens == 0 || !spec->tokens || spec->n_tokens > INT32_MAX / 2)
        return bn_fail(BN_ERR_FORMAT, "tokenizer: %u tokens", spec->n_tokens);
    const char *pre = spec->pre && spec->pre[0] ? spec->pre : "default";
    int known;
    v->pre_kind = pre_kind_of(pre, &known);
    if (!known && v->kind == BN_VOCAB_BPE)
        bn_log(BN_LOG_WARN, "tokenizer: pre-tokenizer '%s' is unknown; using GPT-2's split", pre);
    v->ignore_merges = v->pre_kind == BN_PRE_LLAMA3;
    v->model_name = bn_strdup(spec->model);
    v->pre_name = bn_strdup(pre);
    v->chat_template = spec->chat_template ? bn_strdup(spec->chat_template) : NULL;
    if (!v->model_name || !v->pre_name || (spec->chat_template && !v->chat_template))
        return bn_fail(BN_ERR_NOMEM, "tokenizer: out of memory");
    v->n = (int32_t)spec->n_tokens;
    bn_status st = copy_texts(v, spec);
    if (st == BN_OK)
        st = build_maps(v);
    if (st == BN_OK && v->kind == BN_VOCAB_BPE)
        st = build_merges(v, spec);
    if (st == BN_OK)
        st = bn_special_build(v);
    if (st == BN_OK && v->kind == BN_VOCAB_BPE)
        st = bn_pretok_compile(v);
    if (st != BN_OK)
        return st;
    v->bos = checked_id(v, spec->bos_id, "bos");
    v->eos = checked_id(v, spec->eos_id, "eos");
    v->eot = checked_id(v, spec->eot_id, "eot");
    v->unk = checked_id(v, spec->unk_id, "unknown");
    v->pad = checked_id(v, spec->pad_id, "padding");
    int spm = v->kind == BN_VOCAB_SPM;
    v->add_bos = spec->add_bos >= 0 ? spec->add_bos : (spm || v->pre_kind == BN_PRE_LLAMA3);
    v->add_eos = spec->add_eos >= 0 ? spec->add_eos : 0;
    v->add_space_prefix = spec->add_space_prefix >= 0 ? spec->add_space_prefix : spm;
    return BN_OK;
}

bn_status bn_vocab_create(const bn_vocab_spec *spec, bn_vocab **out) {
    *out = NULL;
    bn_vocab *v = calloc(1, sizeof *v);
    if (!v)
        return bn_fail(BN_ERR_NOMEM, "tokenizer: out of memory");
    bn_status st = build(v, spec);
    if (st != BN_OK) {
        bn_vocab_free(v);
        return st;
    }
    *out = v;
    return BN_OK;
}

void bn_vocab_free(bn_vocab *v) {
    if (!v)
        return;
    bn_pretok_free(v);
    bn_strmap_free(&v->by_text);
    bn_strmap_free(&v->by_piece);
    bn_pairmap_free(&v->merges);
    bn_special_free(v);
    free(v->arena);
    free(v->text_off);
    free(v->text_len);
    free(v->piece_off);
    free(v->piece_len);
    free(v->scores);
    free(v->types);
    free(v->model_name);
    free(v->pre_name);
    free(v->chat_template);
    free(v);
}

static int in_range(const bn_vocab *v, int32_t id) { return v && id >= 0 && id < v->n; }

bn_vocab_kind bn_vocab_get_kind(const bn_vocab *v) { return v->kind; }
const char *bn_vocab_model_name(const bn_vocab *v) { return v->model_name; }
const char *bn_vocab_pre_name(const bn_vocab *v) { return v->pre_name; }
int32_t bn_vocab_n_tokens(const bn_vocab *v) { return v->n; }
int32_t bn_vocab_bos(const bn_vocab *v) { return v->bos; }
int32_t bn_vocab_eos(const bn_vocab *v) { return v->eos; }
int32_t bn_vocab_eot(const bn_vocab *v) { return v->eot; }
int32_t bn_vocab_unk(const bn_vocab *v) { return v->unk; }
int32_t bn_vocab_pad(const bn_vocab *v) { return v->pad; }
int bn_vocab_add_bos(const bn_vocab *v) { return v->add_bos && v->bos >= 0; }
int bn_vocab_add_eos(const bn_vocab *v) { return v->add_eos && v->eos >= 0; }
const char *bn_vocab_chat_template(const bn_vocab *v) { return v->chat_template; }

int bn_vocab_is_eog(const bn_vocab *v, int32_t id) {
    return id >= 0 && (id == v->eos || id == v->eot);
}

const char *bn_vocab_token_text(const bn_vocab *v, int32_t id) {
    return in_range(v, id) ? text_of(v, id) : NULL;
}

int bn_vocab_token_type(const bn_vocab *v, int32_t id) { return in_range(v, id) ? v->types[id] : 0; }

float bn_vocab_token_score(const bn_vocab *v, int32_t id) {
    return in_range(v, id) ? v->scores[id] : 0.0f;
}

int32_t bn_vocab_find(const bn_vocab *v, const char *text, size_t len) {
    return bn_strmap_get(&v->by_text, text, len);
}

const char *bn_token_piece(const bn_vocab *v, int32_t id, unsigned flags, size_t *len) {
    if (!in_range(v, id)) {
        *len = 0;
        return NULL;
    }
    int t = v->types[id];
    if ((t == BN_TOKEN_CONTROL || t == BN_TOKEN_UNKNOWN) && !(flags & BN_DETOK_SPECIAL)) {
        *len = 0;
        return piece_of(v, id);
    }
    if (t == BN_TOKEN_UNUSED) {
        *len = 0;
        return piece_of(v, id);
    }
    *len = v->piece_len[id];
    return piece_of(v, id);
}
