#!/bin/sh
# Llama 3 BPE encoding speed, ours vs HF tokenizers, one core each, on the
# same ~4 MB of chunks; plus our vocab load time from GGUF.
# usage: bench/tokenizer/run_bench.sh [build dir] [MB]
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
mb=${2:-4}
bin="$build/bin/bench-tokenizer"
tokdir="$here/../../tests/fixtures/tokenizers/llama3-bpe"
work=$(mktemp -d "${TMPDIR:-/tmp}/bitnet-tokbench-XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
pin=""
command -v taskset >/dev/null && pin="taskset -c 0"
[ -x "$bin" ] || { echo "build $bin first"; exit 1; }
[ -f "$tokdir/tokenizer.json" ] || { echo "fixture $tokdir missing"; exit 1; }
"$bin" import "$tokdir" "$work/llama3.gguf" || exit 1
python3 "$here/make_corpus.py" --out "$work/chunks.bin" --mb "$mb" || exit 1
ours=$($pin "$bin" run "$work/llama3.gguf" "$work/chunks.bin" 3) || exit 1
echo "$ours"
if python3 -c 'import tokenizers' 2>/dev/null; then
    hf=$($pin python3 "$here/bench_hf.py" "$tokdir/tokenizer.json" "$work/chunks.bin") || exit 1
    echo "$hf"
    o=$(echo "$ours" | awk '/^ours/ {print $6}')
    h=$(echo "$hf" | awk '/^hf/ {print $6}')
    ot=$(echo "$ours" | awk '/^ours/ {print $2}')
    ht=$(echo "$hf" | awk '/^hf/ {print $2}')
    [ "$ot" = "$ht" ] || echo "WARNING: token counts differ (ours $ot, hf $ht)"
    awk -v o="$o" -v h="$h" 'BEGIN { printf "ratio ours/hf: %.2f\n", o / h }'
else
    echo "HF tokenizers not importable: no comparison"
fi
