#!/usr/bin/env bash
# The standard speed matrix: a model of the BitNet-b1.58-2B-4T shape with
# random weights (8-bit Q8_0 LM head) x ternary formats x plugins x kernel
# families x threads, each measured with `bitnet bench` (ppN and tgN), then
# written as a markdown table and a PNG plot.
#
#   bash bench/matrix.sh [BUILD_DIR]          (default BUILD_DIR: build)
#
# Settings (environment):
#   FORMATS="i2_s tq2_0 tq1_0"   ternary formats of the linear layers
#   PLUGINS="cpu-avx2 cpu-avx512" backends (the reference plugin needs hours)
#   KERNELS="mad tl1 tl2"        kernel families
#   LUT_FORMATS="i2_s"           formats the LUT kernels (tl1, tl2) run on
#   THREADS="1 2"  PP=512  TG=128  REPS=3
#   MODELS_DIR=BUILD_DIR/bench-models (made once: about 4 min, 2.6 GB)
#   OUT=docs                     bench-matrix.{json,md,png} land here
#   PYTHON=python3               needs matplotlib (pip install matplotlib)
# Run it on a quiet machine: every other job on the cores shows up in the
# figures. A configuration a plugin cannot run is recorded with its reason.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
bitnet=$build/bin/bitnet
make_model=$build/bin/bitnet-make-model
FORMATS=${FORMATS:-"i2_s tq2_0 tq1_0"}
PLUGINS=${PLUGINS:-"cpu-avx2 cpu-avx512"}
KERNELS=${KERNELS:-"mad tl1 tl2"}
LUT_FORMATS=${LUT_FORMATS:-"i2_s"}
THREADS=${THREADS:-"1 2"}
PP=${PP:-512}
TG=${TG:-128}
REPS=${REPS:-3}
MODELS_DIR=${MODELS_DIR:-$build/bench-models}
OUT=${OUT:-$root/docs}
PYTHON=${PYTHON:-python3}
VOCAB=${VOCAB:-$root/tests/fixtures/tokenizers/llama3-bpe}

for f in "$bitnet" "$make_model"; do
    [ -x "$f" ] || { echo "matrix: $f not found; build first (cmake -B build && cmake --build build)" >&2; exit 2; }
done
"$PYTHON" -c 'import matplotlib' 2>/dev/null ||
    { echo "matrix: $PYTHON cannot import matplotlib (pip install matplotlib, or set PYTHON)" >&2; exit 2; }
mkdir -p "$MODELS_DIR" "$OUT"

# Models: I2_S written by the GGUF writer, the other formats re-encoded from
# it (lossless: same codes, exact scales).
base=$MODELS_DIR/2b4t-i2_s-q8head.gguf
if [ ! -s "$base" ]; then
    [ -e "$VOCAB" ] || { echo "matrix: vocabulary $VOCAB not found (set VOCAB)" >&2; exit 2; }
    echo "matrix: writing $base (random weights, 2B-4T shape)" >&2
    "$make_model" -o "$base.tmp" --vocab "$VOCAB" --type i2_s --embd-type q8_0
    mv "$base.tmp" "$base"
fi
model_for() {
    local m=$MODELS_DIR/2b4t-$1-q8head.gguf
    if [ ! -s "$m" ]; then
        echo "matrix: re-encoding to $1 -> $m" >&2
        "$bitnet" convert "$base" -o "$m.tmp" --type "$1" -q && mv "$m.tmp" "$m"
    fi
    echo "$m"
}

results=$OUT/bench-matrix.json
log=$OUT/bench-matrix.log
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
: >"$log"
echo "[" >"$tmp/all"
first=1
for fmt in $FORMATS; do
    model=$(model_for "$fmt")
    for plugin in $PLUGINS; do
        for kernel in $KERNELS; do
            case "$kernel" in tl1|tl2) [[ " $LUT_FORMATS " == *" $fmt "* ]] || continue ;; esac
            for t in $THREADS; do
                echo "matrix: $fmt $plugin $kernel t=$t" >&2
                args=(bench -m "$model" --backend "$plugin" --kernel "$kernel" -t "$t" -p "$PP" -n "$TG" -r "$REPS" -o json)
                if "$bitnet" "${args[@]}" >"$tmp/one" 2>"$tmp/err"; then
                    # one JSON array per run: keep its objects, tagged with the format
                    "$PYTHON" - "$tmp/one" "$fmt" >"$tmp/objs" <<'EOF'
import json, sys
rows = json.load(open(sys.argv[1]))
for r in rows:
    r["format"] = sys.argv[2]
print(",\n".join(json.dumps(r) for r in rows))
EOF
                else
                    reason=$(grep -v '^\s*$' "$tmp/err" | tail -1 | tr -d '"\\' | cut -c1-200)
                    printf '{"format": "%s", "backend": "%s", "kernel": "%s", "threads": %s, "error": "%s"}\n' \
                        "$fmt" "$plugin" "$kernel" "$t" "$reason" >"$tmp/objs"
                fi
                cat "$tmp/err" >>"$log"
                [ $first = 1 ] || echo "," >>"$tmp/all"
                first=0
                cat "$tmp/objs" >>"$tmp/all"
            done
        done
    done
done
echo "]" >>"$tmp/all"
mv "$tmp/all" "$results"
"$PYTHON" "$root/bench/plot_matrix.py" "$results" "$OUT/bench-matrix.md" "$OUT/bench-matrix.png"
echo "matrix: wrote $results, $OUT/bench-matrix.md, $OUT/bench-matrix.png" >&2
