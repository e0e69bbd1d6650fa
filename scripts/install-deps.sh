#!/usr/bin/env bash
# Installs what building and testing bitnet needs on Debian/Ubuntu.
# Safe to re-run; skips apt when everything is already present.
#   scripts/install-deps.sh            the native build and its tests
#   scripts/install-deps.sh --aarch64  also the aarch64 cross build run under
#                                      qemu (scripts/test-aarch64.sh): the
#                                      cross gcc, qemu-user and the arm64
#                                      multiarch -dev packages (Debian 12
#                                      ships them at the same versions as the
#                                      amd64 ones, so both coexist)
set -euo pipefail
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"

pkgs=(build-essential cmake pkg-config libhwloc-dev libinih-dev check
      libcjson-dev libpcre2-dev libmicrohttpd-dev haproxy chromium chromium-driver clang python3 python3-pip)

if [ "${1:-}" = "--aarch64" ]; then
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    echo "install-deps: dpkg --add-architecture arm64"
    $SUDO dpkg --add-architecture arm64
    $SUDO apt-get update -qq
  fi
  pkgs+=(gcc-aarch64-linux-gnu qemu-user
         libhwloc-dev:arm64 libinih-dev:arm64 check:arm64 libcjson-dev:arm64
         libpcre2-dev:arm64 libmicrohttpd-dev:arm64)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Python side of the tests: HF tokenizers (tokenizer parity), llama.cpp's
# gguf-py (an independent GGUF reader), the official openai client (server
# API test), selenium (the chat page in Debian's chromium) and the SIMDe
# headers (simde-py: the cpu-avx512 plugin's code run on CPUs without
# AVX-512, tests/avx512-emul; Debian's libsimde-dev 0.7 lacks intrinsics it
# needs). module=pip spec.
for pair in tokenizers=tokenizers gguf=gguf openai=openai selenium=selenium simde_py=simde-py==0.8.2.post1; do
  mod=${pair%%=*}; spec=${pair#*=}
  if ! python3 -c "import $mod" 2>/dev/null; then
    echo "install-deps: pip install $spec"
    python3 -m pip install -q "$spec" 2>/dev/null ||
      python3 -m pip install -q --break-system-packages "$spec"
  fi
done
