#!/usr/bin/env bash
# One command from a fresh clone: install dependencies, build, install into
# ./out (a relocatable tree), and run the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DBITNET_BUILD_TESTS=OFF
cmake --build build -j"$(nproc)"
cmake --install build --prefix out >/dev/null
echo "installed into $(pwd)/out"
exec out/bin/bitnet plugins "$@"
