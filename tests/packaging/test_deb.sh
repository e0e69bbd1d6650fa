#!/bin/sh
# The Debian package from `cpack -G DEB`: its control data and file list are
# checked as any user; as root it is also installed, run on the bundled
# model, used by a find_package()/pkg-config consumer, removed and purged,
# leaving nothing behind. Changes the system, so CI runs it, not ctest.
# usage: test_deb.sh BUILD_DIR      exit: 0 pass, 1 fail, 77 skip
set -eu
build=$(cd "${1:?usage: test_deb.sh BUILD_DIR}" && pwd)
[ -f "$build/CPackConfig.cmake" ] || { echo "FAIL: no CPackConfig.cmake in $build"; exit 1; }
cache_var() { sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt"; }
src=$(cache_var CMAKE_HOME_DIRECTORY)
sanitize=$(cache_var BITNET_SANITIZE)
cc=$(cache_var CMAKE_C_COMPILER)
fail() { echo "FAIL: $*"; exit 1; }

t=$(mktemp -d)
installed=""
cleanup() {
    # Never leave the package on the machine, whatever failed.
    [ -n "$installed" ] && dpkg -P bitnet >/dev/null 2>&1
    rm -rf "$t"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ---- build the package (into the temp dir, not the build tree) ----------
(cd "$build" && cpack -G DEB -B "$t/out") >"$t/cpack.log" 2>&1 || { cat "$t/cpack.log"; fail "cpack -G DEB"; }
set -- "$t"/out/bitnet_*.deb
if [ $# -ne 1 ] || [ ! -f "$1" ]; then fail "expected one bitnet_*.deb, got: $*"; fi
deb=$1
echo "package: $(basename "$deb")"

# ---- control data ---------------------------------------------------------
[ "$(dpkg-deb -f "$deb" Package)" = bitnet ] || fail "package name"
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
for d in libc6 libhwloc15 libinih1 libpcre2-8-0 libcjson1; do
    echo ", $depends," | grep -q "[, ]${d}[ ,]" || fail "Depends lacks $d"
done

# ---- file list: all under /usr, laid out as core/src/paths.c expects ------
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' >"$t/list"
grep -v -e '^/usr/' -e '^/$' "$t/list" && fail "files outside /usr"
lib=$(grep -E '/libbitnet\.so\.[0-9]+$' "$t/list") || fail "no libbitnet.so.N"
libdir=$(dirname "$lib")
# libbitnet looks for plugins in <libdir>/bitnet/plugins and for the model
# in <libdir>/../share: the libdir must be one level below /usr.
[ "$(dirname "$libdir")" = /usr ] || fail "libdir $libdir is not /usr/<dir>: the model would not be found"
for f in /usr/bin/bitnet "$libdir/bitnet/plugins/bitnet-plugin-reference.so" \
         /usr/share/bitnet/models/default.gguf /usr/include/bitnet/bitnet.h \
         "$libdir/pkgconfig/bitnet.pc" "$libdir/cmake/bitnet/bitnetConfig.cmake" \
         "$libdir/cmake/bitnet/bitnetConfigVersion.cmake"; do
    grep -qx "$f" "$t/list" || fail "$f not in the package"
done

# ---- no build-machine paths inside any file -------------------------------
dpkg-deb -x "$deb" "$t/x"
if grep -rl -e "$build" -e "$src" "$t/x"; then fail "build/source paths in the files above"; fi
echo "package contents checks passed"

# ---- install, run, remove: root only, and only on a machine without it ----
if [ "$(id -u)" != 0 ]; then
    echo "SKIP: needs root to install the package (contents checks passed)"; exit 77
fi
if [ "$(dpkg-query -W -f='${db:Status-Status}' bitnet 2>/dev/null || true)" = installed ]; then
    echo "SKIP: package bitnet already installed here; not touching it"; exit 77
fi
# Files dpkg would overwrite and then delete on removal (a manual install):
# refuse rather than destroy them.
files=$(dpkg-deb -c "$deb" | awk '$1 !~ /^d/ {print $6}' | sed 's|^\./|/|')
for f in $files; do
    if [ -e "$f" ] || [ -L "$f" ]; then echo "SKIP: $f already exists on this machine"; exit 77; fi
done
owndirs="$libdir/bitnet /usr/share/bitnet /usr/include/bitnet $libdir/cmake/bitnet"
fresh=""
for d in $owndirs; do [ -e "$d" ] || fresh="$fresh $d"; done

# Dependencies already present: dpkg alone, no network. Otherwise apt fetches
# them; those are removed again at the end.
missing=""
for d in $(echo "$depends" | tr ',' '\n' | sed 's/(.*//; s/|.*//' | tr -d ' '); do
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$d" 2>/dev/null || true)" = installed ] || missing="$missing $d"
done
installed=yes
if [ -z "$missing" ]; then
    dpkg -i "$deb" >"$t/install.log" 2>&1 || { cat "$t/install.log"; fail "dpkg -i"; }
else
    echo "installing missing dependencies with apt:$missing"
    apt-get install -y "$deb" >"$t/install.log" 2>&1 || { cat "$t/install.log"; fail "apt-get install"; }
fi
echo "installed: $(dpkg-query -W -f='${Package} ${Version} ${db:Status-Status}' bitnet)"

# Run from / with no library path, so only the installed layout can work.
cd /
run() { env -u LD_LIBRARY_PATH "$@"; }
out=$(run /usr/bin/bitnet plugins 2>&1) || { echo "$out"; fail "bitnet plugins"; }
echo "$out"
echo "$out" | grep -Eq '^\* [a-z0-9-]+ .*chosen(: .*)?$' || fail "installed bitnet chooses no plugin"
echo "$out" | grep -q "$libdir/bitnet/plugins" || fail "plugin search path is not $libdir/bitnet/plugins"

out=$(run /usr/bin/bitnet run -p "In the beginning" -n 8 --temp 0 2>"$t/run.err") ||
    { cat "$t/run.err"; fail "bitnet run exited non-zero"; }
echo "bitnet run: $out"
[ -n "$(echo "$out" | tr -d '[:space:]')" ] || { cat "$t/run.err"; fail "bitnet run printed nothing"; }

# The system-wide pkg-config and CMake package files serve a client.
[ "$(pkg-config --modversion bitnet)" = "$(dpkg-deb -f "$deb" Version)" ] || fail "pkg-config bitnet"
flags=""
[ "$sanitize" = ON ] && flags="-fsanitize=address,undefined"
if ! cmake -S "$src/tests/install/consumer" -B "$t/app" -DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="$flags" >"$t/app.log" 2>&1 ||
   ! cmake --build "$t/app" >>"$t/app.log" 2>&1; then
    cat "$t/app.log"; fail "consumer against /usr"
fi
grep -qx "bitnet_DIR:PATH=$libdir/cmake/bitnet" "$t/app/CMakeCache.txt" || fail "consumer found bitnet elsewhere"
out=$(run "$t/app/app") || fail "consumer run"
echo "$out" | grep -qx "model /usr/share/bitnet/models/default.gguf" || { echo "$out"; fail "consumer model path"; }

# ---- remove, then purge: nothing of the package may remain ----------------
dpkg -r bitnet >"$t/remove.log" 2>&1 || { cat "$t/remove.log"; fail "dpkg -r bitnet"; }
for f in $files; do
    if [ -e "$f" ] || [ -L "$f" ]; then fail "$f still there after dpkg -r"; fi
done
for d in $fresh; do [ ! -e "$d" ] || fail "$d still there after dpkg -r"; done
dpkg -P bitnet >"$t/purge.log" 2>&1 || { cat "$t/purge.log"; fail "dpkg -P bitnet"; }
installed=""
status=$(dpkg-query -W -f='${db:Status-Status}' bitnet 2>/dev/null || true)
[ -z "$status" ] || [ "$status" = not-installed ] || fail "dpkg still lists bitnet as '$status'"
if [ -n "$missing" ]; then
    # shellcheck disable=SC2086 # one word per package
    apt-get purge -y $missing >/dev/null 2>&1 || echo "warning: could not remove the dependencies apt added:$missing"
fi
echo "deb install/run/remove checks passed"
