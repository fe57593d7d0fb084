#pragma once
// WebSocket frame opcodes (RFC 6455 §5.2, §11.8). The enum holds the 4-bit value as it appears on the
// wire, so any nibble 0..15 is representable; is_known() tells the defined ones from the reserved.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ringcast {

enum class OpCode : uint8_t { continuation = 0, text = 1, binary = 2, close = 8, ping = 9, pong = 10 };

// RFC 6455 §5.5: control frames carry at most 125 payload bytes.
inline constexpr size_t kMaxControlPayload = 125;

// RFC 6455 §5.5: opcodes with the most significant bit of the nibble set are control frames.
constexpr bool is_control(OpCode op) noexcept { return (static_cast<uint8_t>(op) & 0x08) != 0; }

// text, binary or continuation (a fragment of either).
constexpr bool is_data(OpCode op) noexcept { return static_cast<uint8_t>(op) <= 2; }

// RFC 6455 §5.2: 0x3-0x7 and 0xB-0xF are reserved; a peer that sends them fails the connection.
constexpr bool is_known(OpCode op) noexcept {
  const uint8_t v = static_cast<uint8_t>(op);
  return v <= 2 || (v >= 8 && v <= 10);
}

constexpr std::string_view to_string(OpCode op) noexcept {
  switch (op) {
    case OpCode::continuation: return "continuation";
    case OpCode::text: return "text";
    case OpCode::binary: return "binary";
    case OpCode::close: return "close";
    case OpCode::ping: return "ping";
    case OpCode::pong: return "pong";
  }
  return "reserved";
}

}  // namespace ringcast
