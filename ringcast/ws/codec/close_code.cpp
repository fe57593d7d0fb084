#include <ringcast/ws/codec/close_code.hpp>

#include <ringcast/ws/codec/utf8_validator.hpp>

namespace ringcast {

ClosePayload validate_close_payload(std::span<const uint8_t> payload) noexcept {
  ClosePayload out;
  if (payload.empty()) return out;
  if (payload.size() == 1) {
    out.error = close_code::kProtocolError;  // §5.5.1: a body starts with a 2-byte code
    return out;
  }
  out.code = static_cast<uint16_t>(payload[0] << 8 | payload[1]);
  const auto reason = payload.subspan(2);
  out.reason = std::string_view(reinterpret_cast<const char*>(reason.data()), reason.size());
  if (!close_code_valid_on_wire(out.code)) {
    out.error = close_code::kProtocolError;  // §7.4: reserved or undefined code
  } else if (!utf8_valid(reason)) {
    out.error = close_code::kInvalidPayload;  // §5.5.1: the reason is UTF-8
  }
  return out;
}

}  // namespace ringcast
