#include <ringcast/ws/codec/detail/frame_writer.hpp>

#include <cstring>

#include <ringcast/ws/codec/close_code.hpp>
#include <ringcast/ws/codec/detail/frame_parser.hpp>
#include <ringcast/ws/codec/utf8_validator.hpp>

namespace ringcast {

size_t write_frame_header(uint8_t* out, OpCode opcode, bool fin, bool rsv1, size_t payload_length,
                          const uint8_t* mask) noexcept {
  out[0] = static_cast<uint8_t>((fin ? 0x80 : 0) | (rsv1 ? kRsv1 : 0) | static_cast<uint8_t>(opcode));
  const uint8_t mask_bit = mask != nullptr ? 0x80 : 0;
  size_t n;
  // §5.2: the minimal number of bytes MUST be used to encode the length.
  if (payload_length < 126) {
    out[1] = static_cast<uint8_t>(mask_bit | payload_length);
    n = 2;
  } else if (payload_length <= 0xFFFF) {
    out[1] = mask_bit | 126;
    out[2] = static_cast<uint8_t>(payload_length >> 8);
    out[3] = static_cast<uint8_t>(payload_length);
    n = 4;
  } else {
    out[1] = mask_bit | 127;
    const uint64_t len = payload_length;
    for (int i = 0; i < 8; ++i) out[2 + i] = static_cast<uint8_t>(len >> (56 - 8 * i));
    n = 10;
  }
  if (mask != nullptr) {
    std::memcpy(out + n, mask, 4);
    n += 4;
  }
  return n;
}

size_t write_frame(uint8_t* out, OpCode opcode, std::span<const uint8_t> payload, FrameOptions options) noexcept {
  const size_t h = write_frame_header(out, opcode, options.fin, options.rsv1, payload.size(), options.mask);
  if (options.mask != nullptr) {
    mask_bytes(out + h, payload.data(), payload.size(), load_mask_key(options.mask));
  } else if (!payload.empty()) {
    std::memcpy(out + h, payload.data(), payload.size());
  }
  return h + payload.size();
}

namespace {
template <typename Bytes>
void append_to(Bytes& out, OpCode opcode, std::span<const uint8_t> payload, FrameOptions options) {
  const size_t old = out.size();
  out.resize(old + frame_header_size(payload.size(), options.mask != nullptr) + payload.size());
  write_frame(reinterpret_cast<uint8_t*>(out.data()) + old, opcode, payload, options);
}
}  // namespace

void append_frame(std::string& out, OpCode opcode, std::string_view payload, FrameOptions options) {
  append_to(out, opcode, std::span(reinterpret_cast<const uint8_t*>(payload.data()), payload.size()), options);
}

void append_frame(std::vector<uint8_t>& out, OpCode opcode, std::span<const uint8_t> payload, FrameOptions options) {
  append_to(out, opcode, payload, options);
}

size_t write_close_payload(uint8_t* out, uint16_t code, std::string_view reason) noexcept {
  if (code == close_code::kNoStatus) return 0;
  out[0] = static_cast<uint8_t>(code >> 8);
  out[1] = static_cast<uint8_t>(code);
  const std::string_view cut = utf8_truncate(reason, kMaxCloseReason);
  if (!cut.empty()) std::memcpy(out + 2, cut.data(), cut.size());
  return 2 + cut.size();
}

void append_close_frame(std::string& out, uint16_t code, std::string_view reason, const uint8_t* mask) {
  uint8_t payload[kMaxControlPayload];
  const size_t n = write_close_payload(payload, code, reason);
  append_to(out, OpCode::close, std::span<const uint8_t>(payload, n), {.mask = mask});
}

}  // namespace ringcast
