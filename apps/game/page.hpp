#pragma once
// The game's browser client, apps/game/web/index.html, compiled into the program at build time
// (apps/game/embed_file.cmake writes the definitions). Immutable; any thread.
#include <cstddef>
#include <string_view>

namespace ringcast::game {

extern const unsigned char kPageHtml[];
extern const std::size_t kPageHtmlSize;

inline std::string_view page_html() noexcept { return {reinterpret_cast<const char*>(kPageHtml), kPageHtmlSize}; }

}  // namespace ringcast::game
