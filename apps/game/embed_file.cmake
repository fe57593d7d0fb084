# Turns a file into C++: writes OUTPUT, which includes HEADER and defines, in namespace NAMESPACE,
# `const unsigned char SYMBOL[]` (the bytes of INPUT, then a 0) and `const std::size_t SIZE_SYMBOL`
# (their number, without the 0). Run as a build step:
#   cmake -DINPUT=in.html -DOUTPUT=out.cpp -DHEADER=dir/page.hpp -DNAMESPACE=ns -DSYMBOL=kPage
#         -DSIZE_SYMBOL=kPageSize -P embed_file.cmake
foreach(_var INPUT OUTPUT HEADER NAMESPACE SYMBOL SIZE_SYMBOL)
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
     "// Generated at build time from ${_name} by embed_file.cmake.\n"
     "#include \"${HEADER}\"\n\n"
     "namespace ${NAMESPACE} {\n\n"
     "const unsigned char ${SYMBOL}[] = {\n  ${_bytes}0x00};\n"
     "const std::size_t ${SIZE_SYMBOL} = ${_size};\n\n"
     "}  // namespace ${NAMESPACE}\n")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
