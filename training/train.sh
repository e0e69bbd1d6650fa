#!/bin/sh
# Re-train the bundled model from scratch and refresh everything derived
# from it: models/default.gguf and the fixtures in tests/trained/.
#
#   apt-get install -y bible-kjv        # the corpus (King James Bible, public domain)
#   python3 -m venv /tmp/bitnet-train && /tmp/bitnet-train/bin/pip install -r training/requirements.txt
#   PYTHON=/tmp/bitnet-train/bin/python BITNET=build/bin/bitnet training/train.sh [WORK_DIR]
#
# WORK_DIR (default /tmp/bitnet-train-out) receives the corpus, tokenizer,
# checkpoints and the Hugging Face export; none of it is committed. Running
# the script again resumes training from the last checkpoint there.
# Training is pinned to 2 threads and a fixed seed (1200 steps: 14 min on 2 idle
# cores, up to ~1.5 h when they are busy; bit-exact results also need the same torch build and CPU).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${1:-/tmp/bitnet-train-out}
PYTHON=${PYTHON:-python3}
BITNET=${BITNET:-$ROOT/build/bin/bitnet}
T=$ROOT/training
mkdir -p "$WORK/run"

"$PYTHON" "$T/corpus.py" --out "$WORK/data"
"$PYTHON" "$T/tokenizer_train.py" --train "$WORK/data/train.txt" --out "$WORK/tokenizer" --vocab 4096
"$PYTHON" "$T/unigram.py" --tokenizer "$WORK/tokenizer/tokenizer.json" --train "$WORK/data/train.txt" \
    --valid "$WORK/data/valid.txt" | tee "$WORK/unigram.json"
nice -n 10 "$PYTHON" "$T/train.py" --data "$WORK/data" --tokenizer "$WORK/tokenizer/tokenizer.json" \
    --out "$WORK/run" --steps 1200 --eval-every 150 --ckpt-every 50 --threads 2 --resume 2>&1 | tee -a "$WORK/run/train.log"
# (sh has no pipefail: check that the run finished instead)
tail -n 1 "$WORK/run/train.log" | grep -q "^done: 1200 steps" || { echo "training did not finish" >&2; exit 1; }
cp "$WORK/data/valid.txt" "$ROOT/tests/trained/valid.txt"
"$PYTHON" "$T/export.py" --ckpt "$WORK/run/ckpt.pt" --tokenizer-dir "$WORK/tokenizer" \
    --valid "$ROOT/tests/trained/valid.txt" --hf-out "$WORK/hf" --fixtures "$ROOT/tests/trained" --chunks 8
"$BITNET" convert "$WORK/hf" -o "$ROOT/models/default.gguf" --type i2_s --name bitnet-kjv-4m
echo "wrote $ROOT/models/default.gguf"
