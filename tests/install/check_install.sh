#!/bin/sh
# `cmake --install` gives a relocatable tree: moved elsewhere it still finds
# its plugins, its headers and pkg-config file build a program, and only
# bn_plugin_entry is exported by each plugin.
set -eu
build=$1 src=$2 sanitize=${3:-OFF}
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
cmake --install "$build" --prefix "$t/first" >/dev/null
mv "$t/first" "$t/moved"
p="$t/moved"
for f in bin/bitnet include/bitnet/backend.h include/bitnet/bitnet.h lib/pkgconfig/bitnet.pc \
         lib/bitnet/plugins/bitnet-plugin-reference.so; do
    [ -e "$p/$f" ] || { echo "FAIL: $f missing from the install"; exit 1; }
done
ls "$p"/lib/libbitnet.so* >/dev/null
out=$("$p/bin/bitnet" plugins)
echo "$out" | grep -Eq "^\* [a-z0-9-]+ .*chosen(: .*)?$" || { echo "FAIL: relocated install chooses no plugin"; echo "$out"; exit 1; }
echo "$out" | grep -Eq "^[* ] reference +10 " || { echo "FAIL: relocated install lacks a usable reference"; echo "$out"; exit 1; }
echo "$out" | grep -q "$p/lib/bitnet/plugins" || { echo "FAIL: search path not inside the relocated tree"; echo "$out"; exit 1; }
for so in "$p"/lib/bitnet/plugins/*.so; do
    syms=$(nm -D --defined-only "$so" | awk '{print $3}' | grep -v -E '^(_init|_fini|_edata|_end|__bss_start)$' || true)
    [ "$syms" = "bn_plugin_entry" ] || { echo "FAIL: $so exports: $syms"; exit 1; }
done
# a program built against the installed tree through pkg-config
cat >"$t/use.c" <<'C'
#include <bitnet/bitnet.h>
#include <stdio.h>
int main(void) { printf("%s\n", bn_version()); return 0; }
C
flags=$(PKG_CONFIG_PATH="$p/lib/pkgconfig" pkg-config --cflags --libs bitnet)
extra=""
[ "$sanitize" = "ON" ] && extra="-fsanitize=address,undefined"
cc $extra "$t/use.c" -o "$t/use" $flags -Wl,-rpath,"$p/lib"
"$t/use" | grep -q '^[0-9]' || { echo "FAIL: program against the install"; exit 1; }
# the library exports only bn_ symbols
bad=$(nm -D --defined-only "$p"/lib/libbitnet.so | awk '$2 ~ /[TDBR]/ {print $3}' | grep -v '^bn_' || true)
[ -z "$bad" ] || { echo "FAIL: libbitnet exports non-bn_ symbols: $bad"; exit 1; }
echo "install checks passed"
