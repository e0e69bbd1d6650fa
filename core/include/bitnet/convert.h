/*
 * Converters: a Hugging Face BitNet / Llama checkpoint folder to GGUF, and
 * GGUF to GGUF between ternary formats (lossless).
 *
 * Ternary encoders are the reference plugin's (its `encode` slot), so the
 * engine passed in must have the "reference" plugin available.
 */
#ifndef BITNET_CONVERT_H
#define BITNET_CONVERT_H

#include "bitnet/bitnet.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Called after each tensor: done of total, the tensor just written. */
typedef void (*bn_progress_fn)(void *arg, int done, int total, const char *name);

typedef struct bn_convert_opts {
    int32_t type;       /* linear layers: BN_TYPE_I2_S, TQ1_0, TQ2_0, F16 or F32 */
    int32_t embd_type;  /* token embedding / LM head: F16 (default), F32, Q8_0 */
    int vocab_only;     /* write only the tokenizer metadata */
    const char *name;   /* general.name; NULL = folder name */
    bn_progress_fn progress;
    void *progress_arg;
    /* TQ1_0/TQ2_0 only. 0 (default): blocks carry d = 1 and the exact f32
     * per-tensor scale goes into a separate F32 tensor "<base>.scale"
     * (blk.N.attn_q.scale ...). 1: the scale is folded into every block's
     * fp16 d (rounded to fp16), for readers that ignore .scale tensors. */
    int tq_scale_in_blocks;
} bn_convert_opts;

BN_API void bn_convert_opts_init(bn_convert_opts *o);

/* hf_dir holds config.json, *.safetensors, tokenizer.json (+ tokenizer_config.json).
 * Linear weights may be bf16/f16/f32 masters (absmean-ternarised) or packed
 * ternary uint8 with a weight_scale tensor (kept exactly). */
BN_API bn_status bn_convert_hf(bn_engine *e, const char *hf_dir, const char *out_path, const bn_convert_opts *o);

/* Re-encode every ternary tensor of a GGUF into o->type (a ternary type);
 * codes are kept, and a single per-tensor scale exactly (except folded into
 * fp16 block scales with tq_scale_in_blocks); a tensor's "<base>.scale" is
 * applied on reading. Other tensors and metadata are copied. */
BN_API bn_status bn_requantize(bn_engine *e, const char *in_path, const char *out_path, const bn_convert_opts *o);

#ifdef __cplusplus
}
#endif
#endif
