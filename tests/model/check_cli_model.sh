#!/bin/sh
# The model-running subcommands on a tiny random model: they work, and bad
# input gives a message and a non-zero exit (never a crash).
set -u
bin=$1 model=$2
fail=0
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
check() { # description, expected exit code, command...
    desc=$1 want=$2; shift 2
    "$@" >"$t/out" 2>"$t/err"; rc=$?
    if [ $rc -ne "$want" ]; then echo "FAIL: $desc: exit $rc, want $want"; cat "$t/err"; fail=1; fi
}
has() { grep -q -- "$2" "$t/$1" || { echo "FAIL: '$2' not in $1"; cat "$t/$1"; fail=1; }; }

check "run greedy" 0 "$bin" run -m "$model" -p "Hello" -n 8 --temp 0 -t 1
has out "^Hello"; has err "generated 8 tokens"
"$bin" run -m "$model" -p "Hello" -n 8 --temp 0 -t 1 >"$t/out2" 2>/dev/null
cmp -s "$t/out" "$t/out2" || { echo "FAIL: greedy output not reproducible"; fail=1; }
# the kernel methods give the same integer sums, so the same greedy text,
# on every backend that offers them; a backend that lacks one says so
"$bin" plugins >"$t/plugins" 2>&1
for b in reference cpu-avx2 cpu-avx512; do
    # only the plugins that can run on this CPU (score > 0); say which are left out
    grep -Eq "^[* ] $b +[1-9]" "$t/plugins" || { echo "note: $b not usable here, not compared"; continue; }
    "$bin" run -m "$model" -p "Hello" -n 8 --temp 0 -t 1 --backend $b >"$t/b_auto" 2>/dev/null ||
        { echo "FAIL: --backend $b"; fail=1; continue; }
    for k in mad tl1 tl2; do
        if "$bin" run -m "$model" -p "Hello" -n 8 --temp 0 -t 1 --backend $b --kernel $k >"$t/k" 2>"$t/kerr"; then
            cmp -s "$t/b_auto" "$t/k" || { echo "FAIL: $b --kernel $k output differs from auto"; fail=1; }
        else
            grep -q "cannot multiply .* with the chosen --kernel" "$t/kerr" ||
                { echo "FAIL: $b --kernel $k failed without saying why"; cat "$t/kerr"; fail=1; }
        fi
    done
done
# From BOS (empty prompt) with a SentencePiece vocab the text starts without
# the encoder's prefix space, as HF and llama.cpp print it; seeds 1 and 5
# begin with a "\u2581" piece (" simulation", " Normdatei" before the fix).
for seed in 1 2 3 4 5 6; do
    "$bin" run -m "$model" -p "" -n 3 --temp 1 --seed $seed -t 1 >"$t/bos" 2>/dev/null ||
        { echo "FAIL: run from BOS (seed $seed)"; fail=1; }
    [ -s "$t/bos" ] && [ "$(head -c 1 "$t/bos")" != " " ] ||
        { echo "FAIL: run from BOS (seed $seed) kept the prefix space: '$(cat "$t/bos")'"; fail=1; }
done
check "run seeded" 0 "$bin" run -m "$model" -p "Hello" -n 8 --temp 1 --seed 7 -t 1
cp "$t/out" "$t/seed1"; "$bin" run -m "$model" -p "Hello" -n 8 --temp 1 --seed 7 -t 1 >"$t/seed2" 2>/dev/null
cmp -s "$t/seed1" "$t/seed2" || { echo "FAIL: seeded sampling not reproducible"; fail=1; }
check "bench" 0 "$bin" bench -m "$model" -p 32 -n 8 -r 2 -t 1
has out "| pp32 |"; has out "| tg8 |"; has out "roofline"
check "bench json" 0 "$bin" bench -m "$model" -p 16 -n 4 -r 1 -o json -t 1 --no-bandwidth
has out '"test": "pp16"'
# the figures, not only the words: both tests there, rates and sizes positive and finite
python3 - "$t/out" <<'PY' || { echo "FAIL: bench json"; cat "$t/out"; fail=1; }
import json, math, sys
rows = json.load(open(sys.argv[1]))
assert [r["test"] for r in rows] == ["pp16", "tg4"], rows
for r in rows:
    for k in ("avg_ts", "median_ts", "load_s", "size_bytes", "file_bytes", "peak_rss_bytes", "n_tokens"):
        assert math.isfinite(r[k]) and r[k] > 0, (r["test"], k, r[k])
    assert r["stddev_ts"] >= 0 and r["peak_rss_bytes"] >= r["size_bytes"] / 2, r
PY
check "inspect" 0 "$bin" inspect "$model"
has out "memory plan"; has out "I2_S"
has out "KV pool for many sequences"
# many sequences together: figures positive, the shared prefix stored once
check "bench --parallel" 0 "$bin" bench -m "$model" --parallel 1,3 -p 40 --shared-prefix 32 -n 3 -r 1 -o json -t 1
python3 - "$t/out" <<'PY' || { echo "FAIL: bench --parallel json"; cat "$t/out"; fail=1; }
import json, math, sys
rows = json.load(open(sys.argv[1]))
assert [r["n_seqs"] for r in rows] == [1, 3], rows
for r in rows:
    for k in ("prompt_ts", "decode_ts", "step_ms", "page_bytes"):
        assert math.isfinite(r[k]) and r[k] > 0, (k, r)
    assert 0 < r["pages_used"] <= r["pages_unshared"] <= r["n_pages"], r
# 3 sequences of 43 tokens in 64-token pages: the 32 shared tokens fill no page,
# so nothing is shared; the counts must say exactly that
assert rows[1]["pages_used"] == 3 and rows[1]["pages_unshared"] == 3, rows[1]
PY
check "bench --parallel, shared pages" 0 "$bin" bench -m "$model" --parallel 4 -p 40 --shared-prefix 32 -n 2 -r 1 -o json -t 1 --kv-page 16
python3 - "$t/out" <<'PY' || { echo "FAIL: shared prefix pages"; cat "$t/out"; fail=1; }
import json, sys
r = json.load(open(sys.argv[1]))[0]
# 42 tokens in 16-token pages: 3 each unshared (12); the first two pages are shared by all four
assert r["pages_unshared"] == 12 and r["pages_used"] == 2 + 4 * 1, r
PY
# the 8-bit KV cache (head_dim 32 here): runs, and a 16-sequence batch with it
check "run --kv-type q8_0" 0 "$bin" run -m "$model" -p "Hello" -n 8 --temp 0 -t 1 --kv-type q8_0
has out "^Hello"; has err "generated 8 tokens"
check "bench --parallel --kv-type q8_0" 0 "$bin" bench -m "$model" --parallel 16 -p 8 -n 2 -r 1 -t 1 --kv-type q8_0
has out "KV Q8_0"
check "inspect --kv-type q8_0" 0 "$bin" inspect "$model" --kv-type q8_0
has out "KV Q8_0"
check "bad --kv-type" 2 "$bin" run -m "$model" -p "Hello" --kv-type q4_0
has err "f16, f32 or q8_0"
check "bad --parallel" 2 "$bin" bench -m "$model" --parallel 0,4
check "bad --parallel list" 2 "$bin" bench -m "$model" --parallel 4x
check "shared prefix longer than the prompt" 2 "$bin" bench -m "$model" --parallel 2 -p 8 --shared-prefix 9
check "bad --kv-page" 2 "$bin" bench -m "$model" --parallel 2 --kv-page 24
has err "multiple of 16"
check "bad --kv-budget" 2 "$bin" bench -m "$model" --parallel 2 --kv-budget 12Q
check "kv budget below one sequence" 1 "$bin" bench -m "$model" --parallel 2 -p 8 -n 2 --kv-budget 1K
has err "one sequence of"

check "perplexity" 0 "$bin" perplexity -m "$model" -f "$0" -c 64 --chunks 2 -t 1
has out "perplexity: "
# an untrained random model predicts close to uniformly: perplexity near the
# vocab size (32000; measured 32846). NaN, inf, a wrong log base or sign fail.
awk '/^perplexity: /{p=$2} END{ if (!(p > 16000 && p < 64000)) { print "FAIL: perplexity " p " not near 32000"; exit 1 } }' "$t/out" || fail=1
printf 'Hello there\nAnd again\n' | "$bin" chat -m "$model" -n 4 --temp 0 -t 1 >"$t/out" 2>"$t/err" ||
    { echo "FAIL: chat"; cat "$t/err"; fail=1; }
has err "generated 8 tokens"
check "tokenize" 0 "$bin" tokenize -m "$model" "Hello world"

# vocab-only conversion of the Llama 3 tokenizer, then tokenizing with it
fx=$(dirname "$0")/../fixtures/tokenizers/llama3-bpe
if [ -f "$fx/tokenizer.json" ]; then
    check "convert --vocab-only" 0 "$bin" convert "$fx" -o "$t/l3.gguf" --vocab-only -q
    check "tokenize with imported vocab" 0 "$bin" tokenize -m "$t/l3.gguf" --ids --no-bos "Hello world"
    has out "^9906 1917$"
else
    echo "skipping vocab-only conversion: $fx absent"
fi

# re-encoding (on an xval checkpoint: TQ rows need 256 columns): I2_S ->
# TQ2_0 (blocks with d = 1 + exact .scale tensors) -> I2_S gives the same
# file back byte for byte, and the TQ2_0 file generates the same text
hf=$(dirname "$0")/../xval/fixtures/b158_relu2
check "convert hf to i2_s" 0 "$bin" convert "$hf" -o "$t/i2s.gguf" -q
check "convert to tq2_0" 0 "$bin" convert "$t/i2s.gguf" -o "$t/tq2.gguf" --type tq2_0 -q
check "inspect tq2_0" 0 "$bin" inspect "$t/tq2.gguf" --tensors
has out "blk.0.attn_q.scale"
check "convert back to i2_s" 0 "$bin" convert "$t/tq2.gguf" -o "$t/i2s2.gguf" --type i2_s -q
cmp -s "$t/i2s.gguf" "$t/i2s2.gguf" || { echo "FAIL: i2_s -> tq2_0 -> i2_s changed the file"; fail=1; }
check "run i2_s" 0 "$bin" run -m "$t/i2s.gguf" -p "The engine" -n 8 --temp 0 -t 1
mv "$t/out" "$t/i2s.out"
check "run tq2_0" 0 "$bin" run -m "$t/tq2.gguf" -p "The engine" -n 8 --temp 0 -t 1
cmp -s "$t/out" "$t/i2s.out" || { echo "FAIL: tq2_0 greedy text differs from i2_s"; fail=1; }
check "tq-scale blocks" 0 "$bin" convert "$t/i2s.gguf" -o "$t/tq2b.gguf" --type tq2_0 --tq-scale blocks -q
check "inspect tq-scale blocks" 0 "$bin" inspect "$t/tq2b.gguf" --tensors
grep -q "[.]scale" "$t/out" && { echo "FAIL: --tq-scale blocks wrote .scale tensors"; fail=1; }
check "bad --tq-scale" 2 "$bin" convert "$t/i2s.gguf" -o "$t/x.gguf" --type tq2_0 --tq-scale rows
has err "tq-scale"
check "convert help" 0 "$bin" convert --help
has out "--tq-scale"

check "missing model file" 1 "$bin" run -m "$t/nope.gguf" -p hi
has err "nope.gguf"
printf 'GGUF\003\000\000\000garbage' >"$t/bad.gguf"
check "corrupt model" 1 "$bin" run -m "$t/bad.gguf" -p hi
check "bad temperature" 2 "$bin" run -m "$model" -p hi --temp abc
has err "--temp"
check "bad top-p" 2 "$bin" run -m "$model" -p hi --top-p 1.5
check "no prompt" 2 "$bin" run -m "$model"
check "prompt longer than context" 1 "$bin" run -m "$model" -c 4 -p "one two three four five six seven eight nine ten"
has err "context"
check "unknown command" 2 "$bin" frobnicate
check "convert missing input" 1 "$bin" convert /nonexistent -o "$t/x.gguf"

[ $fail -eq 0 ] && echo "model CLI checks passed"
exit $fail
