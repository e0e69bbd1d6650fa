import math

import pytest

import bitnet
from bitnet import BitnetError


def test_bad_model_path_raises_bitnet_error(tmp_path):
    missing = str(tmp_path / "nope.gguf")
    with pytest.raises(BitnetError) as e:
        bitnet.Bitnet(missing, n_threads=1)
    assert missing in str(e.value) and e.value.status < 0 and e.value.message
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"this is not a GGUF file at all" * 10)
    with pytest.raises(BitnetError) as e:
        bitnet.Bitnet(str(junk), n_threads=1)
    assert str(junk) in str(e.value) and e.value.message


def test_unknown_backend_raises(model_path):
    with pytest.raises(BitnetError) as e:
        bitnet.Bitnet(model_path, backend="no-such-plugin")
    assert e.value.message


@pytest.mark.parametrize("kw", [
    dict(max_tokens=-1), dict(max_tokens=1.5), dict(temperature=math.nan), dict(temperature=math.inf),
    dict(top_p=0), dict(top_p=1.5), dict(top_k=-1), dict(min_p=2), dict(repeat_penalty=0),
    dict(repeat_last_n=-1), dict(seed=-1), dict(seed=2**64), dict(stop=""), dict(stop=["ok", 3]),
    dict(temperature="hot"),
])
def test_bad_completion_arguments(llm, kw):
    with pytest.raises(ValueError):
        llm("In the beginning", **kw)
    with pytest.raises(ValueError):  # raised at the call, not on first iteration
        llm("In the beginning", stream=True, **kw)


def test_bad_prompts(llm):
    with pytest.raises(ValueError, match="empty"):
        llm([])
    with pytest.raises(ValueError):
        llm([0, llm.n_vocab()])
    with pytest.raises(ValueError):
        llm(42)


@pytest.mark.parametrize("kw", [dict(n_ctx=-1), dict(n_threads=0), dict(n_batch=0), dict(kernel="fast"),
                                dict(seed=-5), dict(kv_type="q4_0"), dict(kv_type=8)])
def test_bad_constructor_arguments(model_path, kw):
    with pytest.raises(ValueError):
        bitnet.Bitnet(model_path, **kw)


def test_closed_and_superseded(model_path):
    m = bitnet.Bitnet(model_path, n_threads=1)
    s1 = m("In the beginning", max_tokens=20, temperature=0, stream=True)
    next(s1)
    next(s1)
    m("And God said", max_tokens=2)  # takes over the one session
    with pytest.raises(RuntimeError):
        list(s1)
    s2 = m("In the beginning", max_tokens=20, temperature=0, stream=True)
    next(s2)
    m.close()
    m.close()  # idempotent
    with pytest.raises(RuntimeError):
        list(s2)
    with pytest.raises(RuntimeError):
        m("again")
    with pytest.raises(RuntimeError):
        m.tokenize("again")


def test_context_manager_closes(model_path):
    with bitnet.Bitnet(model_path, n_threads=1) as m:
        assert m.tokenize("a")
    with pytest.raises(RuntimeError):
        m.tokenize("a")
