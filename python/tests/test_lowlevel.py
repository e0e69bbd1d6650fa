"""The ctypes layer on its own: the host call sequence of host/model_setup.c."""
import ctypes

import pytest

import bitnet
from bitnet import _lib as L


@pytest.fixture(scope="module")
def stack(model_path):
    """settings -> engine -> model -> vocab -> session, freed in reverse."""
    cli = L.bn_cli_overrides()
    L.bn_cli_overrides_init(ctypes.byref(cli))
    cli.threads = 2
    s = L.bn_settings()
    L.check(L.bn_settings_resolve(ctypes.byref(cli), ctypes.byref(s)))
    eng, model, vocab, sess = (ctypes.c_void_p() for _ in range(4))
    L.check(L.bn_engine_create(ctypes.byref(s), ctypes.byref(eng)))
    opts = L.bn_model_opts()
    L.bn_model_opts_init(ctypes.byref(opts))
    L.check(L.bn_model_load(eng, model_path.encode(), ctypes.byref(opts), ctypes.byref(model)))
    L.check(L.bn_vocab_load_gguf(L.bn_model_gguf(model), ctypes.byref(vocab)))
    L.check(L.bn_session_create(model, ctypes.byref(sess)))
    yield eng, model, vocab, sess
    L.bn_session_free(sess)
    L.bn_vocab_free(vocab)
    L.bn_model_free(model)
    L.bn_engine_free(eng)
    L.bn_settings_free(ctypes.byref(s))


def test_version_matches_package():
    assert bitnet.__version__ == L.version() == "0.1.0"


def test_bundled_model_facts(stack):
    eng, model, vocab, sess = stack
    hp = L.bn_model_hparams(model).contents
    # models/MODEL_CARD.md: bitnet-b1.58, 4 layers, embd 256, vocab 4096, context 256
    assert (hp.arch_name, hp.n_layer, hp.n_embd, hp.n_vocab, hp.n_ctx_train) == (
        b"bitnet-b1.58", 4, 256, 4096, 256)
    assert L.bn_session_n_ctx(sess) == 256 and L.bn_session_pos(sess) == 0
    assert L.bn_vocab_bos(vocab) == 0 and L.bn_vocab_eos(vocab) == 1
    assert L.bn_vocab_is_eog(vocab, 1) and not L.bn_vocab_is_eog(vocab, 2)
    assert L.bn_engine_threads(eng) == 2
    reports = [L.bn_engine_plugin(eng, i).contents for i in range(L.bn_engine_plugin_count(eng))]
    chosen = [r.name.decode() for r in reports if r.chosen]
    assert chosen == [L.bn_model_backend_name(model).decode()]


def test_greedy_sample_is_logit_argmax(stack):
    _, model, vocab, sess = stack
    n_vocab = L.bn_model_hparams(model).contents.n_vocab
    ids = [0, 2552, 349, 426]
    logits = (ctypes.c_float * n_vocab)()
    L.bn_session_reset(sess)
    L.check(L.bn_session_eval(sess, L.int32_array(ids), len(ids), logits, 0))
    assert L.bn_session_pos(sess) == len(ids)
    sp = L.bn_sampler_params()
    L.bn_sampler_params_init(ctypes.byref(sp))
    sp.temperature = 0
    smp = ctypes.c_void_p()
    L.check(L.bn_sampler_create(ctypes.byref(sp), n_vocab, ctypes.byref(smp)))
    tok = ctypes.c_int32()
    L.check(L.bn_sampler_sample(smp, logits, ctypes.byref(tok)))
    L.bn_sampler_free(smp)
    values = list(logits)
    assert tok.value == values.index(max(values))  # lowest id among equal maxima


def test_eval_out_of_range_token_fails_cleanly(stack):
    _, _, _, sess = stack
    L.bn_session_reset(sess)
    with pytest.raises(L.BitnetError) as e:
        L.check(L.bn_session_eval(sess, L.int32_array([0, 99999]), 2, None, 0))
    assert e.value.status == L.BN_ERR_INVALID and e.value.message


def test_sampler_params_check_names_the_field():
    sp = L.bn_sampler_params()
    L.bn_sampler_params_init(ctypes.byref(sp))
    assert (round(sp.temperature, 6), sp.top_k, sp.repeat_last_n) == (0.8, 40, 64)
    assert L.bn_sampler_params_check(ctypes.byref(sp)) == L.BN_OK
    sp.top_p = 0
    assert L.bn_sampler_params_check(ctypes.byref(sp)) == L.BN_ERR_INVALID
    assert "top_p" in L.last_error()


def test_streaming_decoder_holds_back_partial_utf8(stack):
    """What the Python streams rely on: bn_detok emits whole characters only."""
    _, _, vocab, _ = stack
    text = "é😀".encode()
    toks = L.bn_tokens()
    L.check(L.bn_tokenize(vocab, text, len(text), 0, ctypes.byref(toks)))
    ids = L.tokens_list(toks)
    L.bn_tokens_free(ctypes.byref(toks))
    dt, out, pieces = L.bn_detok(), L.bn_text(), []
    L.bn_detok_init(ctypes.byref(dt), vocab, 0)
    for i in ids:
        out.len = 0
        L.check(L.bn_detok_push(ctypes.byref(dt), i, ctypes.byref(out)))
        pieces.append(L.text_bytes(out))
    out.len = 0
    L.check(L.bn_detok_flush(ctypes.byref(dt), ctypes.byref(out)))
    assert L.text_bytes(out) == b""
    L.bn_text_free(ctypes.byref(out))
    assert len(ids) > 2  # byte-level pieces: the characters span several tokens
    assert b"".join(pieces) == text
    for p in pieces:
        p.decode("utf-8")  # every piece is whole UTF-8 by itself


def test_missing_model_error_message(stack):
    eng = stack[0]
    model = ctypes.c_void_p()
    opts = L.bn_model_opts()
    L.bn_model_opts_init(ctypes.byref(opts))
    st = L.bn_model_load(eng, b"/nonexistent/model.gguf", ctypes.byref(opts), ctypes.byref(model))
    assert st != L.BN_OK and "/nonexistent/model.gguf" in L.last_error()
