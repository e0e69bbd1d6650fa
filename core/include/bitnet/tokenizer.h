/*
 * Tokenizers: vocabularies, encoding, streaming decoding, Hugging Face
 * import, chat templates.
 *
 * Two models, as named by the GGUF key tokenizer.ggml.model:
 *   "gpt2"  byte-level BPE (GPT-2, Llama 3). The text is split into words by
 *           the pre-tokenizer regex (tokenizer.ggml.pre: "llama-bpe" for
 *           Llama 3, "gpt-2" / "default" for GPT-2), each word's bytes start
 *           as single-byte tokens and are merged by merge rank.
 *   "llama" SentencePiece-style: spaces become U+2581 "▁" (one is prepended
 *           when add_space_prefix), pieces are merged by score, characters
 *           without a token fall back to <0xXX> byte tokens (or unknown).
 *
 * A bn_vocab is immutable once built and may be shared by any number of
 * threads. Encoding needs scratch memory: bn_tokenizer holds it (one per
 * thread); bn_tokenize makes a temporary one.
 *
 * Input text is UTF-8. Ill-formed sequences are replaced by U+FFFD before
 * tokenizing, one per maximal ill-formed subpart (the Unicode
 * recommendation, the same as Python's bytes.decode(errors="replace")).
 * Decoded output is always well-formed UTF-8 under the same rule.
 */
#ifndef BITNET_TOKENIZER_H
#define BITNET_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bitnet/bitnet.h"
#include "bitnet/gguf.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum bn_vocab_kind { BN_VOCAB_BPE = 1, BN_VOCAB_SPM = 2 } bn_vocab_kind;

/* tokenizer.ggml.token_type values. */
enum {
    BN_TOKEN_NORMAL = 1,
    BN_TOKEN_UNKNOWN = 2,
    BN_TOKEN_CONTROL = 3,
    BN_TOKEN_USER_DEFINED = 4,
    BN_TOKEN_UNUSED = 5,
    BN_TOKEN_BYTE = 6
};

typedef struct bn_vocab bn_vocab;

/* Everything a vocabulary is built from, in the shape of the GGUF keys.
 * Nothing is kept: the builder copies what it needs. */
typedef struct bn_vocab_spec {
    const char *model;           /* "gpt2" or "llama" */
    const char *pre;             /* NULL or "" = "default" */
    uint32_t n_tokens;
    const bn_gguf_str *tokens;   /* n_tokens texts as stored (byte-level / "▁") */
    const float *scores;         /* n_tokens or NULL (all 0) */
    const int32_t *token_types;  /* n_tokens or NULL (all normal) */
    uint32_t n_merges;
    const bn_gguf_str *merges;   /* "left right", in rank order (BPE only) */
    int32_t bos_id, eos_id, eot_id, unk_id, pad_id; /* -1 = none */
    int add_bos, add_eos, add_space_prefix;          /* -1 = the model's default */
    const char *chat_template;   /* NULL = none */
} bn_vocab_spec;

/* A spec with no tokens, ids -1 and flags -1. */
BN_API void bn_vocab_spec_init(bn_vocab_spec *spec);
BN_API bn_status bn_vocab_create(const bn_vocab_spec *spec, bn_vocab **out);
/* From tokenizer.ggml.* and tokenizer.chat_template of an open file. */
BN_API bn_status bn_vocab_load_gguf(const bn_gguf *g, bn_vocab **out);
BN_API void bn_vocab_free(bn_vocab *v);

BN_API bn_vocab_kind bn_vocab_get_kind(const bn_vocab *v);
BN_API const char *bn_vocab_model_name(const bn_vocab *v); /* "gpt2" / "llama" */
BN_API const char *bn_vocab_pre_name(const bn_vocab *v);
BN_API int32_t bn_vocab_n_tokens(const bn_vocab *v);
BN_API int32_t bn_vocab_bos(const bn_vocab *v); /* -1 = none */
BN_API int32_t bn_vocab_eos(const bn_vocab *v);
BN_API int32_t bn_vocab_eot(const bn_vocab *v);
BN_API int32_t bn_vocab_unk(const bn_vocab *v);
BN_API int32_t bn_vocab_pad(const bn_vocab *v);
BN_API int bn_vocab_add_bos(const bn_vocab *v);
BN_API int bn_vocab_add_eos(const bn_vocab *v);
/* Non-zero for tokens that end a generation (eos, eot). */
BN_API int bn_vocab_is_eog(const bn_vocab *v, int32_t id);
/* Token text as stored (byte-level or "▁" form), NUL-terminated; NULL if
 * id is out of range. */
BN_API const char *bn_vocab_token_text(const bn_vocab *v, int32_t id);
BN_API int bn_vocab_token_type(const bn_vocab *v, int32_t id); /* 0 if out of range */
BN_API float bn_vocab_token_score(const bn_vocab *v, int32_t id);
/* Id of a token by its stored text, -1 if absent. */
BN_API int32_t bn_vocab_find(const bn_vocab *v, const char *text, size_t len);
BN_API const char *bn_vocab_chat_template(const bn_vocab *v); /* NULL if none */

/* ---- growable outputs ---------------------------------------------------- */

typedef struct bn_tokens {
    int32_t *ids;
    size_t n, cap;
} bn_tokens;
BN_API void bn_tokens_free(bn_tokens *t); /* frees ids and zeroes the struct */

/* Bytes; always NUL-terminated after a successful append. */
typedef struct bn_text {
    char *data;
    size_t len, cap;
} bn_text;
BN_API bn_status bn_text_append(bn_text *t, const char *s, size_t n);
BN_API void bn_text_free(bn_text *t);

/* ---- encoding ------------------------------------------------------------ */

enum {
    BN_TOK_ADD_SPECIAL = 1u << 0,   /* BOS / EOS as the vocab's add_bos / add_eos say */
    BN_TOK_PARSE_SPECIAL = 1u << 1, /* control / unknown token texts in the input become
                                       those tokens (user-defined tokens always do) */
};

typedef struct bn_tokenizer bn_tokenizer;

BN_API bn_status bn_tokenizer_create(const bn_vocab *v, bn_tokenizer **out);
BN_API void bn_tokenizer_free(bn_tokenizer *t);
/* Append the ids of text[0..len) to out. */
BN_API bn_status bn_tokenizer_encode(bn_tokenizer *t, const char *text, size_t len, unsigned flags,
                                     bn_tokens *out);
/* The same with a temporary bn_tokenizer. */
BN_API bn_status bn_tokenize(const bn_vocab *v, const char *text, size_t len, unsigned flags,
                             bn_tokens *out);

/* ---- decoding ------------------------------------------------------------ */

enum {
    BN_DETOK_SPECIAL = 1u << 0,      /* render control / unknown tokens as their text */
    BN_DETOK_STRIP_PREFIX = 1u << 1, /* SPM with add_space_prefix: drop the leading space
                                        of the first piece (the one encoding added) */
};

/* Bytes of one token: byte-level text mapped back to bytes, "▁" -> " ",
 * <0xXX> -> that byte, control tokens "" (their text with BN_DETOK_SPECIAL).
 * May be an incomplete UTF-8 sequence. Points into the vocab (not
 * NUL-terminated); *len = 0 and NULL for an id out of range. */
BN_API const char *bn_token_piece(const bn_vocab *v, int32_t id, unsigned flags, size_t *len);

/* Streaming decoder: push tokens one at a time, get text as soon as it is
 * complete UTF-8; an incomplete sequence is held back until the bytes that
 * complete it arrive (or flush). SentencePiece <0xXX> tokens are decoded as
 * Hugging Face's ByteFallback does: a run of them is held until a text piece
 * (or flush) ends it, then written as UTF-8 if the whole run is well formed,
 * else as one U+FFFD per byte. */
enum { BN_DETOK_RUN_MAX = 128 };
typedef struct bn_detok {
    const bn_vocab *vocab;
    unsigned flags;
    int started;            /* a non-empty piece has been seen */
    unsigned char pend[4];  /* held-back prefix of a UTF-8 sequence */
    size_t npend;
    unsigned char run[BN_DETOK_RUN_MAX]; /* SentencePiece byte tokens not yet written */
    size_t nrun;
} bn_detok;

BN_API void bn_detok_init(bn_detok *d, const bn_vocab *v, unsigned flags);
/* Append the text completed by token id to out. */
BN_API bn_status bn_detok_push(bn_detok *d, int32_t id, bn_text *out);
/* Append whatever is held back (an unfinished sequence becomes U+FFFD). */
BN_API bn_status bn_detok_flush(bn_detok *d, bn_text *out);
/* Whole sequence: init + push each + flush. */
BN_API bn_status bn_detokenize(const bn_vocab *v, const int32_t *ids, size_t n, unsigned flags,
                               bn_text *out);

/* For `bitnet tokenize`: one line per token, "<id> <tab> <piece>" with the
 * piece quoted and non-printable bytes escaped; ids_only prints the ids on
 * one line separated by spaces. */
BN_API void bn_tokens_print(FILE *f, const bn_vocab *v, const int32_t *ids, size_t n, int ids_only);

/* ---- Hugging Face import --------------------------------------------------- */

/* Read a Hugging Face tokenizer: `path` is a directory holding
 * tokenizer.json (and optionally tokenizer_config.json), or the path of a
 * tokenizer.json (its tokenizer_config.json is looked for beside it).
 * Supported: BPE with a ByteLevel pre-tokenizer (Llama 3 Split regex ->
 * "llama-bpe", plain ByteLevel -> "gpt-2"), and BPE with byte_fallback
 * (Llama 2 / 1bitLLM style -> model "llama"; pieces, scores and types then
 * come from the tokenizer.model beside tokenizer.json). If w is not NULL the
 * tokenizer.ggml.* keys and tokenizer.chat_template are set on it; if
 * vocab_out is not NULL the vocab is built too. */
BN_API bn_status bn_tokenizer_import_hf(const char *path, bn_gguf_writer *w, bn_vocab **vocab_out);

/* ---- chat templates ------------------------------------------------------ */

typedef enum bn_chat_style {
    BN_CHAT_PLAIN = 0,  /* "Role: content\n" ... fallback */
    BN_CHAT_LLAMA3 = 1, /* <|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|> */
    BN_CHAT_BITNET = 2, /* BitNet-b1.58-2B-4T: "Role: content<|eot_id|>" ... "Assistant: " */
} bn_chat_style;

typedef struct bn_chat_msg {
    const char *role; /* "system", "user", "assistant", ... */
    const char *content;
} bn_chat_msg;

/* Recognise a tokenizer.chat_template (Jinja text). NULL / "" -> PLAIN;
 * an unrecognised template -> PLAIN with a warning logged. */
BN_API bn_chat_style bn_chat_detect(const char *tmpl);
BN_API const char *bn_chat_style_name(bn_chat_style s);
/* Render messages as the template would, without the BOS text (encode the
 * result with BN_TOK_ADD_SPECIAL | BN_TOK_PARSE_SPECIAL). Content is
 * trimmed of surrounding whitespace as the templates do. Appends to out. */
BN_API bn_status bn_chat_render(bn_chat_style style, const bn_chat_msg *msgs, size_t n,
                                int add_generation_prompt, bn_text *out);

#ifdef __cplusplus
}
#endif
#endif /* BITNET_TOKENIZER_H */
