# Compiles a file into a program: ringcast_embed_file() adds a build step that writes a C++ source
# defining `std::string_view FUNCTION() noexcept` (in namespace NAMESPACE, declared in HEADER) that
# returns the bytes of INPUT. The bytes are written as hex numbers, so no content can end a string
# literal early. Used by the apps for their compiled-in web pages.
#
#   include(${PROJECT_SOURCE_DIR}/cmake/embed_file.cmake)
#   ringcast_embed_file(_page INPUT ${CMAKE_CURRENT_SOURCE_DIR}/web/index.html
#                       HEADER apps/chat/chat_page.hpp NAMESPACE ringcast::chat FUNCTION chat_page)
#   add_executable(ringcast-chat main.cpp ${_page})
#
# The build step runs this same file as a script (cmake -DINPUT=… -DOUTPUT=… -DHEADER=… -DNAMESPACE=…
# -DFUNCTION=… -P embed_file.cmake).
if(NOT CMAKE_SCRIPT_MODE_FILE)
  # Sets <var> to the generated source (name it among a target's sources).
  function(ringcast_embed_file var)
    cmake_parse_arguments(ARG "" "INPUT;HEADER;NAMESPACE;FUNCTION" "" ${ARGN})
    foreach(_arg INPUT HEADER NAMESPACE FUNCTION)
      if(NOT ARG_${_arg})
        message(FATAL_ERROR "ringcast_embed_file: ${_arg} is missing")
      endif()
    endforeach()
    set(_out ${CMAKE_CURRENT_BINARY_DIR}/${ARG_FUNCTION}.cpp)
    set(_script ${CMAKE_CURRENT_FUNCTION_LIST_FILE})
    file(RELATIVE_PATH _shown ${PROJECT_SOURCE_DIR} ${ARG_INPUT})
    add_custom_command(
      OUTPUT ${_out}
      COMMAND ${CMAKE_COMMAND} -DINPUT=${ARG_INPUT} -DOUTPUT=${_out} -DHEADER=${ARG_HEADER}
              -DNAMESPACE=${ARG_NAMESPACE} -DFUNCTION=${ARG_FUNCTION} -P ${_script}
      DEPENDS ${ARG_INPUT} ${_script}
      COMMENT "Embedding ${_shown}"
      VERBATIM)
    set(${var} ${_out} PARENT_SCOPE)
  endfunction()
  return()
endif()

foreach(_var INPUT OUTPUT HEADER NAMESPACE FUNCTION)
  if(NOT DEFINED ${_var})
    message(FATAL_ERROR "embed_file.cmake: ${_var} is not set")
  endif()
endforeach()
file(READ "${INPUT}" _hex HEX)
string(LENGTH "${_hex}" _digits)
math(EXPR _size "${_digits} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," _bytes "${_hex}")
string(REPEAT "0x[0-9a-f][0-9a-f]," 16 _line)  # 16 bytes a line
string(REGEX REPLACE "(${_line})" "\\1\n  " _bytes "${_bytes}")
get_filename_component(_name "${INPUT}" NAME)
file(WRITE "${OUTPUT}.tmp"
     "// Generated at build time from ${_name} by cmake/embed_file.cmake.\n"
     "#include \"${HEADER}\"\n\n"
     "namespace ${NAMESPACE} {\n"
     "namespace {\n\n"
     "const unsigned char kBytes[] = {\n  ${_bytes}0x00};\n\n"
     "}  // namespace\n\n"
     "std::string_view ${FUNCTION}() noexcept { return {reinterpret_cast<const char*>(kBytes), ${_size}}; }\n\n"
     "}  // namespace ${NAMESPACE}\n")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
