#pragma once
// Close status codes (RFC 6455 §7.4, IANA "WebSocket Close Code Number Registry") and validation of a
// received close frame's payload (§5.5.1: an optional 2-byte code, then a UTF-8 reason). Pure
// functions, callable from any thread.
#include <cstdint>
#include <span>
#include <string_view>

namespace ringcast {

namespace close_code {
inline constexpr uint16_t kNormal = 1000;
inline constexpr uint16_t kGoingAway = 1001;
inline constexpr uint16_t kProtocolError = 1002;
inline constexpr uint16_t kUnsupportedData = 1003;
inline constexpr uint16_t kNoStatus = 1005;         // local only: the close frame had no code
inline constexpr uint16_t kAbnormal = 1006;         // local only: closed without a close frame
inline constexpr uint16_t kInvalidPayload = 1007;   // e.g. a text message that is not UTF-8
inline constexpr uint16_t kPolicyViolation = 1008;
inline constexpr uint16_t kMessageTooBig = 1009;
inline constexpr uint16_t kMandatoryExtension = 1010;
inline constexpr uint16_t kInternalError = 1011;
inline constexpr uint16_t kServiceRestart = 1012;
inline constexpr uint16_t kTryAgainLater = 1013;
inline constexpr uint16_t kBadGateway = 1014;
inline constexpr uint16_t kTlsHandshake = 1015;     // local only
}  // namespace close_code

// RFC 6455 §7.4.1-§7.4.2: whether `code` may appear in a close frame. Valid: 1000-1003, 1007-1011,
// 1012-1014 (registered with IANA since; Autobahn 7.7 expects them accepted) and 3000-4999 (libraries,
// frameworks and applications). Invalid: 0-999 (unused), 1004 (reserved), 1005, 1006 and 1015 (MUST NOT
// be sent), 1016-2999 (reserved for the protocol, not registered), 5000 and above (undefined).
constexpr bool close_code_valid_on_wire(uint16_t code) noexcept {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

// A received close frame's payload, validated. `reason` views the caller's payload bytes.
struct ClosePayload {
  uint16_t code = close_code::kNoStatus;  // kNoStatus when the payload was empty
  std::string_view reason;
  uint16_t error = 0;                     // 0, or the close code to fail the connection with
};

// RFC 6455 §5.5.1: an empty payload carries no code (code = 1005 locally, no error); otherwise the first
// two bytes are the code in network order. A 1-byte payload → 1002, a code not valid on the wire
// (§7.4) → 1002, a reason that is not UTF-8 (§5.5.1, §8.1) → 1007.
ClosePayload validate_close_payload(std::span<const uint8_t> payload) noexcept;

}  // namespace ringcast
