#pragma once
// Which end of a WebSocket connection we are. RFC 6455 §5.1: a client masks every frame it sends and
// a server masks none; each side fails the connection when the other breaks that rule.
#include <cstdint>

namespace ringcast {

enum class Role : uint8_t { server, client };

}  // namespace ringcast
