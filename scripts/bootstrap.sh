#!/usr/bin/env bash
# One command from a fresh clone: install dependencies, build, install into
# ./out (a relocatable tree), and run the main job: the bundled model
# continues a prompt (default "And God said", or the arguments given).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DBITNET_BUILD_TESTS=OFF
cmake --build build -j"$(nproc)"
cmake --install build --prefix out >/dev/null
echo "installed into $(pwd)/out"
out/bin/bitnet plugins | tail -n 1
prompt=${*:-And God said}
exec out/bin/bitnet run -p "$prompt" -n 64 --temp 0.7 --seed 1
