# The layering check, run by ctest (layout/layers): every in-tree #include follows the house's rules.
#   cmake -DSOURCE_DIR=<repo> -P cmake/check_layers.cmake
# - ringcast/<layer>/ includes only its own layer and the layers below (core ← net ← ws), always as
#   <ringcast/...> (never quoted), and never anything of apps/, bench/, examples/ or tests/;
# - apps/ and examples/ are built on the public API: ringcast headers outside any detail/ folder, and
#   their own folder's files; never tests/ or bench/;
# - tests/ and bench/ may include anything (they test and measure the internals).
# Fails with one line per broken include.
set(_rank_core 0)
set(_rank_net 1)
set(_rank_ws 2)
set(_errors "")

function(_check_file rel)
  file(STRINGS ${SOURCE_DIR}/${rel} _lines REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]")
  string(REGEX MATCH "^ringcast/([a-z]+)/" _m "${rel}")
  set(_layer "${CMAKE_MATCH_1}")
  string(REGEX MATCH "^(apps/[^/]+|examples)/" _m "${rel}")  # an app's folder; examples/ is one folder
  set(_program_dir "${_m}")
  foreach(_line IN LISTS _lines)
    string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*([<\"])([^>\"]+)[>\"].*" "\\1;\\2" _inc "${_line}")
    list(GET _inc 0 _quote)
    list(GET _inc 1 _path)
    set(_why "")
    if(_layer)
      if(_quote STREQUAL "\"")
        set(_why "the library includes \"${_path}\": its headers are included as <ringcast/...>")
      elseif(_path MATCHES "^(apps|bench|examples|tests)/")
        set(_why "the library includes ${_path}")
      elseif(_path MATCHES "^ringcast/([a-z]+)/")
        set(_to "${CMAKE_MATCH_1}")
        if(NOT DEFINED _rank_${_to})
          set(_why "unknown layer in ${_path}")
        elseif(_rank_${_to} GREATER _rank_${_layer})
          set(_why "${_layer} includes ${_path}: layers include only downwards (ws → net → core)")
        endif()
      endif()
    elseif(_program_dir)
      if(_path MATCHES "^ringcast/.*/detail/")
        set(_why "${_path} is not public: programs use the public API")
      elseif(_path MATCHES "^(apps|bench|examples|tests)/" AND NOT _path MATCHES "^${_program_dir}")
        set(_why "a program includes ${_path}, outside its own folder")
      endif()
    endif()
    if(_why)
      set(_errors "${_errors}${rel}: ${_why}\n" PARENT_SCOPE)
    endif()
  endforeach()
endfunction()

file(GLOB_RECURSE _files RELATIVE ${SOURCE_DIR}
  ${SOURCE_DIR}/ringcast/*.hpp ${SOURCE_DIR}/ringcast/*.cpp
  ${SOURCE_DIR}/apps/*.hpp ${SOURCE_DIR}/apps/*.cpp
  ${SOURCE_DIR}/examples/*.hpp ${SOURCE_DIR}/examples/*.cpp)
list(LENGTH _files _count)
if(_count LESS 50)
  message(FATAL_ERROR "check_layers: found only ${_count} files under ${SOURCE_DIR}: wrong SOURCE_DIR?")
endif()
foreach(_f IN LISTS _files)
  _check_file(${_f})
endforeach()
if(_errors)
  message(FATAL_ERROR "includes against the layering rules:\n${_errors}")
endif()
message(STATUS "check_layers: ${_count} files follow the layering rules")
