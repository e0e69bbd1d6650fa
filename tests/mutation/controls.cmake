# The control table: each entry is one small mistake and the test that must
# catch it (see CMakeLists.txt for how they run).
find_package(Python3 COMPONENTS Interpreter)
if(NOT Python3_EXECUTABLE)
  set(Python3_EXECUTABLE python3)
endif()
set(fx ${PROJECT_SOURCE_DIR}/tests/fixtures/tokenizers)
set(trained ${PROJECT_SOURCE_DIR}/tests/trained)
set(out ${CMAKE_CURRENT_BINARY_DIR})

# Re-quantisation: the decoded weights 1% too large before re-encoding.
bn_control(NAME requant-scale-1pct FILE core/src/convert/requant.c
  FROM [[.size = t->size, .scale = scale}]] TO [[.size = t->size, .scale = scale * 1.01f}]]
  EXPECT "Failures: [1-9]"
  COMMAND $<TARGET_FILE:test_requant>)

# BPE: of two merges of equal rank, the rightmost first (HF: leftmost).
bn_control(NAME tok-bpe-rightmost FILE core/src/tokenizer/tok_bpe.c
  FROM [[a->rank == b->rank && a->pos < b->pos]] TO [[a->rank == b->rank && a->pos > b->pos]]
  EXPECT "ids differ"
  COMMAND sh ${PROJECT_SOURCE_DIR}/tests/tokenizer/run_parity.sh ${Python3_EXECUTABLE}
    ${PROJECT_SOURCE_DIR}/tests/tokenizer/gen_parity.py $<TARGET_FILE:test-tok-parity> ${fx}/llama3-bpe
    ${out}/tok-bpe-rightmost/parity)

# SentencePiece: of two merges of equal score, the rightmost first.
bn_control(NAME tok-spm-rightmost FILE core/src/tokenizer/tok_spm.c
  FROM [[a->score == b->score && a->pos < b->pos]] TO [[a->score == b->score && a->pos > b->pos]]
  EXPECT "Failures: [1-9]"
  COMMAND $<TARGET_FILE:test-tok-fixtures> fixture_llama2_spm)

# Detokenizer: a broken run of SentencePiece byte tokens gives one U+FFFD
# too few (HF's ByteFallback: one per byte).
bn_control(NAME tok-decode-fffd-count FILE core/src/tokenizer/tok_decode.c
  FROM [[d->started = 1@SEMI@
    for (size_t i = 0@SEMI@ i < n@SEMI@ i++)]] TO [[d->started = 1@SEMI@
    for (size_t i = 1@SEMI@ i < n@SEMI@ i++)]]
  EXPECT "differ"
  COMMAND sh ${PROJECT_SOURCE_DIR}/tests/tokenizer/run_decode_parity.sh ${Python3_EXECUTABLE}
    ${PROJECT_SOURCE_DIR}/tests/tokenizer/gen_decode_parity.py $<TARGET_FILE:test-tok-decode-parity>
    spm ${fx}/llama2-spm/vocab.gguf ${out}/tok-decode-fffd-count/decode-parity)

# Sampler: top-p keeps 1% less probability mass than asked.
bn_control(NAME sampler-top-p-1pct FILE core/src/sample/sampler.c
  FROM [[bn_top_mass_select(c, n, (double)par->top_p * z)]] TO [[bn_top_mass_select(c, n, (double)par->top_p * 0.99 * z)]]
  EXPECT "Failures: [1-9]"
  COMMAND $<TARGET_FILE:test_sampler> sampler_default_chain)

# Perplexity: each token scored by the logits at its own position, not the
# previous one.
bn_control(NAME ppl-off-by-one FILE host/cmd_perplexity.c
  FROM [[logits + (size_t)(pos - 1) * (size_t)nv]] TO [[logits + (size_t)pos * (size_t)nv]]
  EXPECT "relative difference"
  COMMAND sh ${trained}/check_perplexity.sh @BITNET@ ${PROJECT_SOURCE_DIR}/models/default.gguf
    ${trained}/valid.txt ${trained}/reference.json 8)

# CLI: an integer flag with trailing junk ("4x") accepted.
bn_control(NAME cli-int-trailing FILE host/cli_common.c
  FROM [[end == v || *end || x < lo]] TO [[end == v || x < lo]]
  EXPECT "FAIL: trailing junk"
  COMMAND sh ${PROJECT_SOURCE_DIR}/tests/loader/check_cli.sh @BITNET@ ${CMAKE_BINARY_DIR}/tests/loader-plugins)

# CLI: `run -n 8` stops one token early.
bn_control(NAME cli-n-predict FILE host/generate.c
  FROM [[n + 1 >= n_predict]] TO [[n + 2 >= n_predict]]
  EXPECT "generated 8 tokens"
  COMMAND sh ${PROJECT_SOURCE_DIR}/tests/model/check_cli_model.sh @BITNET@ ${CMAKE_BINARY_DIR}/tests/model/tiny-random.gguf)
set_tests_properties(mutation_control_cli-n-predict PROPERTIES FIXTURES_REQUIRED tiny_model)

# Perplexity: every log-likelihood 1% too large (3.5% on the perplexity of
# the bundled model; the check allows 1%).
bn_control(NAME ppl-nll-1pct FILE host/cmd_perplexity.c
  FROM [[nll -= lp@SEMI@]] TO [[nll -= lp * 1.01@SEMI@]]
  EXPECT "relative difference"
  COMMAND sh ${trained}/check_perplexity.sh @BITNET@ ${PROJECT_SOURCE_DIR}/models/default.gguf
    ${trained}/valid.txt ${trained}/reference.json 8)

# Batches: K and V of a row stored in the other page of its pair (0<->1,
# 2<->3, ...) while attention reads the page table as it is - two pages of
# a sequence swapped. Decoding together must then differ from alone.
bn_control(NAME batch-page-swap FILE core/src/model/forward.c
  FROM [=[r->pt[(int64_t)r->seq_idx[r0] * r->max_pages + pos / p->page_tokens]]=]
  TO [=[r->pt[(int64_t)r->seq_idx[r0] * r->max_pages + (pos / p->page_tokens ^ (pos / p->page_tokens + 1 < r->max_pages))]]=]
  EXPECT "together differs from alone"
  COMMAND $<TARGET_FILE:test_batch> equivalence)
set_tests_properties(mutation_control_batch-page-swap PROPERTIES FIXTURES_REQUIRED batch_model)
