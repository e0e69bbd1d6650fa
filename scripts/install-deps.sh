#!/usr/bin/env bash
# Installs what building and testing bitnet needs on Debian/Ubuntu.
# Safe to re-run; skips apt when everything is already present.
set -euo pipefail

pkgs=(build-essential cmake pkg-config libhwloc-dev libinih-dev check
      libcjson-dev libpcre2-dev libmicrohttpd-dev haproxy chromium chromium-driver clang python3 python3-pip)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Python side of the tests: HF tokenizers (tokenizer parity), llama.cpp's
# gguf-py (an independent GGUF reader), the official openai client (server
# API test) and selenium (the chat page in Debian's chromium).
for mod in tokenizers gguf openai selenium; do
  if ! python3 -c "import $mod" 2>/dev/null; then
    echo "install-deps: pip install $mod"
    python3 -m pip install -q "$mod" 2>/dev/null ||
      python3 -m pip install -q --break-system-packages "$mod"
  fi
done
