#!/bin/sh
# tok_decode_parity_*: HF tokenizers decodes seeded id sequences, the C
# program decodes the same ids and compares. A missing Python package fails.
# usage: run_decode_parity.sh <python> <gen_decode_parity.py> <test-tok-decode-parity> spm|json <vocab> <work dir>
py=$1 gen=$2 bin=$3 kind=$4 vocab=$5 work=$6
mkdir -p "$work" || exit 1
"$py" "$gen" --"$kind" "$vocab" --out "$work/$kind.bin" || exit 1
# BITNET_TEST_EMULATOR: qemu-aarch64 ... in a cross build (tests/CMakeLists.txt)
# shellcheck disable=SC2086
exec ${BITNET_TEST_EMULATOR:-} "$bin" "$kind" "$vocab" "$work/$kind.bin"
