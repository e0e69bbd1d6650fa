#!/bin/sh
# tok_parity_hf: generate the corpus with HF tokenizers, compare in C.
# Missing fixtures or Python package fail the test (scripts/install-deps.sh
# installs the package): a parity test that did not run must not pass.
# usage: run_parity.sh <python> <gen_parity.py> <test-tok-parity> <tokenizer dir> <work dir>
py=$1 gen=$2 bin=$3 tokdir=$4 work=$5
if [ ! -f "$tokdir/tokenizer.json" ]; then
    echo "FAIL: tokenizer fixture not found at $tokdir"
    exit 1
fi
if ! "$py" -c 'import tokenizers' 2>/dev/null; then
    echo "FAIL: Python package 'tokenizers' not importable by $py (bash scripts/install-deps.sh installs it)"
    exit 1
fi
mkdir -p "$work" || exit 1
"$py" "$gen" --tokenizer "$tokdir/tokenizer.json" --out "$work/corpus.bin" --n 12000 --seed 1234
rc=$?
[ $rc -eq 0 ] || exit $rc
# BITNET_TEST_EMULATOR: qemu-aarch64 ... in a cross build (tests/CMakeLists.txt)
# shellcheck disable=SC2086
exec ${BITNET_TEST_EMULATOR:-} "$bin" "$tokdir" "$work/corpus.bin"
