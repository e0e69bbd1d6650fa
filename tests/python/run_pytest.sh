#!/usr/bin/env bash
# The Python package as a user gets it: a fresh virtual environment,
# `pip install ./python` (scikit-build-core builds the whole project with
# CMake into the wheel), then the pytest suite against the installed copy.
# Usage: run_pytest.sh [REPO_ROOT]   env: PYTHON (default python3)
set -euo pipefail
src=$(cd "${1:-$(dirname "$0")/../..}" && pwd)
py=${PYTHON:-python3}
start=$(date +%s)
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT

# Nothing from the caller's environment may stand in for the installed package.
unset PYTHONPATH BITNET_LIBRARY BITNET_CLI VIRTUAL_ENV
export PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
# The C build is the slow part: one job per core.
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc 2>/dev/null || echo 2)}

if ! "$py" -m venv "$t/venv"; then
    echo "FAIL: '$py -m venv' does not work (Debian/Ubuntu: apt-get install python3-venv)"
    exit 1
fi
vpy="$t/venv/bin/python"
# pip >= 21.3 builds a local directory in place; older pip copies python/
# alone to a temp dir, where cmake.source-dir = ".." would not be the repo.
"$vpy" -m pip install -q "pip>=21.3"
echo "== pip install $src/python pytest"
"$vpy" -m pip install -q "$src/python" pytest || { echo "FAIL: pip install of $src/python"; exit 1; }
echo "== built and installed in $(( $(date +%s) - start )) s"

# Run from a scratch directory so `import bitnet` cannot resolve to the
# source tree's python/bitnet (which has no library in it).
cd "$t"
"$vpy" - <<'PY'
import os, sys, bitnet
here = os.path.dirname(bitnet.__file__)
assert here.startswith(sys.prefix), "bitnet imported from %s, not the venv" % here
print("bitnet", bitnet.__version__, "from", here)
PY
rc=0
"$vpy" -m pytest -p no:cacheprovider -q -rfEs "$src/python/tests" || rc=$?
echo "== total $(( $(date +%s) - start )) s, pytest exit $rc"
exit $rc
