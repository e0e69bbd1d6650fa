/* Hugging Face import of SentencePiece-style tokenizers (Llama 2 and the
 * 1bitLLM BitNet models: a BPE model with byte_fallback, no byte-level
 * alphabet). tokenizer.json carries no scores, so the pieces, scores and
 * types come from the tokenizer.model shipped beside it; tokens added on
 * top (ids past the pieces, e.g. <pad>) come from tokenizer.json. */
#include <stdlib.h>
#include <string.h>

#include "tok_hf.h"

bn_status bn_hf_collect_spm(hf *h, const char *model_path, const cJSON *added) {
    bn_status st = bn_spm_model_read(model_path, &h->spm);
    if (st != BN_OK)
        return st;
    int64_t max_id = (int64_t)h->spm.n - 1;
    const cJSON *e;
    cJSON_ArrayForEach(e, added) {
        const cJSON *id = cJSON_GetObjectItem(e, "id");
        if (!cJSON_IsNumber(id) || id->valuedouble < 0 || id->valuedouble > INT32_MAX / 2 ||
            !bn_hf_str(cJSON_GetObjectItem(e, "content")))
            return bn_fail(BN_ERR_FORMAT, "tokenizer import: bad entry in added_tokens");
        if (id->valueint > max_id)
            max_id = id->valueint;
    }
    if (max_id >= INT32_MAX / 2)
        return bn_fail(BN_ERR_FORMAT, "tokenizer import: too many tokens");
    if (!bn_hf_ids_plausible(max_id, h->spm.n + (size_t)cJSON_GetArraySize(added)))
        return BN_ERR_FORMAT;
    h->n = (uint32_t)max_id + 1;
    h->tokens = calloc(h->n, sizeof *h->tokens);
    h->types = calloc(h->n, sizeof *h->types);
    h->scores = calloc(h->n, sizeof *h->scores);
    if (!h->tokens || !h->types || !h->scores)
        return bn_fail(BN_ERR_NOMEM, "tokenizer import: out of memory");
    for (size_t i = 0; i < h->spm.n; i++) {
        h->tokens[i] = h->spm.pieces[i];
        h->scores[i] = h->spm.scores[i];
        h->types[i] = h->spm.types[i];
    }
    /* Tokens added past the model's pieces; those inside it keep the
     * model's types (<unk>, <s>, </s> are typed there already). */
    cJSON_ArrayForEach(e, added) {
        int id = cJSON_GetObjectItem(e, "id")->valueint;
        if ((size_t)id < h->spm.n)
            continue;
        const char *content = bn_hf_str(cJSON_GetObjectItem(e, "content"));
        h->tokens[id] = (bn_gguf_str){content, strlen(content)};
        h->types[id] = cJSON_IsTrue(cJSON_GetObjectItem(e, "special")) ? BN_TOKEN_CONTROL
                                                                       : BN_TOKEN_USER_DEFINED;
    }
    return bn_hf_fill_holes(h);
}
