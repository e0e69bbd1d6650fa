# bitnet_add_plugin(<name> SOURCES ... [DEST <dir>] [NO_INSTALL] [COMMON] [MAD])
# COMMON compiles plugins/common/ (tensor views, formats, encoders) into the
# module as well; MAD adds plugins/common/mad/ (the MAD / LUT ternary weight
# layouts of cpu-avx2 and cpu-neon).
# Builds a backend plugin module "bitnet-plugin-<name>.so". Plugins include
# only bitnet/backend.h and never link libbitnet: the core hands them a
# services table at init.
function(bitnet_add_plugin name)
  cmake_parse_arguments(P "NO_INSTALL;COMMON;MAD" "DEST" "SOURCES" ${ARGN})
  set(target bitnet-plugin-${name})
  if(P_COMMON)
    file(GLOB common_sources ${PROJECT_SOURCE_DIR}/plugins/common/*.c)
    list(APPEND P_SOURCES ${common_sources})
  endif()
  if(P_MAD)  # the MAD / LUT weight layouts (cpu-avx2, cpu-neon)
    file(GLOB mad_sources ${PROJECT_SOURCE_DIR}/plugins/common/mad/*.c)
    list(APPEND P_SOURCES ${mad_sources})
  endif()
  add_library(${target} MODULE ${P_SOURCES})
  target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/core/include ${PROJECT_SOURCE_DIR}/plugins/common)
  if(P_MAD)
    target_include_directories(${target} PRIVATE ${PROJECT_SOURCE_DIR}/plugins/common/mad)
  endif()
  if(NOT P_DEST)
    set(P_DEST ${BITNET_PLUGIN_BUILD_DIR})
  endif()
  set_target_properties(${target} PROPERTIES PREFIX "" OUTPUT_NAME ${target}
    LIBRARY_OUTPUT_DIRECTORY ${P_DEST} C_VISIBILITY_PRESET hidden
    INSTALL_RPATH "")  # plugins link nothing of ours: no RUNPATH to carry
  target_link_libraries(${target} PRIVATE m)
  # Exactly one exported symbol: the entry point.
  target_link_options(${target} PRIVATE "LINKER:--no-undefined")
  if(NOT P_NO_INSTALL)
    install(TARGETS ${target} LIBRARY DESTINATION ${BITNET_PLUGIN_INSTALL_DIR})
  endif()
endfunction()
