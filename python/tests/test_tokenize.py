import pytest

TEXTS = [
    "In the beginning God created the heaven and the earth.",
    "And the LORD said unto Moses,\n\tBehold!  (two spaces)",
    "naïve café — ünïcödé, 中文, emoji 😀👍🏽",
    " leading and trailing spaces ",
    "1234567890 !@#$%^&*()_+-=[]{};':\",./<>?",
    "",
]


@pytest.mark.parametrize("text", TEXTS)
def test_round_trip(llm, text):
    ids = llm.tokenize(text, add_bos=False)
    assert llm.detokenize(ids) == text.encode("utf-8")
    # BOS is a control token: rendered as nothing, but there.
    with_bos = llm.tokenize(text)
    assert with_bos == [llm.token_bos()] + ids
    assert llm.detokenize(with_bos) == text.encode("utf-8")


def test_bytes_and_str_agree(llm):
    assert llm.tokenize("And God said".encode()) == llm.tokenize("And God said")


@pytest.mark.parametrize("text", [TEXTS[0], TEXTS[2], "A<|end_of_text|>B"])
def test_matches_cli_tokenize(llm, cli, model_path, text):
    # `bitnet tokenize` adds BOS and parses special-token texts by default.
    out = cli("tokenize", "-m", model_path, "--ids", text)
    assert llm.tokenize(text, special=True) == [int(x) for x in out.split()]


def test_special_tokens(llm):
    eos = llm.token_eos()
    assert eos in llm.tokenize("A<|end_of_text|>B", special=True)
    assert eos not in llm.tokenize("A<|end_of_text|>B", special=False)
    assert llm.detokenize([eos]) == b""
    assert llm.detokenize([eos], special=True) == b"<|end_of_text|>"


def test_detokenize_rejects_bad_ids(llm):
    with pytest.raises(ValueError):
        llm.detokenize([0, llm.n_vocab()])
    with pytest.raises(ValueError):
        llm.detokenize([-1])
    with pytest.raises(ValueError):
        llm.tokenize(123)
