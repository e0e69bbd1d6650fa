import pytest

import bitnet

MSGS = [{"role": "system", "content": "  Thou art a scribe. "},
        {"role": "user", "content": "Who is the LORD?"}]


def test_chat_completion_shape_and_template(llm):
    assert llm.chat_format == "plain"  # the bundled model has no chat template
    r = llm.create_chat_completion(MSGS, max_tokens=24, temperature=0)
    assert r["object"] == "chat.completion" and r["id"].startswith("chatcmpl-")
    (c,) = r["choices"]
    assert c["message"]["role"] == "assistant" and isinstance(c["message"]["content"], str)
    assert c["message"]["content"] and c["finish_reason"] == "length"
    assert r["usage"]["completion_tokens"] == 24
    # bn_chat_render's plain style, content trimmed, then the generation prompt;
    # tokenized with BOS and special tokens parsed, as `bitnet chat` does.
    rendered = "System: Thou art a scribe.\nUser: Who is the LORD?\nAssistant:"
    ids = llm.tokenize(rendered, add_bos=True, special=True)
    assert r["usage"]["prompt_tokens"] == len(ids)
    same = llm.create_completion(ids, max_tokens=24, temperature=0)
    assert same["choices"][0]["text"] == c["message"]["content"]


def test_chat_matches_cli(llm, cli, model_path):
    r = llm.create_chat_completion(MSGS, max_tokens=30, temperature=0)
    out = cli("chat", "-m", model_path, "--system", MSGS[0]["content"], "-n", "30", "--temp", "0",
              "-t", "2", stdin=(MSGS[1]["content"] + "\n").encode())
    assert out == r["choices"][0]["message"]["content"] + "\n"


def test_chat_stream(llm):
    full = llm.create_chat_completion(MSGS, max_tokens=20, temperature=0.7, seed=3)
    chunks = list(llm.create_chat_completion(MSGS, max_tokens=20, temperature=0.7, seed=3, stream=True))
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    deltas = [c["choices"][0]["delta"] for c in chunks]
    assert deltas[0] == {"role": "assistant"} and deltas[-1] == {}
    assert all(set(d) == {"content"} for d in deltas[1:-1])
    assert "".join(d["content"] for d in deltas[1:-1]) == full["choices"][0]["message"]["content"]
    assert chunks[-1]["choices"][0]["finish_reason"] == "length"


def test_chat_stop(llm):
    full = llm.create_chat_completion(MSGS, max_tokens=30, temperature=0)["choices"][0]["message"]["content"]
    r = llm.create_chat_completion(MSGS, max_tokens=30, temperature=0, stop="LORD")
    assert r["choices"][0]["message"]["content"] == full[:full.index("LORD")]
    assert r["choices"][0]["finish_reason"] == "stop"


@pytest.mark.parametrize("bad", [[], "hello", [{"content": "no role"}], [{"role": "user", "content": 5}],
                                 [{"role": "user", "content": "a\0b"}], ["not a dict"]])
def test_bad_messages(llm, bad):
    with pytest.raises(ValueError):
        llm.create_chat_completion(bad)
