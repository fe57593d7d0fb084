# `cmake --install` puts the library, its headers and a package config that find_package(ringcast) reads.
include(CMakePackageConfigHelpers)

# The headers a user of the installed library can reach: every public header (outside detail/
# folders) and the detail headers they include, followed transitively. The rest of detail/ — the
# event-loop backends, parsers only the library's .cpp files use, TLS sessions — stays in the tree,
# so no installed header needs liburing, OpenSSL, zlib or simdjson (tests/install checks it).
function(ringcast_installed_headers out)
  file(GLOB_RECURSE _all RELATIVE ${PROJECT_SOURCE_DIR} CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/ringcast/*.hpp)
  set(_queue "")
  foreach(_h IN LISTS _all)
    if(NOT _h MATCHES "/detail/")
      list(APPEND _queue ${_h})
    endif()
  endforeach()
  set(_reached "")
  while(_queue)
    list(POP_FRONT _queue _h)
    if(_h IN_LIST _reached)
      continue()
    endif()
    list(APPEND _reached ${_h})
    file(STRINGS ${PROJECT_SOURCE_DIR}/${_h} _includes REGEX "^#include <ringcast/")
    foreach(_line IN LISTS _includes)
      string(REGEX REPLACE "^#include <(ringcast/[^>]+)>.*" "\\1" _inc "${_line}")
      list(APPEND _queue ${_inc})
    endforeach()
  endwhile()
  list(SORT _reached)
  set(${out} ${_reached} PARENT_SCOPE)
endfunction()

install(TARGETS ringcast EXPORT ringcastTargets ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
ringcast_installed_headers(_headers)
foreach(_h IN LISTS _headers)
  get_filename_component(_dir ${_h} DIRECTORY)
  install(FILES ${PROJECT_SOURCE_DIR}/${_h} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/${_dir})
endforeach()
install(EXPORT ringcastTargets NAMESPACE ringcast:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/ringcast)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/ringcastConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/ringcastConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/ringcast)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/ringcastConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/ringcastConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/ringcastConfigVersion.cmake
  ${PROJECT_SOURCE_DIR}/cmake/ringcast_deps.cmake DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/ringcast)
