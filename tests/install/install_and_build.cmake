# Installs the already-built library into a scratch prefix, checks what was installed, then configures
# and builds an out-of-tree project against it with find_package(ringcast):
#   cmake -DSOURCE_DIR=<repo> -DBUILD_DIR=<tree> -DWORK_DIR=<scratch> -DPROJECT=<folder of the project>
#         [-DRUN=<program of the project> -DEXPECT=<text it must print>] -P install_and_build.cmake
# The prefix is WORK_DIR/prefix, the project's build tree WORK_DIR/project.
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
# Warnings are errors: what users copy should compile cleanly.
run(${CMAKE_COMMAND} -S ${PROJECT} -B ${WORK_DIR}/project -G Ninja
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS=-Werror)
run(${CMAKE_COMMAND} --build ${WORK_DIR}/project)
if(RUN)
  run(${WORK_DIR}/project/${RUN})
  if(NOT last_output MATCHES "${EXPECT}")
    message(FATAL_ERROR "${RUN} did not print \"${EXPECT}\":\n${last_output}")
  endif()
endif()
