/* Hugging Face checkpoint folder -> GGUF. Tensors are converted one at a
 * time while the file is written (the writer pulls them through a fill
 * callback), so memory holds one tensor, never the whole model twice.
 * TQ1_0/TQ2_0 layers are followed by their exact scale as "<base>.scale"
 * unless the options fold it into the blocks (bn_encode_ternary). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bitnet/tokenizer.h"
#include "convert_internal.h"
#include "util/half.h"

enum { JOB_LINEAR, JOB_NORM, JOB_EMBD, JOB_SCALE };

typedef struct conv_ctx conv_ctx;

typedef struct job {
    char name[96], hf_name[192];
    int kind;
    int64_t rows, cols; /* cols = input features (innermost) */
    int permute_heads;  /* > 0: reorder rows of each head for NORM RoPE */
    int32_t type;
    uint64_t size;
    conv_ctx *cc;
    unsigned char *cache;
    float scale;      /* JOB_LINEAR with a separate scale: set once encoded */
    int have_scale;
    struct job *of;   /* JOB_SCALE: the linear layer whose scale it holds */
} job;

struct conv_ctx {
    const bn_convert_opts *o;
    bn_st_set *st;
    bn_encoder enc;
    job *jobs;
    int n_jobs, done;
    int scale_multiplies; /* bn_hf_config.scale_multiplies */
};

void bn_convert_opts_init(bn_convert_opts *o) {
    memset(o, 0, sizeof *o);
    o->type = BN_TYPE_I2_S;
    o->embd_type = BN_TYPE_F16;
}

static float scalar_f32(const bn_st_tensor *t) {
    uint16_t h;
    float f = 0;
    if (t->dtype == BN_ST_F32)
        memcpy(&f, t->data, 4);
    else if (t->dtype == BN_ST_F16 || t->dtype == BN_ST_BF16) {
        memcpy(&h, t->data, 2);
        f = t->dtype == BN_ST_F16 ? bn_f16_to_f32(h) : bn_bf16_to_f32(h);
    }
    return f;
}

/* Packed ternary (transformers' BitLinear): uint8 [rows/4, cols], the four
 * 2-bit fields of byte (r, c) hold rows r, r + R, r + 2R, r + 3R (R =
 * rows/4) as code = w + 1; weight = w / weight_scale (BitLinear) or
 * w * weight_scale (AutoBitLinear offline: `multiply`). */
static bn_status unpack_ternary(const bn_st_tensor *t, const bn_st_tensor *ws, int64_t rows, int64_t cols, int multiply,
                                float *out) {
    if (t->n_dims != 2 || t->shape[0] * 4 != rows || t->shape[1] != cols)
        return bn_fail(BN_ERR_FORMAT, "packed tensor '%s' has shape [%lld, %lld], expected [%lld, %lld]", t->name,
                       (long long)t->shape[0], (long long)t->shape[1], (long long)rows / 4, (long long)cols);
    if (ws->n_elems != 1 || (ws->dtype != BN_ST_F32 && ws->dtype != BN_ST_F16 && ws->dtype != BN_ST_BF16))
        return bn_fail(BN_ERR_FORMAT, "'%s' must hold one float", ws->name);
    float s = scalar_f32(ws);
    if (!(s > 0) || s != s)
        return bn_fail(BN_ERR_FORMAT, "'%s' = %g is not a usable scale", ws->name, (double)s);
    float w = multiply ? s : 1.0f / s;
    const unsigned char *p = t->data;
    int64_t R = rows / 4;
    for (int64_t r = 0; r < R; r++)
        for (int64_t c = 0; c < cols; c++) {
            unsigned b = p[r * cols + c];
            for (int i = 0; i < 4; i++) {
                unsigned code = (b >> (2 * i)) & 3;
                if (code == 3)
                    return bn_fail(BN_ERR_FORMAT, "packed tensor '%s': invalid code 3 at row %lld col %lld", t->name,
                                   (long long)(r + i * R), (long long)c);
                out[(r + i * R) * cols + c] = ((float)code - 1.0f) * w;
            }
        }
    return BN_OK;
}

static bn_status to_f32(conv_ctx *cc, const job *j, float *out) {
    const bn_st_tensor *t = bn_st_find(cc->st, j->hf_name);
    if (!t)
        return bn_fail(BN_ERR_NOT_FOUND, "checkpoint lacks tensor '%s' (needed for '%s')", j->hf_name, j->name);
    if (t->dtype == BN_ST_U8 && j->kind == JOB_LINEAR) {
        char ws_name[224];
        size_t n = strlen(j->hf_name);
        snprintf(ws_name, sizeof ws_name, "%.*s_scale", (int)n, j->hf_name); /* "<...>.weight_scale" */
        const bn_st_tensor *ws = bn_st_find(cc->st, ws_name);
        if (!ws)
            return bn_fail(BN_ERR_FORMAT, "packed tensor '%s' has no '%s'", j->hf_name, ws_name);
        return unpack_ternary(t, ws, j->rows, j->cols, cc->scale_multiplies, out);
    }
    int64_t want = j->rows * j->cols;
    int shape_ok = j->kind == JOB_NORM ? t->n_elems == want
                                       : (t->n_dims == 2 && t->shape[0] == j->rows && t->shape[1] == j->cols);
    if (!shape_ok)
        return bn_fail(BN_ERR_FORMAT, "tensor '%s' has %lld elements / wrong shape, '%s' needs [%lld, %lld]", j->hf_name,
                       (long long)t->n_elems, j->name, (long long)j->rows, (long long)j->cols);
    const unsigned char *p = t->data;
    for (int64_t i = 0; i < want; i++) {
        uint16_t h;
        switch (t->dtype) {
        case BN_ST_F32: memcpy(&out[i], p + 4 * i, 4); break;
        case BN_ST_F16: memcpy(&h, p + 2 * i, 2); out[i] = bn_f16_to_f32(h); break;
        case BN_ST_BF16: memcpy(&h, p + 2 * i, 2); out[i] = bn_bf16_to_f32(h); break;
        default:
            return bn_fail(BN_ERR_UNSUPPORTED, "tensor '%s' has dtype %s; expected F32, F16, BF16 or packed U8",
                           j->hf_name, t->dtype_name);
        }
    }
    return BN_OK;
}

/* Rows of each head from Hugging Face order (two halves rotate together)
 * to interleaved pairs, so NORM-style RoPE computes what HF computes. */
static bn_status permute_heads(float *w, int64_t rows, int64_t cols, int heads) {
    int64_t hd = rows / heads;
    float *tmp = malloc((size_t)(hd * cols) * sizeof *tmp);
    if (!tmp)
        return bn_fail(BN_ERR_NOMEM, "out of memory");
    for (int h = 0; h < heads; h++) {
        float *base = w + (int64_t)h * hd * cols;
        for (int64_t i = 0; i < hd / 2; i++)
            for (int jj = 0; jj < 2; jj++)
                memcpy(tmp + (2 * i + jj) * cols, base + (jj * hd / 2 + i) * cols, (size_t)cols * sizeof *tmp);
        memcpy(base, tmp, (size_t)(hd * cols) * sizeof *tmp);
    }
    free(tmp);
    return BN_OK;
}

static bn_status materialize(job *j) {
    conv_ctx *cc = j->cc;
    float *f = malloc((size_t)(j->rows * j->cols) * sizeof *f);
    if (!f)
        return bn_fail(BN_ERR_NOMEM, "out of memory converting '%s'", j->name);
    bn_status st = to_f32(cc, j, f);
    if (st == BN_OK && j->permute_heads)
        st = permute_heads(f, j->rows, j->cols, j->permute_heads);
    if (st == BN_OK && j->type == BN_TYPE_F32) {
        j->cache = (unsigned char *)f;
        return BN_OK;
    }
    void *enc = NULL;
    uint64_t size = 0;
    if (st == BN_OK && j->kind == JOB_LINEAR && bn_type_is_ternary(j->type))
        st = bn_encode_ternary(&cc->enc, j->type, bn_wants_scale_tensor(cc->o, j->type), f, j->rows, j->cols, &enc,
                               &size, &j->scale);
    else if (st == BN_OK)
        st = bn_encode(&cc->enc, j->type, f, j->rows, j->cols, &enc, &size);
    free(f);
    if (st != BN_OK)
        return bn_fail(st, "tensor '%s': %s", j->name, bn_last_error());
    j->cache = enc;
    j->have_scale = 1;
    return BN_OK;
}

/* The scale tensor follows its layer in the file, so the layer is usually
 * encoded already; if not, encoding it now keeps its bytes for later. */
static bn_status fill_scale(job *j, uint64_t offset, void *buf, size_t n) {
    if (!j->of->have_scale) {
        bn_status st = materialize(j->of);
        if (st != BN_OK)
            return st;
    }
    memcpy(buf, (const unsigned char *)&j->of->scale + offset, n);
    return BN_OK;
}

static bn_status fill(void *arg, uint64_t offset, void *buf, size_t n) {
    job *j = arg;
    bn_status st = BN_OK;
    if (j->kind == JOB_SCALE) {
        st = fill_scale(j, offset, buf, n);
    } else {
        if (!j->cache)
            st = materialize(j);
        if (st == BN_OK)
            memcpy(buf, j->cache + offset, n);
    }
    if (st == BN_OK && offset + n >= j->size) {
        free(j->cache);
        j->cache = NULL;
        j->cc->done++;
        if (j->cc->o->progress)
            j->cc->o->progress(j->cc->o->progress_arg, j->cc->done, j->cc->n_jobs, j->name);
    }
    return st;
}

static job *add_job(conv_ctx *cc, int kind, const char *name, const char *hf, int64_t rows, int64_t cols, int32_t type) {
    job *j = &cc->jobs[cc->n_jobs++];
    memset(j, 0, sizeof *j);
    snprintf(j->name, sizeof j->name, "%s", name);
    snprintf(j->hf_name, sizeof j->hf_name, "%s", hf);
    j->kind = kind;
    j->rows = rows;
    j->cols = cols;
    j->type = type;
    j->cc = cc;
    return j;
}

/* Where a checkpoint keeps its sub-norms: transformers' BitNet names them
 * attn_sub_norm / ffn_sub_norm, 1bitLLM's bitnet_b1_58 checkpoints (model_type
 * "llama", BitnetForCausalLM) inner_attn_ln / ffn_layernorm. */
typedef struct sub_norm_names {
    const char *attn, *ffn;
} sub_norm_names;
static const sub_norm_names sub_norm_layouts[] = {
    {"self_attn.attn_sub_norm", "mlp.ffn_sub_norm"},
    {"self_attn.inner_attn_ln", "mlp.ffn_layernorm"},
};

static const sub_norm_names *find_sub_norms(const bn_st_set *st) {
    for (size_t i = 0; i < sizeof sub_norm_layouts / sizeof sub_norm_layouts[0]; i++) {
        char name[128];
        snprintf(name, sizeof name, "model.layers.0.%s.weight", sub_norm_layouts[i].attn);
        if (bn_st_find(st, name))
            return &sub_norm_layouts[i];
    }
    return NULL;
}

static void plan_jobs(conv_ctx *cc, const bn_hf_config *c, const sub_norm_names *sub_norms) {
    const bn_convert_opts *o = cc->o;
    int64_t d = c->n_embd, hd = d / c->n_head, dkv = hd * c->n_head_kv, ff = c->n_ff;
    /* Only llama files carry permuted Q/K rows (NORM RoPE), as llama.cpp's
     * converter writes them; bitnet and bitnet-b1.58 keep HF order (NEOX). */
    int norm_rope = strcmp(c->arch, "llama") == 0;
    add_job(cc, JOB_EMBD, "token_embd.weight", "model.embed_tokens.weight", c->n_vocab, d, o->embd_type);
    add_job(cc, JOB_NORM, "output_norm.weight", "model.norm.weight", 1, d, BN_TYPE_F32);
    if (!c->tie_embeddings)
        add_job(cc, JOB_EMBD, "output.weight", "lm_head.weight", c->n_vocab, d, o->embd_type);
    for (int il = 0; il < c->n_layer; il++) {
        char g[96], h[192];
        job *lin;
#define LIN(gn, hn, rows, cols, perm)                                                                                \
    snprintf(g, sizeof g, "blk.%d." gn ".weight", il);                                                             \
    snprintf(h, sizeof h, "model.layers.%d." hn ".weight", il);                                                    \
    lin = add_job(cc, JOB_LINEAR, g, h, rows, cols, o->type);                                                      \
    lin->permute_heads = (perm);                                                                                   \
    if (bn_wants_scale_tensor(o, o->type)) {                                                                       \
        snprintf(g, sizeof g, "blk.%d." gn ".scale", il);                                                          \
        add_job(cc, JOB_SCALE, g, h, 1, 1, BN_TYPE_F32)->of = lin;                                                 \
    }
#define NORM(gn, hn, len)                                                                                            \
    snprintf(g, sizeof g, "blk.%d." gn ".weight", il);                                                             \
    snprintf(h, sizeof h, "model.layers.%d." hn ".weight", il);                                                    \
    add_job(cc, JOB_NORM, g, h, 1, len, BN_TYPE_F32);
        NORM("attn_norm", "input_layernorm", d)
        LIN("attn_q", "self_attn.q_proj", d, d, norm_rope ? c->n_head : 0)
        LIN("attn_k", "self_attn.k_proj", dkv, d, norm_rope ? c->n_head_kv : 0)
        LIN("attn_v", "self_attn.v_proj", dkv, d, 0)
        LIN("attn_output", "self_attn.o_proj", d, d, 0)
        NORM("ffn_norm", "post_attention_layernorm", d)
        LIN("ffn_gate", "mlp.gate_proj", ff, d, 0)
        LIN("ffn_up", "mlp.up_proj", ff, d, 0)
        LIN("ffn_down", "mlp.down_proj", d, ff, 0)
        if (sub_norms) {
            snprintf(g, sizeof g, "blk.%d.attn_sub_norm.weight", il);
            snprintf(h, sizeof h, "model.layers.%d.%s.weight", il, sub_norms->attn);
            add_job(cc, JOB_NORM, g, h, 1, d, BN_TYPE_F32);
            snprintf(g, sizeof g, "blk.%d.ffn_sub_norm.weight", il);
            snprintf(h, sizeof h, "model.layers.%d.%s.weight", il, sub_norms->ffn);
            add_job(cc, JOB_NORM, g, h, 1, ff, BN_TYPE_F32);
        }
#undef LIN
#undef NORM
    }
}

static bn_status set_hparams(bn_gguf_writer *w, const bn_hf_config *c, const char *name) {
    char k[96];
    bn_status st = bn_gguf_writer_set_str(w, "general.architecture", c->arch);
    if (!st)
        st = bn_gguf_writer_set_str(w, "general.name", name);
#define U32(key, v)                                                                                                  \
    if (!st) {                                                                                                       \
        snprintf(k, sizeof k, "%s." key, c->arch);                                                                 \
        st = bn_gguf_writer_set_u32(w, k, (uint32_t)(v));                                                          \
    }
#define F32(key, v)                                                                                                  \
    if (!st) {                                                                                                       \
        snprintf(k, sizeof k, "%s." key, c->arch);                                                                 \
        st = bn_gguf_writer_set_f32(w, k, (v));                                                                    \
    }
    U32("context_length", c->n_ctx)
    U32("embedding_length", c->n_embd)
    U32("feed_forward_length", c->n_ff)
    U32("block_count", c->n_layer)
    U32("attention.head_count", c->n_head)
    U32("attention.head_count_kv", c->n_head_kv)
    U32("rope.dimension_count", c->n_embd / c->n_head)
    U32("vocab_size", c->n_vocab)
    F32("attention.layer_norm_rms_epsilon", c->rms_eps)
    F32("rope.freq_base", c->rope_theta)
#undef U32
#undef F32
    return st;
}

static const char *base_name(const char *dir) {
    const char *s = dir + strlen(dir);
    while (s > dir && s[-1] == '/')
        s--;
    const char *e = s;
    while (s > dir && s[-1] != '/')
        s--;
    static _Thread_local char buf[128];
    snprintf(buf, sizeof buf, "%.*s", (int)(e - s), s);
    return buf;
}

bn_status bn_convert_hf(bn_engine *e, const char *hf_dir, const char *out_path, const bn_convert_opts *o) {
    bn_convert_opts def;
    if (!o) {
        bn_convert_opts_init(&def);
        o = &def;
    }
    conv_ctx cc = {.o = o};
    bn_hf_config c;
    bn_gguf_writer *w = NULL;
    bn_status st = bn_gguf_writer_create(&w);
    if (st == BN_OK && !o->vocab_only)
        st = bn_hf_config_read(hf_dir, &c);
    if (st == BN_OK && !o->vocab_only && o->type != BN_TYPE_I2_S && o->type != BN_TYPE_TQ1_0 &&
        o->type != BN_TYPE_TQ2_0 && !((o->type == BN_TYPE_F16 || o->type == BN_TYPE_F32) && !strcmp(c.arch, "llama")))
        st = bn_fail(BN_ERR_INVALID,
                     "%s weights: BitNet models need a ternary type (I2_S, TQ1_0, TQ2_0); F16/F32 only for llama float models",
                     bn_type_name(o->type));
    if (st == BN_OK && o->embd_type != BN_TYPE_F16 && o->embd_type != BN_TYPE_F32 && o->embd_type != BN_TYPE_Q8_0)
        st = bn_fail(BN_ERR_INVALID, "embedding type must be F16, F32 or Q8_0, not %s", bn_type_name(o->embd_type));
    if (st == BN_OK)
        st = bn_tokenizer_import_hf(hf_dir, w, NULL);
    if (st == BN_OK && !o->vocab_only) {
        st = bn_st_open_dir(hf_dir, &cc.st);
        if (st == BN_OK)
            st = bn_encoder_open(e, &cc.enc);
    }
    if (st == BN_OK && !o->vocab_only) {
        const sub_norm_names *sub = find_sub_norms(cc.st);
        if (sub && !strcmp(c.arch, "llama")) { /* 1bitLLM: model_type "llama" with sub-norms is bitnet */
            snprintf(c.arch, sizeof c.arch, "bitnet");
            if (o->type == BN_TYPE_F16 || o->type == BN_TYPE_F32)
                st = bn_fail(BN_ERR_INVALID, "%s weights: BitNet models need a ternary type (I2_S, TQ1_0, TQ2_0)",
                             bn_type_name(o->type));
        }
        if (st == BN_OK && !sub && strcmp(c.arch, "llama"))
            st = bn_fail(BN_ERR_FORMAT, "%s: a %s model must have attn_sub_norm / ffn_sub_norm tensors", hf_dir, c.arch);
        if (st == BN_OK && !c.tie_embeddings && !bn_st_find(cc.st, "lm_head.weight"))
            c.tie_embeddings = 1; /* some exports say untied but ship no head */
        if (st == BN_OK)
            st = set_hparams(w, &c, o->name ? o->name : base_name(hf_dir));
        cc.jobs = calloc(3 + (size_t)c.n_layer * 18, sizeof *cc.jobs); /* 11 tensors + 7 scales per layer */
        if (st == BN_OK && !cc.jobs)
            st = bn_fail(BN_ERR_NOMEM, "out of memory");
        cc.scale_multiplies = c.scale_multiplies;
        if (st == BN_OK)
            plan_jobs(&cc, &c, sub);
        for (int i = 0; st == BN_OK && i < cc.n_jobs; i++) {
            job *j = &cc.jobs[i];
            j->size = j->type == BN_TYPE_F32 ? (uint64_t)(j->rows * j->cols) * 4 : bn_storage_size(j->type, j->rows, j->cols);
            if (!j->size) {
                st = bn_fail(BN_ERR_INVALID, "tensor '%s' [%lld x %lld] cannot be stored as %s", j->name,
                             (long long)j->rows, (long long)j->cols, bn_type_name(j->type));
                break;
            }
            int64_t ne[2] = {j->cols, j->rows};
            int n_dims = j->kind == JOB_NORM || j->kind == JOB_SCALE ? 1 : 2;
            st = bn_gguf_writer_add_tensor_fill(w, j->name, (uint32_t)j->type, n_dims, ne, j->size, fill, j);
        }
    }
    if (st == BN_OK)
        st = bn_gguf_writer_write(w, out_path);
    for (int i = 0; i < cc.n_jobs; i++)
        free(cc.jobs[i].cache);
    free(cc.jobs);
    bn_st_close(cc.st);
    bn_gguf_writer_free(w);
    return st;
}
