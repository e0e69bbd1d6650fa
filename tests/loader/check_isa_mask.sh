#!/bin/sh
# With ISA bits masked (BITNET_ISA_DISABLE, honoured by the probe), SIMD
# plugins that need them score 0 with the missing bits named, and the best
# remaining plugin is chosen. Checks only plugins that are built.
set -u
bin=$1 dir=$2
fail=0
has_plugin() { [ -f "$dir/bitnet-plugin-$1.so" ]; }
if has_plugin cpu-avx512; then
    out=$(BITNET_ISA_DISABLE=avx512 "$bin" plugins 2>&1)
    echo "$out" | grep -Eq '^  cpu-avx512 +0 .*lacks: .*avx512f' || { echo "FAIL: cpu-avx512 not refused"; echo "$out"; fail=1; }
    if has_plugin cpu-avx2; then
        echo "$out" | grep -Eq '^\* cpu-avx2 .*chosen$' || { echo "FAIL: cpu-avx2 not chosen without AVX-512"; echo "$out"; fail=1; }
    fi
    out=$("$bin" plugins 2>&1)
    if grep -q avx512f /proc/cpuinfo && grep -q avx512bw /proc/cpuinfo && grep -q avx512vl /proc/cpuinfo; then
        echo "$out" | grep -Eq '^\* cpu-avx512 .*chosen$' || { echo "FAIL: cpu-avx512 not chosen on an AVX-512 CPU"; echo "$out"; fail=1; }
    fi
fi
if has_plugin cpu-avx2; then
    out=$(BITNET_ISA_DISABLE=avx2 "$bin" plugins 2>&1)
    echo "$out" | grep -Eq '^  cpu-avx2 +0 .*avx2' || { echo "FAIL: cpu-avx2 not refused without AVX2"; echo "$out"; fail=1; }
    echo "$out" | grep -Eq '^\* reference .*chosen$' || { echo "FAIL: reference not chosen without AVX2"; echo "$out"; fail=1; }
fi
[ $fail -eq 0 ] && echo "ISA mask checks passed"
exit $fail
