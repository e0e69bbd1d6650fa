#!/usr/bin/env bash
# Cross-builds bitnet for aarch64 (cmake/toolchains/aarch64-linux-gnu.cmake,
# Debian's gcc-aarch64-linux-gnu + arm64 multiarch -dev packages) in
# build-aarch64/ and runs a subset of the suite under qemu-user, once per
# CPU model:
#   cortex-a53    NEON, no dotprod
#   cortex-a76    NEON + dotprod
#   max,sve=off   NEON + dotprod + i8mm (SVE off)
# Each run first checks that the probe sees exactly that ISA (so QEMU_CPU
# really reached the engine), then runs the subset. Under TCG emulation the
# code runs 20-40x slower than natively, so the subset is chosen to fit CI:
#   hw_*                 the hardware probe (HWCAP path) and ISA masking
#   tok_*                every tokenizer test, HF parity included
#   trained_logits       the bundled model against PyTorch's logits
#   xval_transformers    the HF fixtures (logits, greedy, tokenizer) on
#                        cpu-neon, without the negative controls
#   conformance_oracle   the oracle's known answers
#   conformance          the plugin conformance suite (cpu-neon and the
#                        reference) with BN_CONFORMANCE_QUICK=1: the matmul
#                        shapes above 2^21 weights are left out except the
#                        extreme ones (K up to 16384, q = -128, t = +-1)
# and then, per CPU model, the bundled model written on x86 as I2_S, TQ2_0
# and TQ1_0 with fp16 block scales (bitnet convert on the host build): 64 greedy tokens under qemu
# on cpu-neon must equal those of the host's best x86 plugin, and the
# trained-logits check runs on the TQ2_0 / TQ1_0 files too; and
# bench-kernels runs every case on cpu-neon (correctness only: each call
# must succeed; the LM-head cases are left out, F16 is slow under TCG).
# BITNET_QEMU_FULL=1 runs the whole conformance suite and xval (reference
# plugin and controls too; several minutes per CPU model here). Speed on ARM is not measured here:
# bench/arm/README.md has the commands for a real ARM machine.
#   scripts/test-aarch64.sh [cpu ...]     default: the three models above
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/skip_rule.sh
bash scripts/install-deps.sh --aarch64

dir=build-aarch64
start=$(date +%s)
cmake -S . -B "$dir" -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake \
  -DBITNET_WERROR=ON -DBITNET_BUILD_TESTS=ON -DBITNET_MUTATION_CONTROLS=OFF
cmake --build "$dir" -j"$(nproc)"
echo "test-aarch64: cross build done in $(( $(date +%s) - start )) s"

subset='^(hw_.*|tok_.*|trained_logits|conformance_oracle|conformance|xval_transformers)$'
if [ "${BITNET_QEMU_FULL:-0}" != 1 ]; then
  export BN_CONFORMANCE_QUICK=1
  # xval on cpu-neon only; its negative controls check the bounds, not a
  # plugin, and run in the native suite
  export BN_XVAL_PLUGINS=cpu-neon BN_XVAL_NO_CONTROLS=1
fi

# The model files and the expected greedy text, made on this (x86) host with
# its own build: a shared mistake of the cross build cannot hide here.
host=build
if [ ! -x "$host/bin/bitnet" ]; then
  cmake -S . -B "$host" -DBITNET_WERROR=ON >/dev/null
  cmake --build "$host" -j"$(nproc)"
fi
work=$dir/greedy
rm -rf "$work" && mkdir -p "$work"
cp models/default.gguf "$work/i2_s.gguf"
"$host/bin/bitnet" convert "$work/i2_s.gguf" -o "$work/tq2_0.gguf" --type tq2_0 -q
"$host/bin/bitnet" convert "$work/i2_s.gguf" -o "$work/tq1_0.gguf" --type tq1_0 --tq-scale blocks -q
xb=cpu-avx2
"$host/bin/bitnet" plugins 2>/dev/null | grep -Eq '^[* ] cpu-avx512 +[1-9]' && xb=cpu-avx512
# prompts whose greedy continuations stay varied for 64 tokens on the bundled model
prompts=("In the beginning God created" "Tom and his dog went to the park. They saw")
for f in i2_s tq2_0 tq1_0; do
  for i in 0 1; do
    "$host/bin/bitnet" run -m "$work/$f.gguf" -p "${prompts[$i]}" -n 64 --temp 0 -t 1 --backend $xb \
      >"$work/$f.$i.x86.txt" 2>"$work/$f.$i.x86.err" || { cat "$work/$f.$i.x86.err"; exit 1; }
  done
done
echo "test-aarch64: expected greedy text from x86 $xb"

model_checks() { # greedy text, trained logits, bench-kernels under the current QEMU_CPU
  local f i
  for f in i2_s tq2_0 tq1_0; do
    for i in 0 1; do
      qemu-aarch64 -L / "$dir/bin/bitnet" run -m "$work/$f.gguf" -p "${prompts[$i]}" -n 64 --temp 0 -t 1 \
        --backend cpu-neon >"$work/$f.$i.arm.txt" 2>"$work/$f.$i.arm.err" || { cat "$work/$f.$i.arm.err"; return 1; }
      grep -q "generated 64 tokens" "$work/$f.$i.arm.err" ||
        { echo "test-aarch64: $f: not 64 tokens"; cat "$work/$f.$i.arm.err"; return 1; }
      cmp -s "$work/$f.$i.x86.txt" "$work/$f.$i.arm.txt" || {
        echo "test-aarch64: QEMU_CPU=$QEMU_CPU $f: cpu-neon greedy text differs from x86 $xb"
        diff "$work/$f.$i.x86.txt" "$work/$f.$i.arm.txt"; return 1; }
    done
    echo "test-aarch64: QEMU_CPU=$QEMU_CPU $f: 2 x 64 greedy tokens equal to x86 $xb"
  done
  for f in tq2_0 tq1_0; do
    BN_TRAINED_MODEL=$PWD/$work/$f.gguf ctest --test-dir "$dir" --output-on-failure --no-tests=error \
      -R '^trained_logits$' >"$work/$f.logits.log" || { cat "$work/$f.logits.log"; return 1; }
    echo "test-aarch64: QEMU_CPU=$QEMU_CPU $f: trained logits (cosine >= 0.999 vs PyTorch) pass"
  done
  qemu-aarch64 -L / "$dir/bin/bench-kernels" -b cpu-neon --no-reference --min-ms 1 --tokens 1,9 \
    --only matmul,rms_norm,rope,attention,ffn_act,add,quantize_act >"$work/bench.txt" 2>&1 ||
    { cat "$work/bench.txt"; return 1; }
  if grep -q "n/a" "$work/bench.txt" || ! grep -q "^matmul TQ1_0 2560x6912 T=9" "$work/bench.txt"; then
    echo "test-aarch64: QEMU_CPU=$QEMU_CPU: bench-kernels did not run every case"; cat "$work/bench.txt"; return 1
  fi
  echo "test-aarch64: QEMU_CPU=$QEMU_CPU: bench-kernels ran every case (timings under emulation are not figures)"
}

# The SIGILL control: sdot / smmla must kill a process on a CPU model
# without dotprod / i8mm, so a clean run there proves cpu-neon never ran them.
aarch64-linux-gnu-gcc -O1 -Wall -Wextra -Werror tests/aarch64/sigill_control.c -o "$dir/sigill_control"
expect_sigill() { # cpu kernel -> the exit status expected (132: SIGILL)
  case "$1 $2" in
    "cortex-a53 dot"|"cortex-a53 mmla"|"cortex-a76 mmla") echo 132 ;;
    *) echo 0 ;;
  esac
}

expect_isa() {
  case $1 in
    cortex-a53) echo "neon" ;;
    cortex-a76) echo "neon,dotprod" ;;
    max,sve=off) echo "neon,dotprod,i8mm" ;;
    *) echo "" ;;
  esac
}

cpus=("$@")
[ ${#cpus[@]} -gt 0 ] || cpus=(cortex-a53 cortex-a76 "max,sve=off")
summary=()
for cpu in "${cpus[@]}"; do
  export QEMU_CPU=$cpu
  t0=$(date +%s)
  echo "test-aarch64: QEMU_CPU=$cpu"
  isa=$(qemu-aarch64 -L / "$dir/bin/bitnet" plugins 2>&1 | sed -n 's/^ *ISA usable: *//p')
  want=$(expect_isa "$cpu")
  if [ -n "$want" ] && [ "$isa" != "$want" ]; then
    echo "test-aarch64: QEMU_CPU=$cpu: probe reports ISA '$isa', expected '$want'"; exit 1
  fi
  echo "test-aarch64: QEMU_CPU=$cpu: ISA usable: $isa"
  # the plugin names its paths: dotprod / i8mm unavailable exactly where the CPU lacks them
  line=$(qemu-aarch64 -L / "$dir/bin/bitnet" plugins 2>&1 | grep -E '^[* ] cpu-neon ' || true)
  for feat in dotprod i8mm; do
    want=unavailable; case ",$isa," in *",$feat,"*) want=available ;; esac
    echo "$line" | grep -q "$feat ([a-z]*) path: $want" ||
      { echo "test-aarch64: QEMU_CPU=$cpu: cpu-neon should report its $feat path $want: $line"; exit 1; }
  done
  for k in dot mmla; do
    rc=0; qemu-aarch64 -L / "$dir/sigill_control" $k >/dev/null 2>&1 || rc=$?
    [ "$rc" = "$(expect_sigill "$cpu" $k)" ] ||
      { echo "test-aarch64: QEMU_CPU=$cpu: $k control exited $rc, expected $(expect_sigill "$cpu" $k)"; exit 1; }
  done
  echo "test-aarch64: QEMU_CPU=$cpu: sdot/smmla controls trap exactly where the CPU lacks them"
  log="$dir/ctest-$(echo "$cpu" | tr ',=' '__').log"
  ctest --test-dir "$dir" --output-on-failure --no-tests=error -j2 --timeout 900 -R "$subset" | tee "$log"
  check_skips "$dir" "$log" test-aarch64
  model_checks
  summary+=("QEMU_CPU=$cpu: $(( $(date +%s) - t0 )) s")
  echo "test-aarch64: QEMU_CPU=$cpu done in $(( $(date +%s) - t0 )) s"
done
printf 'test-aarch64: %s\n' "${summary[@]}"
echo "test-aarch64: done in $(( $(date +%s) - start )) s"
