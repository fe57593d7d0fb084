#pragma once
// The chat page (apps/chat/web/index.html), compiled into the binary at build time
// (cmake/embed_file.cmake), so ringcast-chat needs no file beside it. Immutable; any thread.
#include <string_view>

namespace ringcast::chat {

std::string_view chat_page() noexcept;

}  // namespace ringcast::chat
