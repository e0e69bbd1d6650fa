/* Import of a Hugging Face tokenizer (tokenizer.json + tokenizer_config.json)
 * into the GGUF tokenizer keys and/or a vocab.
 *
 * Supported: a BPE model with a byte-level pre-tokenizer - either a Split
 * with Llama 3's regex followed by ByteLevel(use_regex=false) ("llama-bpe"),
 * or ByteLevel(use_regex=true) alone, i.e. GPT-2 ("gpt-2") - and a BPE
 * model with byte_fallback, i.e. SentencePiece-style (tok_hf_spm.c). Anything
 * else is refused with a message naming what was found. Token types: the
 * model's vocab is normal, added tokens are control (special) or
 * user-defined (not special); ids nobody uses become unused "[PAD<id>]".
 * Added tokens' lstrip/rstrip/single_word flags are not carried (the GGUF
 * keys have no place for them; Llama 3's are all false). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tok_hf.h"

static const char *const llama3_regex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
static const char *const gpt2_regex =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";


static bn_status read_json(const char *path, int required, cJSON **out) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return required ? bn_fail(BN_ERR_NOT_FOUND, "tokenizer import: cannot open %s", path) : BN_OK;
    char *buf = NULL;
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0)
        buf = malloc((size_t)size + 1);
    size_t got = buf ? fread(buf, 1, (size_t)size, f) : 0;
    fclose(f);
    if (!buf || got != (size_t)size) {
        free(buf);
        return bn_fail(BN_ERR_IO, "tokenizer import: cannot read %s", path);
    }
    buf[size] = 0;
    *out = cJSON_ParseWithLength(buf, (size_t)size);
    free(buf);
    if (!*out)
        return bn_fail(BN_ERR_FORMAT, "tokenizer import: %s is not valid JSON", path);
    return BN_OK;
}

const char *bn_hf_str(const cJSON *j) {
    if (cJSON_IsString(j))
        return j->valuestring;
    if (cJSON_IsObject(j)) /* {"content": "<s>", ...} in older configs */
        return cJSON_IsString(cJSON_GetObjectItem(j, "content"))
                   ? cJSON_GetObjectItem(j, "content")->valuestring
                   : NULL;
    return NULL;
}

/* Pre-tokenizer name from the "pre_tokenizer" object. */
static bn_status detect_pre(hf *h) {
    const cJSON *pt = cJSON_GetObjectItem(h->tok, "pre_tokenizer");
    const cJSON *list = NULL;
    const char *type = pt ? bn_hf_str(cJSON_GetObjectItem(pt, "type")) : NULL;
    if (type && strcmp(type, "Sequence") == 0)
        list = cJSON_GetObjectItem(pt, "pretokenizers");
    const char *regex = NULL;
    int bytelevel = 0, bytelevel_regex = 0;
    const cJSON *item = list ? list->child : pt;
    for (; item; item = list ? item->next : NULL) {
        const char *t = bn_hf_str(cJSON_GetObjectItem(item, "type"));
        if (t && strcmp(t, "Split") == 0) {
            const cJSON *p = cJSON_GetObjectItem(item, "pattern");
            regex = p ? bn_hf_str(cJSON_GetObjectItem(p, "Regex")) : NULL;
            if (!regex)
                return bn_fail(BN_ERR_UNSUPPORTED, "tokenizer import: Split without a Regex");
        } else if (t && strcmp(t, "ByteLevel") == 0) {
            bytelevel = 1;
            bytelevel_regex = !cJSON_IsFalse(cJSON_GetObjectItem(item, "use_regex"));
            if (cJSON_IsTrue(cJSON_GetObjectItem(item, "add_prefix_space")))
                return bn_fail(BN_ERR_UNSUPPORTED,
                               "tokenizer import: ByteLevel with add_prefix_space is not supported");
        } else {
            return bn_fail(BN_ERR_UNSUPPORTED, "tokenizer import: pre-tokenizer '%s' is not supported",
                           t ? t : "?");
        }
        if (!list)
            break;
    }
    const cJSON *norm = cJSON_GetObjectItem(h->tok, "normalizer");
    if (norm && !cJSON_IsNull(norm))
        return bn_fail(BN_ERR_UNSUPPORTED, "tokenizer import: normalizer '%s' is not supported",
                       bn_hf_str(cJSON_GetObjectItem(norm, "type")) ? bn_hf_str(cJSON_GetObjectItem(norm, "type")) : "?");
    if (!bytelevel)
        return bn_fail(BN_ERR_UNSUPPORTED,
                       "tokenizer import: only byte-level BPE is supported (no ByteLevel pre-tokenizer)");
    if (regex && !bytelevel_regex && strcmp(regex, llama3_regex) == 0)
        h->pre = "llama-bpe";
    else if ((!regex && bytelevel_regex) || (regex && !bytelevel_regex && !strcmp(regex, gpt2_regex)))
        h->pre = "gpt-2";
    else
        return bn_fail(BN_ERR_UNSUPPORTED, "tokenizer import: unrecognised pre-tokenizer regex '%s'",
                       regex ? regex : "(ByteLevel + Split)");
    return BN_OK;
}

static bn_status collect_tokens(hf *h, const cJSON *vocab, const cJSON *added) {
    int64_t max_id = -1;
    const cJSON *e;
    cJSON_ArrayForEach(e, vocab) {
        if (!cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble > INT32_MAX / 2)
            return bn_fail(BN_ERR_FORMAT, "tokenizer import: bad id for token '%s'", e->string);
        if (e->valueint > max_id)
            max_id = e->valueint;
    }
    cJSON_ArrayForEach(e, added) {
        const cJSON *id = cJSON_GetObjectItem(e, "id");
        if (!cJSON_IsNumber(id) || id->valuedouble < 0 || id->valuedouble > INT32_MAX / 2 ||
            !bn_hf_str(cJSON_GetObjectItem(e, "content")))
            return bn_fail(BN_ERR_FORMAT, "tokenizer import: bad entry in added_tokens");
        if (id->valueint > max_id)
            max_id = id->valueint;
    }
    if (max_id < 0)
        return bn_fail(BN_ERR_FORMAT, "tokenizer import: empty vocab");
    if (!bn_hf_ids_plausible(max_id, (size_t)cJSON_GetArraySize(vocab) + (size_t)cJSON_GetArraySize(added)))
        return BN_ERR_FORMAT;
    h->n = (uint32_t)max_id + 1;
    h->tokens = calloc(h->n, sizeof *h->tokens);
    h->types = calloc(h->n, sizeof *h->types);
    if (!h->tokens || !h->types)
        return bn_fail(BN_ERR_NOMEM, "tokenizer import: out of memory");
    cJSON_ArrayForEach(e, vocab) {
        h->tokens[e->valueint] = (bn_gguf_str){e->string, strlen(e->string)};
        h->types[e->valueint] = BN_TOKEN_NORMAL;
    }
    cJSON_ArrayForEach(e, added) {
        int id = cJSON_GetObjectItem(e, "id")->valueint;
        const char *content = bn_hf_str(cJSON_GetObjectItem(e, "content"));
        h->tokens[id] = (bn_gguf_str){content, strlen(content)};
        h->types[id] = cJSON_IsTrue(cJSON_GetObjectItem(e, "special")) ? BN_TOKEN_CONTROL
                                                                       : BN_TOKEN_USER_DEFINED;
    }
    return bn_hf_fill_holes(h);
}

int bn_hf_ids_plausible(int64_t max_id, size_t n_listed) {
    /* Ids nobody lists become "[PAD<id>]" tokens; a few tiny entries with
     * ids near INT32_MAX / 2 would otherwise cost tens of GB. */
    if (max_id < 2 * (int64_t)n_listed + 65536)
        return 1;
    bn_fail(BN_ERR_FORMAT, "tokenizer import: ids up to %lld for only %zu listed tokens", (long long)max_id, n_listed);
    return 0;
}

bn_status bn_hf_fill_holes(hf *h) {
    size_t holes = 0;
    for (uint32_t i = 0; i < h->n; i++)
        holes += !h->tokens[i].ptr;
    if (holes) {
        h->holes = malloc(holes * 24);
        if (!h->holes)
            return bn_fail(BN_ERR_NOMEM, "tokenizer import: out of memory");
        char *p = h->holes;
        for (uint32_t i = 0; i < h->n; i++) {
            if (h->tokens[i].ptr)
                continue;
            int k = snprintf(p, 24, "[PAD%u]", i);
            h->tokens[i] = (bn_gguf_str){p, (uint64_t)k};
            h->types[i] = BN_TOKEN_UNUSED;
            p += k + 1;
        }
    }
    return BN_OK;
}

static bn_status collect_merges(hf *h, const cJSON *merges) {
    int n = cJSON_GetArraySize(merges);
    h->merges = calloc(n ? (size_t)n : 1, sizeof *h->merges);
    if (!h->merges)
        return bn_fail(BN_ERR_NOMEM, "tokenizer import: out of memory");
    size_t pair_bytes = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, merges) {
        if (cJSON_IsArray(m) && cJSON_GetArraySize(m) == 2 && bn_hf_str(m->child) &&
            bn_hf_str(m->child->next)) /* a side may be {"content": ...}: no valuestring */
            pair_bytes += strlen(bn_hf_str(m->child)) + strlen(bn_hf_str(m->child->next)) + 2;
    }
    if (pair_bytes && !(h->merge_buf = malloc(pair_bytes)))
        return bn_fail(BN_ERR_NOMEM, "tokenizer import: out of memory");
    char *p = h->merge_buf;
    cJSON_ArrayForEach(m, merges) {
        if (cJSON_IsString(m)) {
            h->merges[h->n_merges++] = (bn_gguf_str){m->valuestring, strlen(m->valuestring)};
        } else if (cJSON_IsArray(m) && cJSON_GetArraySize(m) == 2 && bn_hf_str(m->child) &&
                   bn_hf_str(m->child->next)) {
            int k = sprintf(p, "%s %s", bn_hf_str(m->child), bn_hf_str(m->child->next));
            h->merges[h->n_merges++] = (bn_gguf_str){p, (uint64_t)k};
            p += k + 1;
        } else {
            return bn_fail(BN_ERR_FORMAT, "tokenizer import: merge %u is neither \"a b\" nor [a, b]",
                           h->n_merges);
        }
    }
    return BN_OK;
}

int32_t bn_hf_id_of(const hf *h, const char *text) {
    if (!text)
        return -1;
    size_t len = strlen(text);
    for (uint32_t i = 0; i < h->n; i++) /* once per special: a scan is fine */
        if (h->tokens[i].len == len && memcmp(h->tokens[i].ptr, text, len) == 0)
            return (int32_t)i;
    return -1;
}

static int cfg_bool(const hf *h, const char *key) {
    const cJSON *j = h->cfg ? cJSON_GetObjectItem(h->cfg, key) : NULL;
    return cJSON_IsBool(j) ? cJSON_IsTrue(j) : -1;
}

/* Does the post-processor put a BOS in front of a single sequence? */
static int post_adds_bos(const hf *h, int32_t bos) {
    const cJSON *pp = cJSON_GetObjectItem(h->tok, "post_processor");
    const char *type = pp ? bn_hf_str(cJSON_GetObjectItem(pp, "type")) : NULL;
    if (!type || bos < 0)
        return -1;
    const cJSON *single = NULL, *list = NULL;
    if (strcmp(type, "TemplateProcessing") == 0)
        single = cJSON_GetObjectItem(pp, "single");
    else if (strcmp(type, "Sequence") == 0 && (list = cJSON_GetObjectItem(pp, "processors")))
        for (const cJSON *p = list->child; p && !single; p = p->next)
            single = cJSON_GetObjectItem(p, "single");
    if (!single)
        return -1;
    const cJSON *first = cJSON_GetArrayItem(single, 0);
    const cJSON *sp = first ? cJSON_GetObjectItem(first, "SpecialToken") : NULL;
    const char *id = sp ? bn_hf_str(cJSON_GetObjectItem(sp, "id")) : NULL;
    return id && bn_hf_id_of(h, id) == bos;
}

static void fill_spec(hf *h) {
    bn_vocab_spec *s = &h->spec;
    bn_vocab_spec_init(s);
    int spm = h->spm.n > 0;
    s->model = spm ? "llama" : "gpt2";
    s->pre = h->pre;
    s->scores = h->scores;
    s->n_tokens = h->n;
    s->tokens = h->tokens;
    s->token_types = h->types;
    s->n_merges = h->n_merges;
    s->merges = h->merges;
    const cJSON *c = h->cfg;
    s->bos_id = c ? bn_hf_id_of(h, bn_hf_str(cJSON_GetObjectItem(c, "bos_token"))) : -1;
    s->eos_id = c ? bn_hf_id_of(h, bn_hf_str(cJSON_GetObjectItem(c, "eos_token"))) : -1;
    s->pad_id = c ? bn_hf_id_of(h, bn_hf_str(cJSON_GetObjectItem(c, "pad_token"))) : -1;
    s->unk_id = bn_hf_id_of(h, bn_hf_str(cJSON_GetObjectItem(cJSON_GetObjectItem(h->tok, "model"), "unk_token")));
    for (uint32_t i = 0; spm && s->unk_id < 0 && i < h->n; i++)
        if (h->types[i] == BN_TOKEN_UNKNOWN)
            s->unk_id = (int32_t)i;
    if (spm && s->bos_id < 0)
        s->bos_id = bn_hf_id_of(h, "<s>");
    if (spm && s->eos_id < 0)
        s->eos_id = bn_hf_id_of(h, "</s>");
    s->eot_id = bn_hf_id_of(h, "<|eot_id|>");
    s->add_bos = cfg_bool(h, "add_bos_token");
    if (s->add_bos < 0)
        s->add_bos = post_adds_bos(h, s->bos_id);
    if (s->add_bos < 0) /* Llama models are trained with a BOS in front */
        s->add_bos = s->bos_id >= 0 && (spm || strcmp(h->pre, "llama-bpe") == 0);
    s->add_eos = cfg_bool(h, "add_eos_token");
    if (s->add_eos < 0)
        s->add_eos = 0;
    s->add_space_prefix = spm ? h->spm.add_dummy_prefix : 0;
    const cJSON *tmpl = c ? cJSON_GetObjectItem(c, "chat_template") : NULL;
    if (cJSON_IsArray(tmpl)) { /* [{"name": "default", "template": ...}, ...] */
        const cJSON *t, *pick = NULL;
        cJSON_ArrayForEach(t, tmpl) {
            const char *name = bn_hf_str(cJSON_GetObjectItem(t, "name"));
            if (!pick || (name && strcmp(name, "default") == 0))
                pick = t;
        }
        tmpl = pick ? cJSON_GetObjectItem(pick, "template") : NULL;
    }
    s->chat_template = bn_hf_str(tmpl);
}

static bn_status write_keys(const hf *h, bn_gguf_writer *w) {
    const bn_vocab_spec *s = &h->spec;
    bn_status st = bn_gguf_writer_set_str(w, "tokenizer.ggml.model", s->model);
    if (st == BN_OK)
        st = bn_gguf_writer_set_str(w, "tokenizer.ggml.pre", s->pre);
    if (st == BN_OK)
        st = bn_gguf_writer_set_strn_array(w, "tokenizer.ggml.tokens", s->tokens, s->n_tokens);
    if (st == BN_OK)
        st = bn_gguf_writer_set_array(w, "tokenizer.ggml.token_type", BN_GGUF_I32, s->token_types,
                                      s->n_tokens);
    if (st == BN_OK && s->scores)
        st = bn_gguf_writer_set_array(w, "tokenizer.ggml.scores", BN_GGUF_F32, s->scores, s->n_tokens);
    if (st == BN_OK && s->n_merges)
        st = bn_gguf_writer_set_strn_array(w, "tokenizer.ggml.merges", s->merges, s->n_merges);
    const struct { const char *key; int32_t id; } ids[] = {
        {"tokenizer.ggml.bos_token_id", s->bos_id},     {"tokenizer.ggml.eos_token_id", s->eos_id},
        {"tokenizer.ggml.eot_token_id", s->eot_id},     {"tokenizer.ggml.unknown_token_id", s->unk_id},
        {"tokenizer.ggml.padding_token_id", s->pad_id},
    };
    for (size_t i = 0; i < sizeof ids / sizeof *ids && st == BN_OK; i++)
        if (ids[i].id >= 0)
            st = bn_gguf_writer_set_u32(w, ids[i].key, (uint32_t)ids[i].id);
    if (st == BN_OK)
        st = bn_gguf_writer_set_bool(w, "tokenizer.ggml.add_bos_token", s->add_bos);
    if (st == BN_OK)
        st = bn_gguf_writer_set_bool(w, "tokenizer.ggml.add_eos_token", s->add_eos);
    if (st == BN_OK)
        st = bn_gguf_writer_set_bool(w, "tokenizer.ggml.add_space_prefix", s->add_space_prefix);
    if (st == BN_OK && s->chat_template)
        st = bn_gguf_writer_set_str(w, "tokenizer.chat_template", s->chat_template);
    return st;
}

static bn_status import(hf *h, const char *path, bn_gguf_writer *w, bn_vocab **vocab_out) {
    char json_path[4096], cfg_path[4096];
    struct stat sb;
    if (stat(path, &sb) != 0)
        return bn_fail(BN_ERR_NOT_FOUND, "tokenizer import: %s does not exist", path);
    if (S_ISDIR(sb.st_mode)) {
        snprintf(json_path, sizeof json_path, "%s/tokenizer.json", path);
        snprintf(cfg_path, sizeof cfg_path, "%s/tokenizer_config.json", path);
    } else {
        snprintf(json_path, sizeof json_path, "%s", path);
        const char *slash = strrchr(path, '/');
        int dir_len = slash ? (int)(slash - path) : 1;
        snprintf(cfg_path, sizeof cfg_path, "%.*s/tokenizer_config.json", dir_len, slash ? path : ".");
    }
    bn_status st = read_json(json_path, 1, &h->tok);
    if (st == BN_OK)
        st = read_json(cfg_path, 0, &h->cfg);
    if (st != BN_OK)
        return st;
    const cJSON *model = cJSON_GetObjectItem(h->tok, "model");
    const char *type = model ? bn_hf_str(cJSON_GetObjectItem(model, "type")) : NULL;
    if (!type || strcmp(type, "BPE") != 0)
        return bn_fail(BN_ERR_UNSUPPORTED, "tokenizer import: model type '%s' is not supported (BPE)",
                       type ? type : "?");
    const cJSON *vocab = cJSON_GetObjectItem(model, "vocab");
    const cJSON *merges = cJSON_GetObjectItem(model, "merges");
    if (!cJSON_IsObject(vocab) || !cJSON_IsArray(merges))
        return bn_fail(BN_ERR_FORMAT, "tokenizer import: model has no vocab/merges");
    const cJSON *added = cJSON_GetObjectItem(h->tok, "added_tokens");
    if (cJSON_IsTrue(cJSON_GetObjectItem(model, "byte_fallback"))) {
        /* SentencePiece-style: scores live in tokenizer.model. */
        char model_path[4096];
        snprintf(model_path, sizeof model_path, "%.*s/tokenizer.model",
                 (int)(strlen(cfg_path) - strlen("/tokenizer_config.json")), cfg_path);
        if ((st = bn_hf_collect_spm(h, model_path, added)) != BN_OK)
            return st;
        h->pre = "default";
    } else {
        if ((st = detect_pre(h)) != BN_OK)
            return st;
        if ((st = collect_tokens(h, vocab, added)) != BN_OK)
            return st;
        if ((st = collect_merges(h, merges)) != BN_OK)
            return st;
    }
    fill_spec(h);
    if (w && (st = write_keys(h, w)) != BN_OK)
        return st;
    return vocab_out ? bn_vocab_create(&h->spec, vocab_out) : BN_OK;
}

bn_status bn_tokenizer_import_hf(const char *path, bn_gguf_writer *w, bn_vocab **vocab_out) {
    if (vocab_out)
        *vocab_out = NULL;
    hf h;
    memset(&h, 0, sizeof h);
    bn_status st = import(&h, path, w, vocab_out);
    cJSON_Delete(h.tok);
    cJSON_Delete(h.cfg);
    free(h.tokens);
    free(h.types);
    free(h.holes);
    free(h.merges);
    free(h.merge_buf);
    free(h.scores);
    bn_spm_model_free(&h.spm);
    return st;
}
