# Registers one ctest test per doctest test case of a test binary (run at build time, after linking).
#   ringcast_discover_tests(target PREFIX p FILTER --test-suite=io ARGS --backend=x LABELS a b)
# Unlike doctest's own discovery, FILTER takes any doctest filter and LABELS are kept.
set(_ringcast_discover_script ${CMAKE_CURRENT_LIST_DIR}/discover_tests_run.cmake)

function(ringcast_discover_tests target)
  cmake_parse_arguments(D "" "PREFIX;TIMEOUT" "FILTER;ARGS;LABELS;PROPERTIES" ${ARGN})
  string(SHA1 _hash "${D_PREFIX}${D_FILTER}${D_ARGS}")
  string(SUBSTRING ${_hash} 0 8 _hash)
  set(_out ${CMAKE_CURRENT_BINARY_DIR}/${target}_${_hash}_tests.cmake)
  set(_inc ${CMAKE_CURRENT_BINARY_DIR}/${target}_${_hash}_include.cmake)
  add_custom_command(TARGET ${target} POST_BUILD BYPRODUCTS ${_out}
    COMMAND ${CMAKE_COMMAND} -DEXE=$<TARGET_FILE:${target}> -DOUT=${_out} "-DPREFIX=${D_PREFIX}"
            "-DFILTER=${D_FILTER}" "-DARGS=${D_ARGS}" "-DLABELS=${D_LABELS}" "-DTIMEOUT=${D_TIMEOUT}"
            "-DPROPS=${D_PROPERTIES}" -P ${_ringcast_discover_script}
    VERBATIM)
  file(WRITE ${_inc} "if(EXISTS \"${_out}\")\n  include(\"${_out}\")\nelse()\n  add_test(${target}_NOT_BUILT ${target}_NOT_BUILT)\nendif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${_inc})
endfunction()
