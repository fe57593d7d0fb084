#pragma once
// Encoding of RFC 6455 §5.2 frames: headers into a caller's buffer (the send path writes a header in
// front of a payload it already holds), whole frames into byte strings (tests, the client, one-off
// control frames), and close frame payloads. Lengths always take the minimal form (§5.2). Pure
// functions, callable from any thread; the functions that append to a string allocate only when it grows.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <ringcast/ws/codec/detail/mask.hpp>
#include <ringcast/ws/codec/opcode.hpp>

namespace ringcast {

// 2 bytes, an 8-byte extended length, a 4-byte masking key.
inline constexpr size_t kMaxFrameHeaderSize = 14;
// §5.5.1: a close payload is a 2-byte code and a reason, within the 125 bytes of a control frame.
inline constexpr size_t kMaxCloseReason = 123;

// Size of the header write_frame_header produces: 2, 4 or 10 bytes, plus 4 with a mask.
constexpr size_t frame_header_size(size_t payload_length, bool masked) noexcept {
  return (payload_length < 126 ? 2 : payload_length <= 0xFFFF ? 4 : 10) + (masked ? 4 : 0);
}

// Writes a frame header to `out` (room for kMaxFrameHeaderSize bytes) and returns its size. `mask`
// points to the 4 masking key bytes (client role) or is null (server role); the payload itself is not
// touched: mask it with mask_bytes(). RSV2/RSV3 are never set (no extension here uses them).
size_t write_frame_header(uint8_t* out, OpCode opcode, bool fin, bool rsv1, size_t payload_length,
                          const uint8_t* mask) noexcept;

struct FrameOptions {
  bool fin = true;
  bool rsv1 = false;              // permessage-deflate: the payload is compressed (RFC 7692 §6)
  const uint8_t* mask = nullptr;  // 4 key bytes: mask the payload (client role)
};

// Writes header and payload (masked when options.mask is set) to `out`, which has room for
// frame_header_size(payload.size(), mask != null) + payload.size() bytes; returns the bytes written.
size_t write_frame(uint8_t* out, OpCode opcode, std::span<const uint8_t> payload, FrameOptions options = {}) noexcept;

// Appends a whole frame to `out`.
void append_frame(std::string& out, OpCode opcode, std::string_view payload, FrameOptions options = {});
void append_frame(std::vector<uint8_t>& out, OpCode opcode, std::span<const uint8_t> payload,
                  FrameOptions options = {});
inline std::string encode_frame(OpCode opcode, std::string_view payload, FrameOptions options = {}) {
  std::string out;
  append_frame(out, opcode, payload, options);
  return out;
}

// Writes a close frame payload to `out` (room for kMaxControlPayload = 125 bytes) and returns its size:
// the code in network order, then the reason cut to kMaxCloseReason bytes on a code point boundary.
// kNoStatus (1005) writes an empty payload (§7.4.1: it must not be sent; a reason needs a code). Other
// codes are written as given: pick them with close_code_valid_on_wire().
size_t write_close_payload(uint8_t* out, uint16_t code, std::string_view reason) noexcept;

// Appends a whole close frame (code and reason as for write_close_payload).
void append_close_frame(std::string& out, uint16_t code, std::string_view reason, const uint8_t* mask = nullptr);

}  // namespace ringcast
