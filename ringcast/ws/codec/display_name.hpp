#pragma once
// Names that other people will see — a chat room's, a player's — checked once, in one place: valid
// UTF-8 (RFC 3629) of 1 to `max_code_points` code points, none of them a control character (U+0000–
// U+001F, U+007F–U+009F), a line or paragraph separator (U+2028, U+2029), or a bidirectional control
// (Unicode's Bidi_Control: U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069), which would reorder
// the text around the name where it is shown (U+202E turns "evil\u202Egnp.exe" into "evilexe.png").
// A pure function, callable from any thread.
#include <cstddef>
#include <string_view>

namespace ringcast {

bool valid_display_name(std::string_view name, size_t max_code_points) noexcept;

}  // namespace ringcast
