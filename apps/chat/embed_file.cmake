# cmake -DINPUT=file -DOUTPUT=file.cpp -P embed_file.cmake
# Writes a C++ source that defines ringcast::chat::chat_page(): the bytes of INPUT, as a string_view.
# Hex bytes rather than a raw string literal, so no content can end the literal early.
file(READ ${INPUT} _hex HEX)
string(LENGTH "${_hex}" _len)
math(EXPR _size "${_len} / 2")
set(_lines "")
set(_at 0)
while(_at LESS _len)
  string(SUBSTRING "${_hex}" ${_at} 64 _chunk)  # 32 bytes per line
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," _chunk "${_chunk}")
  string(APPEND _lines "  ${_chunk}\n")
  math(EXPR _at "${_at} + 64")
endwhile()
file(WRITE ${OUTPUT}.tmp
"// Generated from ${INPUT} by embed_file.cmake; do not edit.
#include \"apps/chat/chat_page.hpp\"

namespace ringcast::chat {
namespace {
constexpr char kPage[${_size} + 1] = {
${_lines}  '\\0'};
}  // namespace

std::string_view chat_page() noexcept { return {kPage, ${_size}}; }

}  // namespace ringcast::chat
")
file(COPY_FILE ${OUTPUT}.tmp ${OUTPUT} ONLY_IF_DIFFERENT)
file(REMOVE ${OUTPUT}.tmp)
