# Runs one negative control (see CMakeLists.txt): CMD ("!!"-separated) with
# the mutated libbitnet in LIBDIR first on the library path, if any. Passes
# only if CMD failed cleanly - exit status 1-127, not a signal or a timeout -
# and its output matches EXPECT (the failure the mutation should cause, not
# some unrelated error such as a missing file).
string(REPLACE "!!" ";" cmd "${CMD}")
if(LIBDIR)
  set(ENV{LD_LIBRARY_PATH} "${LIBDIR}")
endif()
set(ENV{BITNET_PLUGIN_PATH} "${PLUGIN_DIR}")
unset(ENV{BITNET_BACKEND})
execute_process(COMMAND ${cmd} OUTPUT_VARIABLE out ERROR_VARIABLE out RESULT_VARIABLE rc TIMEOUT 240)
string(LENGTH "${out}" n)
if(n GREATER 6000)
  math(EXPR from "${n} - 6000")
  string(SUBSTRING "${out}" ${from} -1 out)
endif()
message("${out}")
if(NOT rc MATCHES "^[0-9]+$" OR rc EQUAL 0 OR rc GREATER 127)
  message(FATAL_ERROR "mutation ${NAME}: want a clean test failure, got exit status '${rc}'")
endif()
if(NOT out MATCHES "${EXPECT}")
  message(FATAL_ERROR "mutation ${NAME}: the test failed, but not with '${EXPECT}'")
endif()
message("mutation ${NAME}: caught (exit ${rc})")
