/* Tokenizer internals shared by the files of core/src/tokenizer/. */
#ifndef BITNET_TOK_INTERNAL_H
#define BITNET_TOK_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "bitnet/tokenizer.h"
#include "internal.h"

/* ---- hash maps (tok_maps.c) ----------------------------------------------- */

/* Byte string -> int32, open addressing. Keys are (offset, length) into
 * one base buffer the owner keeps alive (the vocab arena); a slot is 16
 * bytes so a probe costs one cache line. */
typedef struct bn_strslot {
    uint32_t tag;   /* high half of the hash */
    int32_t value1; /* value + 1; 0 = empty */
    uint32_t off, len;
} bn_strslot;

typedef struct bn_strmap {
    bn_strslot *slots;
    const char *base;
    uint64_t mask;
} bn_strmap;

bn_status bn_strmap_init(bn_strmap *m, const char *base, size_t n_expected);
void bn_strmap_free(bn_strmap *m);
uint64_t bn_hash_bytes(const char *p, size_t n);
/* Insert if absent; an existing key keeps its first value. */
void bn_strmap_put_h(bn_strmap *m, uint32_t off, uint32_t len, int32_t value, uint64_t h);
/* Lookup with the hash already computed (lets a caller prefetch). */
int32_t bn_strmap_get_h(const bn_strmap *m, const char *key, size_t len, uint64_t h);
static inline void bn_strmap_prefetch(const bn_strmap *m, uint64_t h) {
    __builtin_prefetch(&m->slots[h & m->mask]);
}
static inline int32_t bn_strmap_get(const bn_strmap *m, const char *key, size_t len) {
    return m->slots ? bn_strmap_get_h(m, key, len, bn_hash_bytes(key, len)) : -1;
}

/* (left id, right id) -> (rank, merged id), open addressing; one 16-byte
 * slot per pair so a probe is one cache line. */
typedef struct bn_pairslot {
    uint64_t key; /* left << 32 | right; UINT64_MAX = empty */
    int32_t rank, merged;
} bn_pairslot;

typedef struct bn_pairmap {
    bn_pairslot *slots;
    uint64_t mask;
    int shift;
} bn_pairmap;

bn_status bn_pairmap_init(bn_pairmap *m, size_t n_expected);
void bn_pairmap_free(bn_pairmap *m);
void bn_pairmap_put(bn_pairmap *m, int32_t left, int32_t right, int32_t rank, int32_t merged);

static inline uint64_t bn_pair_key(int32_t left, int32_t right) {
    return ((uint64_t)(uint32_t)left << 32) | (uint32_t)right;
}
static inline uint64_t bn_pairmap_slot(const bn_pairmap *m, uint64_t key) {
    return (key * 0x9E3779B97F4A7C15ull) >> m->shift; /* Fibonacci hashing: top bits */
}
static inline void bn_pairmap_prefetch(const bn_pairmap *m, int32_t left, int32_t right) {
    __builtin_prefetch(&m->slots[bn_pairmap_slot(m, bn_pair_key(left, right))]);
}
/* Rank of the pair, -1 if it does not merge; *merged set when found. */
static inline int32_t bn_pairmap_get(const bn_pairmap *m, int32_t left, int32_t right,
                                     int32_t *merged) {
    uint64_t key = bn_pair_key(left, right);
    for (uint64_t i = bn_pairmap_slot(m, key);; i = (i + 1) & m->mask) {
        const bn_pairslot *s = &m->slots[i];
        if (s->key == key) {
            *merged = s->merged;
            return s->rank;
        }
        if (s->key == UINT64_MAX)
            return -1;
    }
}

/* ---- UTF-8 and the byte-level alphabet (tok_utf8.c) ----------------------- */

/* Length of the well-formed UTF-8 sequence at p (1..4), or 0 if the bytes
 * at p are ill-formed; *ill gets the length of the maximal ill-formed
 * subpart then (>= 1). Incomplete sequences at the end count as ill-formed. */
size_t bn_utf8_next(const unsigned char *p, size_t n, size_t *ill);
/* Non-zero if all of p[0..n) is well-formed. */
int bn_utf8_valid(const char *p, size_t n);
/* Append p[0..n) to out with every maximal ill-formed subpart replaced by
 * U+FFFD. */
bn_status bn_utf8_sanitize(const char *p, size_t n, bn_text *out);
/* Encode one code point; returns bytes written (1..4). */
size_t bn_utf8_put(uint32_t cp, char *out);

/* GPT-2 byte-level alphabet: byte -> code point, and back (-1 if cp is
 * not in the alphabet). */
uint32_t bn_bytelevel_cp(unsigned char b);
int bn_bytelevel_byte(uint32_t cp);
/* Decode byte-level text into bytes; returns the byte count, or -1 if some
 * character is outside the alphabet (then the text is not byte-level). */
long bn_bytelevel_decode(const char *s, size_t n, char *out);

/* ---- the vocabulary (tok_vocab.c) ----------------------------------------- */

enum bn_pre_kind { BN_PRE_GPT2 = 0, BN_PRE_LLAMA3 = 1 };

/* Special tokens to find in text (tok_special.c): a map from text to id,
 * the distinct lengths (longest first) and a filter on the first two bytes,
 * so most positions cost one bit test and a match costs one lookup per
 * distinct length. */
typedef struct bn_special_set {
    size_t count;
    bn_strmap map;
    uint32_t *lens;
    size_t n_lens;
    uint8_t first[256 / 8];     /* bit set: a token starts with this byte */
    uint8_t pair[65536 / 8];    /* bit set: ... with these two bytes (or is 1 byte long) */
} bn_special_set;


struct bn_vocab {
    bn_vocab_kind kind;
    int pre_kind;
    char *model_name, *pre_name, *chat_template;
    int32_t n;
    char *arena;            /* stored texts, then pieces, each NUL-terminated */
    size_t arena_len;
    uint32_t *text_off, *text_len;   /* stored text */
    uint32_t *piece_off, *piece_len; /* decoded bytes */
    float *scores;
    uint8_t *types;
    bn_strmap by_text;  /* stored text -> id (all tokens) */
    bn_strmap by_piece; /* BPE: bytes of normal tokens -> id (what merging looks up) */
    bn_pairmap merges;  /* BPE */
    int32_t byte_token[256]; /* BPE: token of each single byte; SPM: <0xXX>; -1 none */
    int32_t bos, eos, eot, unk, pad;
    int add_bos, add_eos, add_space_prefix, ignore_merges;
    /* Token texts matched in the input before splitting: [0] user-defined
     * (always), [1] those plus control/unknown (BN_TOK_PARSE_SPECIAL). */
    bn_special_set specials[2];
    void *regex;               /* pcre2_code_8 * (BPE) */
};

bn_status bn_special_build(bn_vocab *v);
void bn_special_free(bn_vocab *v);
/* Longest token of the set starting at p, or -1. */
int32_t bn_special_match(const bn_special_set *s, const char *p, size_t n);

/* ---- pre-tokenizer regex (tok_pretok.c) ------------------------------------ */

bn_status bn_pretok_compile(bn_vocab *v);
void bn_pretok_free(bn_vocab *v);
/* Per-thread matcher state. */
typedef struct bn_pretok_state bn_pretok_state;
bn_status bn_pretok_state_create(const bn_vocab *v, bn_pretok_state **out);
void bn_pretok_state_free(bn_pretok_state *s);
/* Call fn for each word of text[0..n) (well-formed UTF-8). */
typedef bn_status (*bn_word_fn)(void *arg, const char *word, size_t len);
bn_status bn_pretok_split(bn_pretok_state *s, const char *text, size_t n, bn_word_fn fn, void *arg);

/* ---- merging (tok_bpe.c, tok_spm.c) ---------------------------------------- */

/* Scratch for the merge loops, grown as needed. */
typedef struct bn_merge_scratch {
    void *sym;
    size_t sym_cap;
    void *heap;
    size_t heap_cap;
} bn_merge_scratch;

void bn_merge_scratch_free(bn_merge_scratch *s);
bn_status bn_tokens_push(bn_tokens *t, int32_t id);
bn_status bn_bpe_word(const bn_vocab *v, bn_merge_scratch *s, const char *word, size_t len,
                      bn_tokens *out);
bn_status bn_spm_fragment(const bn_vocab *v, bn_merge_scratch *s, const char *text, size_t len,
                          bn_tokens *out);

#endif
