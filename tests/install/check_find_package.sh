#!/bin/sh
# find_package(bitnet) works for an outside project: install the build tree,
# move it (the CMake package files must not hold absolute paths), then
# configure, build and run consumer/ against it with CMAKE_PREFIX_PATH only.
# usage: check_find_package.sh BUILD SRC SANITIZE CMAKE CC GENERATOR VERSION
set -eu
build=$1 src=$2 sanitize=$3 cmake=$4 cc=$5 gen=$6 version=$7
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
"$cmake" --install "$build" --prefix "$t/first" >/dev/null
mv "$t/first" "$t/moved"
p=$(cd -P "$t/moved" && pwd)
for f in lib/cmake/bitnet/bitnetConfig.cmake lib/cmake/bitnet/bitnetConfigVersion.cmake \
         lib/cmake/bitnet/bitnet-targets.cmake lib/pkgconfig/bitnet.pc; do
    [ -e "$p/$f" ] || { echo "FAIL: $f missing from the install"; exit 1; }
done
if grep -rl "$build\|$src" "$p/lib/cmake/bitnet"; then
    echo "FAIL: build or source paths in the installed CMake package"; exit 1
fi
# An ASan/UBSan libbitnet needs its runtime in the program as well.
flags=""
[ "$sanitize" = "ON" ] && flags="-fsanitize=address,undefined"
"$cmake" -S "$src/tests/install/consumer" -B "$t/app" -G "$gen" -DCMAKE_C_COMPILER="$cc" \
    -DCMAKE_C_FLAGS="$flags" -DCMAKE_PREFIX_PATH="$p" -DCMAKE_BUILD_TYPE=Release >"$t/configure.log" 2>&1 ||
    { cat "$t/configure.log"; echo "FAIL: consumer configure"; exit 1; }
found=$(sed -n 's/^bitnet_DIR:PATH=//p' "$t/app/CMakeCache.txt")
[ "$found" = "$p/lib/cmake/bitnet" ] || { echo "FAIL: found bitnet in '$found', not in $p"; exit 1; }
"$cmake" --build "$t/app" >"$t/build.log" 2>&1 || { cat "$t/build.log"; echo "FAIL: consumer build"; exit 1; }
# The build-tree RUNPATH CMake gives the program points into the install.
out=$("$t/app/app") || { echo "$out"; echo "FAIL: consumer run"; exit 1; }
echo "$out"
echo "$out" | grep -qx "version $version" || { echo "FAIL: expected version $version"; exit 1; }
if [ -e "$p/share/bitnet/models/default.gguf" ]; then
    echo "$out" | grep -qx "model $p/share/bitnet/models/default.gguf" ||
        { echo "FAIL: default model not inside the install"; exit 1; }
fi
# Version check of bitnetConfigVersion.cmake: a newer major is refused.
mkdir "$t/src99"
sed 's/find_package(bitnet 0.1 REQUIRED)/find_package(bitnet 99 REQUIRED)/' \
    "$src/tests/install/consumer/CMakeLists.txt" >"$t/src99/CMakeLists.txt"
cp "$src/tests/install/consumer/main.c" "$t/src99/"
if "$cmake" -S "$t/src99" -B "$t/app99" -G "$gen" -DCMAKE_C_COMPILER="$cc" \
       -DCMAKE_PREFIX_PATH="$p" -DCMAKE_FIND_USE_CMAKE_SYSTEM_PATH=OFF >/dev/null 2>&1; then
    echo "FAIL: find_package(bitnet 99) accepted version $version"; exit 1
fi
echo "find_package checks passed"
