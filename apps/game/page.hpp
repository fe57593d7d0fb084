#pragma once
// The game's browser client, apps/game/web/index.html, compiled into the program at build time
// (cmake/embed_file.cmake writes the definition). Immutable; any thread.
#include <string_view>

namespace ringcast::game {

std::string_view page_html() noexcept;

}  // namespace ringcast::game
