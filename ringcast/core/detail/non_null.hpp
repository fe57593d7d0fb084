#pragma once
// non_null(view): the same view, except that an empty one points at a static "" instead of nowhere.
//
// Every view the library hands to user code (a request's body, headers and parameters, a WebSocket
// message, a control frame's payload, a close reason) goes through it, so user code may pass any of
// them to memcpy, to a C API or to a parser such as simdjson, none of which may be given a null
// pointer even with a length of 0. An empty std::string_view{} is legal C++ with data() == nullptr;
// the guarantee is the library's, made once where views leave it, so no consumer has to remember it.
#include <string_view>

namespace ringcast {

constexpr std::string_view non_null(std::string_view s) noexcept { return s.data() ? s : std::string_view("", 0); }

}  // namespace ringcast
