#!/usr/bin/env bash
# Every GPU check of the cuda plugin in one run, for a lent GPU host (CUDA
# toolkit, CMake, no package registry, none of our Debian -dev libraries).
# Prepare here, then run there:
#   bash bench/cuda/device_check.sh --prepare     # here: copies the .so files
#        the build links into build/gpu-libs/ (carry build/ to the GPU host)
#   bash bench/cuda/device_check.sh               # there: the checks, < 8 min
# Steps (each stops the run with its reason when it fails):
#   1. nvidia-smi and `bitnet plugins`: the cuda plugin must score > 0
#   2. conformance suite on cuda (integer sums bit-exact vs the reference)
#   3. HF cross-validation fixtures on cuda (xval, the CPU bounds)
#   4. bundled model: 64 greedy tokens on cuda equal to cpu-avx512 / cpu-avx2
#   5. compute-sanitizer memcheck on the conformance run
#   6. figures: bitnet bench on the 2B-4T random model (tg, pp512, batched),
#      bench-kernels -b cuda (GEMV shapes of bitnet.cpp's published table)
# Until the cuda kernels exist, step 1 stops with the plugin's reason.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${BUILD:-build}
if [ "${1:-}" = --prepare ]; then
  mkdir -p "$build/gpu-libs"
  ldd "$build/bin/bitnet" "$build/lib/libbitnet.so" "$build/bin/test_conformance" "$build/bin/test_xval" |
    awk '$3 ~ /^\// {print $3}' | sort -u |
    grep -v -E '/(libc|libm|libpthread|libdl|librt|ld-linux[^/]*)\.so' | grep -v "$PWD" |
    while read -r so; do cp -L "$so" "$build/gpu-libs/"; done
  ls "$build/gpu-libs"
  exit 0
fi
export LD_LIBRARY_PATH="$PWD/$build/gpu-libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
unset BITNET_PLUGIN_PATH BITNET_BACKEND
t0=$(date +%s)
step() { echo; echo "== device_check: $* ($(( $(date +%s) - t0 )) s)"; }

step "1. the GPU and the plugin"
nvidia-smi --query-gpu=name,compute_cap,memory.total,clocks.max.memory --format=csv || true
"$build/bin/bitnet" plugins | tee /tmp/device_check.plugins
line=$(grep -E '^[* ] cuda ' /tmp/device_check.plugins || true)
score=$(echo "$line" | awk '{print ($1 == "*") ? $3 : $2}')
if [ -z "$score" ] || [ "$score" = 0 ]; then
  echo "device_check: the cuda plugin cannot run here: ${line:-not listed}"; exit 1
fi

step "2. conformance on cuda"
BN_CONFORMANCE_PLUGINS=cuda "$build/bin/test_conformance" | tail -5

step "3. HF cross-validation on cuda"
BN_XVAL_PLUGINS=cuda BN_XVAL_NO_CONTROLS=1 "$build/bin/test_xval" | grep -E "FAIL|Checks" | tail -5

step "4. greedy tokens of the bundled model, cuda vs the best CPU plugin"
cpu=cpu-avx2; grep -Eq '^[* ] cpu-avx512 +[1-9]' /tmp/device_check.plugins && cpu=cpu-avx512
for b in cuda $cpu; do
  "$build/bin/bitnet" run -p "In the beginning God created" -n 64 --temp 0 --backend $b >"/tmp/device_check.$b.txt"
done
cmp "/tmp/device_check.cuda.txt" "/tmp/device_check.$cpu.txt" && echo "64 greedy tokens equal ($cpu)"

step "5. compute-sanitizer memcheck (conformance, cuda only)"
BN_CONFORMANCE_PLUGINS=cuda BN_CONFORMANCE_QUICK=1 compute-sanitizer --tool memcheck --error-exitcode 1 \
  "$build/bin/test_conformance" | tail -3

step "6. figures"
model=$build/bench-models/2b4t-i2_s-q8head.gguf
if [ -f "$model" ]; then
  "$build/bin/bitnet" bench -m "$model" --backend cuda -p 512 -n 128 -r 3
  "$build/bin/bitnet" bench -m "$model" --backend cuda --parallel 1,8,32 -p 128 -n 32
else
  echo "device_check: no $model (bench/matrix.sh makes it; carry it along): bench skipped"
fi
"$build/bin/bench-kernels" -b cuda --only matmul,lm_head --tokens 1,512
echo "device_check: done in $(( $(date +%s) - t0 )) s"
