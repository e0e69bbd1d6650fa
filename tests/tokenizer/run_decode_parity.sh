#!/bin/sh
# tok_decode_parity_*: HF tokenizers decodes seeded id sequences, the C
# program decodes the same ids and compares. A missing Python package fails.
# usage: run_decode_parity.sh <python> <gen_decode_parity.py> <test-tok-decode-parity> spm|json <vocab> <work dir>
py=$1 gen=$2 bin=$3 kind=$4 vocab=$5 work=$6
mkdir -p "$work" || exit 1
"$py" "$gen" --"$kind" "$vocab" --out "$work/$kind.bin" || exit 1
exec "$bin" "$kind" "$vocab" "$work/$kind.bin"
