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
# No silent skips: a test may skip only for hardware this machine lacks (a
# GPU, an ARM CPU), and then it carries the label needs-hw and says why.
skipped=$(sed -n 's/.*Test *#[0-9]*: \([^ ]*\) .*\*\*\*Skipped.*/\1/p' "$dir/ctest.log")
if [ -n "$skipped" ]; then
  hw=$(ctest --test-dir "$dir" -N -L needs-hw | sed -n 's/^ *Test *#[0-9]*: //p')
  for t in $skipped; do
    echo "$hw" | grep -qx "$t" || { echo "test.sh: $t skipped without needing missing hardware"; exit 1; }
    echo "test.sh: $t skipped: needs hardware this machine lacks (see its output)"
  done
fi
