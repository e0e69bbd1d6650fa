# `cpack -G DEB` in the build tree: one package "bitnet" with the CLI,
# libbitnet, the plugins, the bundled model and the development files,
# installed under /usr.
#
# The install locates everything relative to libbitnet (core/src/paths.c):
# plugins in <libdir>/bitnet/plugins, the model in <libdir>/../share/...,
# and bitnet.pc uses ${pcfiledir}/../.. . That holds only for a one-level
# libdir, so the top CMakeLists.txt sets CMAKE_INSTALL_LIBDIR=lib (which
# GNUInstallDirs would make lib/<multiarch> for a /usr prefix); this warns
# when someone overrides it.
if(CMAKE_INSTALL_LIBDIR MATCHES "/")
  message(WARNING "CMAKE_INSTALL_LIBDIR=${CMAKE_INSTALL_LIBDIR} has more than one level: "
    "the installed tree will not find its bundled model or pkg-config prefix. "
    "Configure without CMAKE_INSTALL_PREFIX=/usr (CPack installs under /usr anyway) "
    "or with -DCMAKE_INSTALL_LIBDIR=lib.")
endif()

set(BITNET_PACKAGE_MAINTAINER "bitnet maintainers <maintainers@users.noreply.b-seed-f48f0042.example>"
  CACHE STRING "Maintainer field of the packages cpack builds")

set(CPACK_PACKAGE_NAME bitnet)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "bitnet project")
set(CPACK_PACKAGE_CONTACT "${BITNET_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Engine for 1.58-bit (ternary) language models")
# Line breaks kept: CPack indents them into the control file's extended
# description.
set(CPACK_PACKAGE_DESCRIPTION "A C engine for BitNet b1.58 models. A small core library probes
the hardware and loads the best-matching backend plugin at run time.
Ships the bitnet command, libbitnet, its plugins, headers, pkg-config
and CMake package files, and a small bundled model.")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# Stripping drops the DWARF info, the only place build-tree paths survive
# in the binaries; the install already rewrote RUNPATH to $ORIGIN/../lib.
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${BITNET_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
# Depends from the ELF files (libhwloc15, libinih1, libpcre2-8-0, libcjson1,
# libc6) instead of a hand-kept list.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# A shlibs file for libbitnet.so.0, so packages built against it get a
# Depends on bitnet themselves (CPack warns that the plugins, dlopen()ed
# modules without a SONAME, are left out of it: intended). CPack adds the
# ldconfig postinst/postrm because the library lands in /usr/lib.
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

# `make package_source`: the tracked sources, not build trees or outputs.
set(CPACK_SOURCE_GENERATOR TGZ)
set(CPACK_SOURCE_IGNORE_FILES "/\\\\.git/" "/build[^/]*/" "/out/" "__pycache__")

include(CPack)
