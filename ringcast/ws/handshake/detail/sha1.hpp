#pragma once
// SHA-1 (FIPS 180-4) of a short input, for the WebSocket handshake's accept value (RFC 6455 §4.2.2)
// only: not for anything that needs a secure hash. OpenSSL's SHA-1 goes through its provider
// machinery, whose first use brings in 0.1–0.3 MiB (code and tables) a plain WebSocket server would
// otherwise never touch.
#include <array>
#include <cstdint>
#include <string_view>

namespace ringcast::detail {

// SHA-1 of the concatenation of `a` and `b`.
std::array<uint8_t, 20> sha1(std::string_view a, std::string_view b = {}) noexcept;

}  // namespace ringcast::detail
