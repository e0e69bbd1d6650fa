#!/bin/sh
# `bitnet perplexity` on the held-out text agrees with the perplexity the
# PyTorch model gave for the same text under the same convention (chunks of
# ctx tokens, BOS first, positions 1..ctx-1 scored), within 1%.
#   check_perplexity.sh BITNET MODEL TEXT REFERENCE_JSON [CHUNKS]
# With CHUNKS, only the first CHUNKS chunks are scored and compared with the
# reference's part_ppl (recorded for that many chunks); else valid_ppl.
set -u
bin=$1 model=$2 text=$3 ref=$4 chunks=${5:-}
num() { sed -n "s/.*\"$1\": *\([-0-9.eE+]*\).*/\1/p" "$ref"; }
ctx=$(num ctx)
if [ -n "$chunks" ]; then
    [ "$(num part_chunks)" = "$chunks" ] || { echo "FAIL: reference has no figure for $chunks chunks"; exit 1; }
    want=$(num part_ppl); extra="--chunks $chunks"
else
    want=$(num valid_ppl); extra=""
fi
[ -n "$ctx" ] && [ -n "$want" ] || { echo "FAIL: cannot read $ref"; exit 1; }
# BITNET_TEST_EMULATOR: qemu-aarch64 ... in a cross build (tests/CMakeLists.txt)
# shellcheck disable=SC2086
out=$(${BITNET_TEST_EMULATOR:-} "$bin" perplexity -m "$model" -f "$text" -c "$ctx" --score-from 1 $extra 2>&1) || {
    echo "FAIL: bitnet perplexity exited non-zero"; echo "$out"; exit 1; }
echo "$out" | tail -n 2
got=$(echo "$out" | sed -n 's/^perplexity: \([0-9.]*\).*/\1/p')
[ -n "$got" ] || { echo "FAIL: no perplexity in the output"; exit 1; }
awk -v g="$got" -v w="$want" 'BEGIN {
    r = g / w - 1; if (r < 0) r = -r
    printf "engine %.4f, PyTorch %.4f, relative difference %.3f%% (limit 1%%)\n", g, w, 100 * r
    exit !(r <= 0.01) }'
