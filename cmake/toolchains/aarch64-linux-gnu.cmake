# Cross build for aarch64 Linux with Debian's cross compiler and the arm64
# multiarch -dev packages (scripts/install-deps.sh --aarch64), run under
# qemu-user (the CPU model comes from $QEMU_CPU: cortex-a53, cortex-a76,
# "max,sve=off", ...):
#   cmake -S . -B build-aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake
# scripts/test-aarch64.sh builds with it and runs the test subset.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(BITNET_CROSS_TRIPLE aarch64-linux-gnu)

set(CMAKE_C_COMPILER ${BITNET_CROSS_TRIPLE}-gcc)
set(CMAKE_AR ${BITNET_CROSS_TRIPLE}-ar CACHE FILEPATH "")
set(CMAKE_RANLIB ${BITNET_CROSS_TRIPLE}-ranlib CACHE FILEPATH "")
set(CMAKE_STRIP ${BITNET_CROSS_TRIPLE}-strip CACHE FILEPATH "")

# Target libraries: the cross libc under /usr/aarch64-linux-gnu and the
# multiarch packages under /usr/lib/aarch64-linux-gnu (Debian's cross gcc
# searches both by itself). Headers of the multiarch -dev packages are
# architecture-independent and live in /usr/include, so the host's tree is
# the root; libraries are searched in the aarch64 directories only.
set(CMAKE_LIBRARY_ARCHITECTURE ${BITNET_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH /usr/${BITNET_CROSS_TRIPLE} /usr)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)   # cmake, sh, python3: the host's
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config answers for arm64: only the aarch64 .pc files (and the
# architecture-independent ones), never the host's x86_64 ones. Set in the
# environment so that the configure step and every re-run of it agree.
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/${BITNET_CROSS_TRIPLE}/pkgconfig:/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "")

# Built programs (tests, try_run) run under qemu-user; QEMU_CPU in the
# environment picks the CPU model. -L / (the host's root), not
# -L /usr/aarch64-linux-gnu: the arm64 -dev packages pull in the multiarch
# libc6:arm64, whose libc.so.6 in /lib/aarch64-linux-gnu is the one the
# loader finds first (ld.so.cache), so its dynamic loader
# /lib/ld-linux-aarch64.so.1 must be the one used. The cross package's
# loader (libc6-arm64-cross, another Debian revision) with that libc.so.6
# hangs in the first pthread_create (the two disagree on the layout of
# _rtld_global; seen with 2.36-8cross1 and 2.36-9+deb12u14).
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64;-L;/)
