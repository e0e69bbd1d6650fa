#!/bin/sh
# tok_parity_hf: generate the corpus with HF tokenizers, compare in C.
# Exit 77 (ctest skip) when fixtures or the Python package are missing.
# usage: run_parity.sh <python> <gen_parity.py> <test-tok-parity> <tokenizer dir> <work dir>
py=$1 gen=$2 bin=$3 tokdir=$4 work=$5
if [ ! -f "$tokdir/tokenizer.json" ]; then
    echo "SKIP: tokenizer fixture not found at $tokdir"
    exit 77
fi
if ! "$py" -c 'import tokenizers' 2>/dev/null; then
    echo "SKIP: Python package 'tokenizers' not importable by $py (pip install tokenizers)"
    exit 77
fi
mkdir -p "$work" || exit 1
"$py" "$gen" --tokenizer "$tokdir/tokenizer.json" --out "$work/corpus.bin" --n 12000 --seed 1234
rc=$?
[ $rc -eq 0 ] || exit $rc
exec "$bin" "$tokdir" "$work/corpus.bin"
