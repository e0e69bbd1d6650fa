#!/usr/bin/env bash
# Builds bitnet and runs the whole test suite.
#   scripts/test.sh             normal build in build/
#   scripts/test.sh --sanitize  ASan + UBSan build in build-asan/
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

dir=build; extra=(); skip=()
if [ "${1:-}" = "--sanitize" ]; then
  # The ISA-masked repeats and the control table (checks of the suite itself)
  # run in the normal build only.
  dir=build-asan; extra=(-DBITNET_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug -DBITNET_MUTATION_CONTROLS=OFF); skip=(-LE "isa-mask|control")
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi
# Tests ON explicitly: bootstrap.sh configures the same build/ without them,
# and a cached OFF must never turn this into a run of zero tests.
cmake -S . -B "$dir" -DBITNET_WERROR=ON -DBITNET_BUILD_TESTS=ON "${extra[@]}"
cmake --build "$dir" -j"$(nproc)"
ctest --test-dir "$dir" --output-on-failure --no-tests=error -j2 --timeout 900 "${skip[@]}" | tee "$dir/ctest.log"
source scripts/lib/skip_rule.sh
check_skips "$dir" "$dir/ctest.log" test.sh
