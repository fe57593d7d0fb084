# The rule of tests/support/required_program.hpp for the tests ctest runs without doctest (interop,
# browser): a test whose program is missing runs this script in its place. Under CI (CI=true) it
# fails, since a CI machine has everything scripts/setup installs; elsewhere it prints the skip
# marker, and ctest lists the test as skipped.
#
#   cmake -DWHAT=node "-DHOW=scripts/setup installs it" -P tests/support/missing_program.cmake
if("$ENV{CI}" STREQUAL "true")
  message(FATAL_ERROR "${WHAT} is missing, and CI=true requires it (${HOW})")
endif()
message("ringcast-test-skipped: ${WHAT} is missing (${HOW})")
