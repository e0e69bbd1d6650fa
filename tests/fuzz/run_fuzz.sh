#!/bin/sh
# Build the GGUF fuzzer with clang and run it for a bounded time.
#   tests/fuzz/run_fuzz.sh BUILD_DIR [SECONDS=60]
# BITNET_FUZZ_SEED (default 1) fixes the mutation sequence and
# BITNET_FUZZ_RUNS (default -1 = until SECONDS) bounds the run by count, so
# CI repeats the same inputs every time; set a new seed to explore.
# Exits non-zero if the fuzzer finds a crash (the input is left in
# BUILD_DIR/fuzz-artifacts/). New corpus entries go to BUILD_DIR/fuzz-corpus,
# never into the committed seeds.
set -eu
if [ $# -lt 1 ]; then
  echo "usage: $0 BUILD_DIR [SECONDS]" >&2
  exit 2
fi
build=$1
secs=${2:-60}
src=$(cd "$(dirname "$0")/../.." && pwd)
cc=${CC:-clang}
case $(basename "$cc") in
  clang*) ;;
  *) echo "run_fuzz.sh: needs clang (CC=$cc)" >&2; exit 2 ;;
esac

cmake -S "$src" -B "$build" -DCMAKE_C_COMPILER="$cc" -DBITNET_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target fuzz-gguf fuzz-safetensors -j2

mkdir -p "$build/fuzz-corpus" "$build/fuzz-artifacts"
# -rss_limit_mb / -malloc_limit_mb: a hostile file must not make the reader
# allocate far more than its own size.
# safetensors first, a fifth of the budget; then the GGUF reader
runs=${BITNET_FUZZ_RUNS:--1}
st_runs=$runs; [ "$runs" -gt 0 ] && st_runs=$((runs / 5))
mkdir -p "$build/fuzz-corpus-st"
"$build/bin/fuzz-safetensors" -seed="${BITNET_FUZZ_SEED:-1}" -runs="$st_runs" -max_total_time=$((secs / 5 + 1)) -timeout=10 \
  -rss_limit_mb=2048 -max_len=65536 -artifact_prefix="$build/fuzz-artifacts/" -print_final_stats=1 \
  "$build/fuzz-corpus-st" "$src/tests/fuzz/corpus/safetensors"
exec "$build/bin/fuzz-gguf" -seed="${BITNET_FUZZ_SEED:-1}" -runs="${BITNET_FUZZ_RUNS:--1}" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512 \
  -max_len=65536 -artifact_prefix="$build/fuzz-artifacts/" -print_final_stats=1 \
  "$build/fuzz-corpus" "$src/tests/fuzz/corpus/gguf"
