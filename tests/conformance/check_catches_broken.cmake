# Runs the conformance suite on the "test-broken" plugin only, with one
# deliberate mistake (MUTATION, see tests/plugins/broken/broken.c) and, if
# ONLY is set, just that group of ops. Passes if the suite failed cleanly
# (exit status 1, not a crash) and every FAIL line blames test-broken on
# EXPECT (a regex for the start of the line after "FAIL plugin=test-broken ")
# - nothing else, and nothing in the reference.
set(ENV{BITNET_PLUGIN_PATH} "${PLUGIN_DIR}")
set(ENV{BN_CONFORMANCE_PLUGINS} "test-broken")
set(ENV{BN_BROKEN} "${MUTATION}")
set(ENV{BN_CONFORMANCE_ONLY} "${ONLY}")
execute_process(COMMAND ${BIN} OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
message("${out}")

set(problems "")
if(NOT rc STREQUAL "1")
  string(APPEND problems "exit status '${rc}', expected 1 (failures reported, no crash)\n${err}\n")
endif()
if(NOT out MATCHES "SUMMARY plugin=test-broken ")
  string(APPEND problems "the suite did not finish the test-broken run\n")
endif()
if(NOT out MATCHES "FAIL plugin=test-broken ${EXPECT}")
  string(APPEND problems "no failure reported for ${MUTATION} (${EXPECT})\n")
endif()
string(REPLACE ";" "," flat "${out}") # a ';' inside a message would split the list
string(REGEX MATCHALL "FAIL plugin=[^\n]*" fails "${flat}")
foreach(line IN LISTS fails)
  if(NOT line MATCHES "^FAIL plugin=test-broken ${EXPECT}")
    string(APPEND problems "unexpected failure: ${line}\n")
  endif()
endforeach()
if(problems)
  message(FATAL_ERROR "conformance control ${MUTATION}:\n${problems}")
endif()
