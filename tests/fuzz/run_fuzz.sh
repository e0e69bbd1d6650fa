#!/bin/sh
# Build every fuzz target with clang, replay the committed regression inputs,
# then fuzz each target for a bounded time.
#   tests/fuzz/run_fuzz.sh BUILD_DIR [SECONDS=300]
# SECONDS is the fuzzing budget of the whole run, split evenly between the
# targets (the build and the replays come on top).
# Environment:
#   BITNET_FUZZ_SEED     libFuzzer seed of every target; unset (or 0) = a new
#                        one from the clock. Printed first: rerun with it set
#                        (and BITNET_FUZZ_TARGETS) to replay a failure.
#   BITNET_FUZZ_RUNS     optional: total inputs across the targets, split
#                        evenly (each target still stops at its time share)
#   BITNET_FUZZ_TARGETS  optional: space-separated subset (default: all)
# Every target runs with -malloc_limit_mb (one allocation) and -rss_limit_mb
# (the process): a hostile file must not make a reader allocate far more than
# its own size. Crashes, leaks, timeouts and limit breaches fail the run
# (exit 1) after all targets ran; the input is left in
# BUILD_DIR/fuzz-artifacts/<target>-*, logs in BUILD_DIR/fuzz-logs/. New
# corpus entries go to BUILD_DIR/fuzz-corpus/<target>, never into the
# committed seeds (tests/fuzz/corpus/<target>). A crash input, once fixed,
# is committed under tests/fuzz/regressions/<target>/ and replayed by every
# later run.
set -eu
if [ $# -lt 1 ]; then
  echo "usage: $0 BUILD_DIR [SECONDS]" >&2
  exit 2
fi
build=$1
secs=${2:-300}
src=$(cd "$(dirname "$0")/../.." && pwd)
here=$src/tests/fuzz
cc=${CC:-clang}
case $(basename "$cc") in
  clang*) ;;
  *) echo "run_fuzz.sh: needs clang (CC=$cc)" >&2; exit 2 ;;
esac

all="gguf safetensors spm tokjson hfconfig ini vocab model request"
targets=${BITNET_FUZZ_TARGETS:-$all}
seed=${BITNET_FUZZ_SEED:-0}
[ "$seed" -gt 0 ] 2>/dev/null || seed=$(( $(date +%s) % 2000000000 + 1 ))
n=0; for t in $targets; do n=$((n + 1)); done
per=$((secs / n - 1)); [ "$per" -ge 5 ] || per=5  # -1: each process starts and loads its corpus
runs=${BITNET_FUZZ_RUNS:--1}
[ "$runs" -gt 0 ] && runs=$((runs / n))
echo "fuzz: seed $seed (replay: BITNET_FUZZ_SEED=$seed), ${per}s per target for: $targets"

cmake -S "$src" -B "$build" -DCMAKE_C_COMPILER="$cc" -DBITNET_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
bins=""; for t in $targets; do bins="$bins fuzz-$t"; done
# shellcheck disable=SC2086
cmake --build "$build" --target $bins -j2 >/dev/null

# Per target: the largest input, the one-allocation limit in MB, extra flags.
limits() {
  case $1 in
    gguf)        echo "65536 512" ;;
    safetensors) echo "65536 256" ;;
    spm)         echo "16384 256" ;;
    tokjson)     echo "32768 256 -dict=$here/dict/tokjson.dict" ;;
    hfconfig)    echo "4096 64 -dict=$here/dict/hfconfig.dict" ;;
    ini)         echo "4096 64 -dict=$here/dict/ini.dict" ;;
    vocab)       echo "16384 256" ;;
    model)       echo "262144 512" ;;  # plus a 64 MiB memory plan budget inside
    request)     echo "65536 64 -dict=$here/dict/request.dict" ;;
    *)           echo "unknown" ;;
  esac
}

mkdir -p "$build/fuzz-artifacts" "$build/fuzz-logs"
# The targets that read from a path write each input under here (memory
# when /dev/shm exists: a file per input); a crashed target cannot remove
# its own folder, so the whole one goes at exit.
shm=/dev/shm; [ -d "$shm" ] && [ -w "$shm" ] || shm=${TMPDIR:-/tmp}
BITNET_FUZZ_TMPDIR=$(mktemp -d "$shm/bitnet-fuzz-run.XXXXXX")
export BITNET_FUZZ_TMPDIR
trap 'rm -rf "$BITNET_FUZZ_TMPDIR"' EXIT
failed=0
summary=""
start_all=$(date +%s)
for t in $targets; do
  set -- $(limits "$t")
  if [ "$1" = unknown ]; then
    echo "fuzz: unknown target '$t' (known: $all)" >&2
    exit 2
  fi
  max_len=$1; malloc_mb=$2; shift 2
  bin=$build/bin/fuzz-$t
  common="-rss_limit_mb=2048 -malloc_limit_mb=$malloc_mb -timeout=10 -max_len=$max_len -close_fd_mask=2"
  log=$build/fuzz-logs/$t.log
  result=ok

  # 1. committed regression inputs: each must run clean
  nreg=0
  if [ -d "$here/regressions/$t" ]; then
    regs=$(find "$here/regressions/$t" -type f ! -name '*.md' | sort)
    for r in $regs; do nreg=$((nreg + 1)); done
    if [ "$nreg" -gt 0 ]; then
      # shellcheck disable=SC2086
      if ! "$bin" $common "$@" -artifact_prefix="$build/fuzz-artifacts/$t-regression-" $regs \
           >"$build/fuzz-logs/$t-regressions.log" 2>&1; then
        result="REGRESSION-FAILED"
        tail -n 40 "$build/fuzz-logs/$t-regressions.log"
      fi
    fi
  fi

  # 2. fuzzing, from the committed seeds plus what earlier runs found
  mkdir -p "$build/fuzz-corpus/$t"
  t0=$(date +%s)
  rc=0
  # shellcheck disable=SC2086
  "$bin" $common "$@" -seed="$seed" -runs="$runs" -max_total_time="$per" -print_final_stats=1 \
    -artifact_prefix="$build/fuzz-artifacts/$t-" "$build/fuzz-corpus/$t" "$here/corpus/$t" >"$log" 2>&1 || rc=$?
  t1=$(date +%s)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  [ -n "$execs" ] || execs=$(sed -n 's/^#\([0-9]*\).*/\1/p' "$log" | tail -n 1)
  if [ "$rc" -ne 0 ]; then
    art=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
    result="CRASH(rc=$rc)${art:+ $art}"
    tail -n 60 "$log"
  fi
  [ "$result" = ok ] || failed=1
  line=$(printf 'fuzz: %-12s seed=%s execs=%s secs=%s regressions=%s result=%s' \
         "$t" "$seed" "${execs:-?}" "$((t1 - t0))" "$nreg" "$result")
  echo "$line"
  summary="$summary$line
"
done
echo "fuzz: ---- summary (seed $seed, $(( $(date +%s) - start_all )) s) ----"
printf '%s' "$summary"
if [ "$failed" -ne 0 ]; then
  echo "fuzz: FAILED; replay with BITNET_FUZZ_SEED=$seed BITNET_FUZZ_TARGETS='<target>' $0 $build; inputs in $build/fuzz-artifacts/"
  exit 1
fi
