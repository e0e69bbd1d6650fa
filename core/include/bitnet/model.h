/*
 * Models and sessions.
 *
 * A bn_model is immutable once loaded (weights prepared by one backend,
 * hyperparameters, architecture) and can be shared by many sessions; a
 * bn_session owns what one conversation needs (KV cache, scratch
 * activations, position), so a server runs many sessions on one model.
 * A session must be used by one thread at a time.
 */
#ifndef BITNET_MODEL_H
#define BITNET_MODEL_H

#include "bitnet/bitnet.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct bn_model bn_model;
typedef struct bn_session bn_session;

/* Architecture families the engine runs. */
typedef enum bn_arch {
    BN_ARCH_BITNET_B158 = 0, /* "bitnet-b1.58" / "bitnet-25": relu2 FFN, sub-norms */
    BN_ARCH_BITNET = 1,      /* "bitnet": 1bitLLM, SiLU FFN, sub-norms */
    BN_ARCH_LLAMA = 2        /* "llama": ternary or float weights, SiLU, no sub-norms */
} bn_arch;

typedef struct bn_hparams {
    char arch_name[32]; /* as in general.architecture */
    int32_t arch;       /* bn_arch */
    int32_t n_vocab;
    int32_t n_ctx_train;
    int32_t n_embd;
    int32_t n_layer;
    int32_t n_ff;
    int32_t n_head;
    int32_t n_head_kv;
    int32_t head_dim;
    int32_t n_rot;      /* rotated dims per head */
    int32_t rope_style; /* bn_rope_style */
    int32_t act;        /* bn_act */
    float rope_freq_base;
    float rope_freq_scale;
    float norm_eps;
    int32_t has_sub_norms;
    int32_t tied_embeddings; /* no output.weight: LM head = token_embd */
} bn_hparams;

/* Bytes the model will need, computed before loading anything big. */
typedef struct bn_mem_plan {
    uint64_t weight_bytes[64]; /* by bn_type id (index < 64) */
    uint64_t weight_total;     /* prepared weights, backend memory */
    uint64_t kv_bytes_per_token;
    uint64_t kv_total;         /* for the chosen context */
    uint64_t scratch_bytes;    /* activations for one batch */
    uint64_t total;
    uint64_t available;        /* free memory reported by the OS */
    int32_t n_ctx;
    int32_t n_batch;
    int32_t kv_type;           /* bn_type of the cache */
} bn_mem_plan;

typedef struct bn_model_opts {
    int32_t n_ctx;   /* 0 = the model's training context */
    int32_t n_batch; /* tokens per forward pass during prompt processing; 0 = 256 */
    int32_t kernel;  /* bn_kernel for ternary weights */
    int32_t kv_type; /* cache element type: BN_TYPE_F16 (default), BN_TYPE_F32 or BN_TYPE_Q8_0 */
    int32_t no_mem_check; /* skip the free-memory refusal */
    int32_t lm_head_type; /* -1 = as stored; BN_TYPE_Q8_0 = re-encode a float LM head
                             (the output matrix, or the tied embedding) at load */
} bn_model_opts;

BN_API void bn_model_opts_init(bn_model_opts *o);

/* Read hyperparameters from a GGUF file and check them. */
BN_API bn_status bn_model_read_hparams(const char *path, bn_hparams *hp);
/* Compute the memory plan for a file and options without loading weights. */
BN_API bn_status bn_model_plan(const char *path, const bn_model_opts *opts, bn_mem_plan *plan);

/* Load: validate the file, plan memory (refuse if it cannot fit), prepare
 * every weight on the engine's chosen backend. */
BN_API bn_status bn_model_load(bn_engine *e, const char *path, const bn_model_opts *opts, bn_model **out);
BN_API void bn_model_free(bn_model *m);
BN_API const bn_hparams *bn_model_hparams(const bn_model *m);
BN_API const bn_mem_plan *bn_model_mem_plan(const bn_model *m);
BN_API const char *bn_model_backend_name(const bn_model *m);
/* The GGUF file the model came from (metadata, vocabulary). Owned by the model. */
struct bn_gguf;
BN_API const struct bn_gguf *bn_model_gguf(const bn_model *m);

BN_API bn_status bn_session_create(bn_model *m, bn_session **out);
BN_API void bn_session_free(bn_session *s);
/* Forget the conversation (position back to 0). */
BN_API void bn_session_reset(bn_session *s);
BN_API int32_t bn_session_pos(const bn_session *s);
BN_API int32_t bn_session_n_ctx(const bn_session *s);

/* Run n tokens at the current position, appending them to the KV cache.
 * logits: if non-NULL, receives n_vocab floats for the last token, or for
 * every token (n * n_vocab) when all_logits is non-zero. Fails cleanly
 * (BN_ERR_INVALID) if the context would overflow or a token id is out of
 * range. */
BN_API bn_status bn_session_eval(bn_session *s, const int32_t *tokens, int32_t n, float *logits, int all_logits);

#ifdef __cplusplus
}
#endif
#endif /* BITNET_MODEL_H */
