# Helper of discover_tests.cmake: lists the test cases of EXE and writes add_test calls into OUT.
execute_process(COMMAND ${EXE} ${FILTER} --list-test-cases --no-intro=true
                OUTPUT_VARIABLE out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "listing the tests of ${EXE} failed (${rc}):\n${out}")
endif()
string(REPLACE ";" "\\;" out "${out}")
string(REPLACE "\n" ";" lines "${out}")
set(script "")
foreach(name IN LISTS lines)
  if(name STREQUAL "" OR name MATCHES "^=+$" OR name MATCHES "^\\[doctest\\]")
    continue()
  endif()
  # doctest filters treat , as a separator and * ? as wildcards; escape them in the exact name.
  string(REGEX REPLACE "([,*?\\\\])" "\\\\\\1" escaped "${name}")
  set(script "${script}add_test([==[${PREFIX}${name}]==] \"${EXE}\" [==[--test-case=${escaped}]==] ${ARGS})\n")
  set(script "${script}set_tests_properties([==[${PREFIX}${name}]==] PROPERTIES LABELS \"${LABELS}\" TIMEOUT ${TIMEOUT} ${PROPS})\n")
endforeach()
file(WRITE ${OUT} "${script}")
