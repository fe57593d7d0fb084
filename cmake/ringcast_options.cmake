# Compiler flags shared by every target of the project.
include(GNUInstallDirs)

function(ringcast_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wno-missing-field-initializers)
  if(RINGCAST_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

if(RINGCAST_SANITIZE)
  string(REPLACE "," ";" _sanitizers "${RINGCAST_SANITIZE}")
  foreach(_s IN LISTS _sanitizers)
    if(NOT _s MATCHES "^(address|undefined|thread|leak)$")
      message(FATAL_ERROR "RINGCAST_SANITIZE: unknown sanitizer '${_s}'")
    endif()
  endforeach()
  add_compile_options(-fsanitize=${RINGCAST_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${RINGCAST_SANITIZE})
  if(RINGCAST_SANITIZE MATCHES "thread")
    add_compile_definitions(RINGCAST_TSAN=1)
    # GCC's TSan does not model std::atomic_thread_fence. Ours only order the sleep/wake handshake
    # between shards (a liveness matter); every datum that crosses threads is published by
    # release/acquire atomics, which TSan does check.
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
      add_compile_options(-Wno-tsan)
    endif()
  endif()
  if(RINGCAST_SANITIZE MATCHES "address")
    add_compile_definitions(RINGCAST_ASAN=1)
  endif()
endif()

if(NOT RINGCAST_SANITIZE AND CMAKE_BUILD_TYPE STREQUAL "Release")
  add_compile_options(-march=x86-64-v2)
endif()

# Coverage instrumentation for libFuzzer in every target; fuzz targets add -fsanitize=fuzzer themselves.
if(RINGCAST_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "RINGCAST_FUZZ needs clang (CXX=clang++)")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
