import pytest

import bitnet

PROMPTS = ["In the beginning", "And Jesus said unto them,", "Blessed are the"]


def text_of(r):
    return r["choices"][0]["text"]


def test_shape(llm):
    r = llm("In the beginning", max_tokens=4, temperature=0)
    assert r["object"] == "text_completion" and r["id"].startswith("cmpl-")
    assert isinstance(r["created"], int) and r["model"] == llm.model_path
    (c,) = r["choices"]
    assert set(c) == {"text", "index", "logprobs", "finish_reason"}
    assert c["index"] == 0 and c["logprobs"] is None
    assert r["usage"] == {"prompt_tokens": len(llm.tokenize("In the beginning")),
                          "completion_tokens": 4, "total_tokens": len(llm.tokenize("In the beginning")) + 4}


@pytest.mark.parametrize("prompt", PROMPTS)
def test_greedy_matches_cli(llm, cli, model_path, prompt):
    r = llm.create_completion(prompt, max_tokens=40, temperature=0)
    out = cli("run", "-m", model_path, "-p", prompt, "-n", "40", "--temp", "0", "-t", "2")
    assert out == prompt + text_of(r)  # the CLI echoes the prompt first
    assert text_of(r) and r["choices"][0]["finish_reason"] == "length"
    assert text_of(llm(prompt, max_tokens=40, temperature=0)) == text_of(r)  # deterministic


def test_seeded_sampling_matches_cli(llm, cli, model_path):
    prompt = "And God said"
    r = llm(prompt, max_tokens=48, temperature=0.8, seed=42)
    out = cli("run", "-m", model_path, "-p", prompt, "-n", "48", "--temp", "0.8", "--seed", "42", "-t", "2")
    assert out == prompt + text_of(r)
    assert text_of(llm(prompt, max_tokens=48, temperature=0.8, seed=42)) == text_of(r)
    assert text_of(llm(prompt, max_tokens=48, temperature=0.8, seed=43)) != text_of(r)


def test_penalties_match_cli(llm, cli, model_path):
    prompt = "The LORD is my shepherd;"
    r = llm(prompt, max_tokens=40, temperature=0, repeat_penalty=1.3, repeat_last_n=32,
            frequency_penalty=0.2, presence_penalty=0.1)
    out = cli("run", "-m", model_path, "-p", prompt, "-n", "40", "--temp", "0", "-t", "2",
              "--repeat-penalty", "1.3", "--repeat-last-n", "32", "--frequency-penalty", "0.2",
              "--presence-penalty", "0.1")
    assert out == prompt + text_of(r)
    assert text_of(r) != text_of(llm(prompt, max_tokens=40, temperature=0))


def test_instance_seed_is_the_default(model_path):
    with bitnet.Bitnet(model_path, n_threads=2, seed=7) as m:
        a = text_of(m("And God said", max_tokens=24))
        assert a == text_of(m("And God said", max_tokens=24, seed=7))


@pytest.mark.parametrize("prompt", PROMPTS[:2])
def test_stream_concatenates_to_full_text(llm, prompt):
    for kw in (dict(temperature=0), dict(temperature=0.9, seed=5)):
        full = llm(prompt, max_tokens=30, **kw)
        chunks = list(llm(prompt, max_tokens=30, stream=True, **kw))
        assert "".join(text_of(c) for c in chunks) == text_of(full)
        assert all(c["object"] == "text_completion" and c["id"] == chunks[0]["id"] for c in chunks)
        assert [c["choices"][0]["finish_reason"] for c in chunks[:-1]] == [None] * (len(chunks) - 1)
        assert chunks[-1]["choices"][0]["finish_reason"] == full["choices"][0]["finish_reason"]
        assert len(chunks) > 5  # streamed token by token, not in one piece


def test_length_and_zero_tokens(llm):
    for n in (1, 7):
        r = llm("In the beginning", max_tokens=n, temperature=0)
        assert r["choices"][0]["finish_reason"] == "length" and r["usage"]["completion_tokens"] == n
    r = llm("In the beginning", max_tokens=0)
    assert text_of(r) == "" and r["choices"][0]["finish_reason"] == "length"
    assert r["usage"]["completion_tokens"] == 0


def test_runs_to_a_full_context_like_the_cli(cli, model_path):
    prompt = "In the beginning"
    with bitnet.Bitnet(model_path, n_ctx=32, n_threads=2) as m:
        assert m.n_ctx() == 32
        r = m(prompt, max_tokens=None, temperature=0)
        n_prompt = r["usage"]["prompt_tokens"]
        # the loop of host/generate.c: the last token is sampled but not evaluated
        assert r["choices"][0]["finish_reason"] == "length"
        assert r["usage"]["completion_tokens"] == 32 - n_prompt + 1
        out = cli("run", "-m", model_path, "-p", prompt, "-c", "32", "--temp", "0", "-t", "2")
        assert out == prompt + text_of(r)
        with pytest.raises(ValueError, match="context"):
            m("word " * 40)


def test_token_list_prompt(llm):
    ids = llm.tokenize("In the beginning")
    assert text_of(llm(ids, max_tokens=12, temperature=0)) == \
        text_of(llm("In the beginning", max_tokens=12, temperature=0))


def test_stop_strings_cut_the_output(llm):
    prompt = "In the beginning"
    full = text_of(llm(prompt, max_tokens=48, temperature=0))
    for stop in ("LORD", "\n", "said unto Moses", full[10:13]):
        assert stop in full
        want = full[:full.index(stop)]
        r = llm(prompt, max_tokens=48, temperature=0, stop=stop)
        assert text_of(r) == want and r["choices"][0]["finish_reason"] == "stop"
        chunks = list(llm(prompt, max_tokens=48, temperature=0, stop=[stop], stream=True))
        assert "".join(text_of(c) for c in chunks) == want
        assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    # the earliest of several wins; one that never occurs changes nothing
    r = llm(prompt, max_tokens=48, temperature=0, stop=["said unto Moses", "LORD", "zzzz"])
    assert text_of(r) == full[:full.index("LORD")]
    r = llm(prompt, max_tokens=48, temperature=0, stop="zzzz")
    assert text_of(r) == full and r["choices"][0]["finish_reason"] == "length"



def test_q8_0_kv_cache_matches_cli(cli, model_path):
    """kv_type="q8_0" is the CLI's --kv-type q8_0: the same greedy text."""
    prompt = "The sea"
    out = cli("run", "-m", model_path, "-p", prompt, "-n", "32", "--temp", "0", "-t", "2", "--kv-type", "q8_0")
    with bitnet.Bitnet(model_path, n_threads=2, kv_type="q8_0") as m:
        r = m.create_completion(prompt, max_tokens=32, temperature=0)
    assert text_of(r) and out == prompt + text_of(r)
