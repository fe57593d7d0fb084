# Installs the already-built library into a scratch prefix, then configures, builds and runs the
# out-of-tree app in tests/install/app against it.
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}")
  endif()
  set(last_output "${out}" PARENT_SCOPE)
endfunction()

run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})

# The installed headers are the public face: no event-loop backend, and nothing that needs the
# library's private dependencies to compile.
if(EXISTS ${prefix}/include/ringcast/net/backend/detail/io_uring_loop.hpp)
  message(FATAL_ERROR "an internal header (io_uring_loop.hpp) was installed")
endif()
file(GLOB_RECURSE headers ${prefix}/include/ringcast/*.hpp)
list(LENGTH headers count)
if(count LESS 30)
  message(FATAL_ERROR "only ${count} headers were installed")
endif()
foreach(h IN LISTS headers)
  file(STRINGS ${h} private REGEX "^#include <(liburing|openssl/|zlib|simdjson|libdeflate)")
  if(private)
    message(FATAL_ERROR "${h} includes a private dependency: ${private}")
  endif()
endforeach()
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/install/app -B ${WORK_DIR}/app -G Ninja
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=Release)
run(${CMAKE_COMMAND} --build ${WORK_DIR}/app)
run(${WORK_DIR}/app/installed_app)
if(NOT last_output MATCHES "installed ringcast works")
  message(FATAL_ERROR "the app did not print its line:\n${last_output}")
endif()
