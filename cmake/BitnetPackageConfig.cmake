# CMake package for consumers: find_package(bitnet) gives the imported
# target bitnet::bitnet (library + include dir). Files go to
# lib/cmake/bitnet/, where find_package searches under CMAKE_PREFIX_PATH.
# Paths inside are relative to the config file, so the tree stays
# relocatable like bitnet.pc.
include(CMakePackageConfigHelpers)

set(BITNET_CMAKE_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/bitnet)
set(BITNET_MODEL_INSTALL_DIR ${CMAKE_INSTALL_DATADIR}/bitnet/models)

install(EXPORT bitnet-targets NAMESPACE bitnet::
  FILE bitnet-targets.cmake DESTINATION ${BITNET_CMAKE_INSTALL_DIR})

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/bitnetConfig.cmake.in
  ${PROJECT_BINARY_DIR}/bitnetConfig.cmake
  INSTALL_DESTINATION ${BITNET_CMAKE_INSTALL_DIR}
  PATH_VARS BITNET_PLUGIN_INSTALL_DIR BITNET_MODEL_INSTALL_DIR)
# Same rule as the SONAME (libbitnet.so.<major>): any 0.y.z satisfies 0.1.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/bitnetConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)

install(FILES ${PROJECT_BINARY_DIR}/bitnetConfig.cmake ${PROJECT_BINARY_DIR}/bitnetConfigVersion.cmake
  DESTINATION ${BITNET_CMAKE_INSTALL_DIR})
