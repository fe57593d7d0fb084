#pragma once
// Incremental, in-place parser of RFC 6455 §5.2 frames.
//
// Bytes arrive in recv buffers that the caller owns, may write to, and recycles after each call. A
// frame may be split at any byte across calls. The parser unmasks payload in the caller's buffer and
// hands out views of it; nothing is copied except a header that is split across calls (at most 14
// bytes, kept inside the parser). A frame whose bytes are all in one buffer is reported as one payload
// chunk.
//
// What it enforces (each a close code reported to the visitor, never an exception):
//   §5.2   opcodes 0x3-0x7 and 0xB-0xF are reserved                                 → 1002
//   §5.2   RSV1-3 must be 0 unless an extension allows them; `allowed_rsv` lists the bits an
//          extension owns, and they are accepted on text and binary frames only: RFC 7692 §6.1 lets
//          permessage-deflate set RSV1 on the first frame of a message and forbids it on control and
//          continuation frames, so the session has nothing left to check here          → 1002
//   §5.5   control frames: payload ≤ 125 bytes and FIN set                             → 1002
//   §5.1   a server requires the MASK bit on every frame, a client requires it clear    → 1002
//   §5.2   a 64-bit length has its most significant bit clear                           → 1002
//   limit  payload length above the caller's max_payload, known from the header alone   → 1009
// What it accepts on purpose: a length in a longer form than needed (16-bit form for < 126, 64-bit
// form for < 65536). §5.2 says "the minimal number of bytes MUST be used to encode the length"; that
// binds the sender, and unlike the reserved bits and opcodes (§5.2: "the receiving endpoint MUST Fail
// the WebSocket Connection") no text asks the receiver to fail over it. The length stays unambiguous,
// and Autobahn does not test it. Peers differ: uWebSockets accepts such frames, Boost.Beast closes
// with 1002. We accept, as the more liberal reading that costs nothing.
// Left to the session (it owns message state): continuation order (§5.4), UTF-8 of text messages,
// message size across fragments, close payloads (see close_code.hpp).
//
// FrameParser is trivially copyable, 24 bytes, and lives in per-connection state; one thread (the
// connection's shard) uses it. It allocates nothing.
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>

#include <ringcast/ws/codec/detail/mask.hpp>
#include <ringcast/ws/codec/opcode.hpp>
#include <ringcast/ws/codec/role.hpp>

namespace ringcast {

// The RSV bits of a frame's first byte.
inline constexpr uint8_t kRsv1 = 0x40;
inline constexpr uint8_t kRsv2 = 0x20;
inline constexpr uint8_t kRsv3 = 0x10;

struct FrameHeader {
  uint64_t payload_length = 0;
  MaskKey mask_key = 0;  // 0 when the frame is not masked
  OpCode opcode = OpCode::continuation;
  uint8_t rsv = 0;       // kRsv1 | kRsv2 | kRsv3 bits as on the wire
  bool fin = false;
  bool masked = false;
  uint8_t header_size = 0;  // 2 to 14 bytes on the wire

  bool rsv1() const noexcept { return (rsv & kRsv1) != 0; }
};

// What FrameParser::parse calls. A callback that returns false stops parse() right after what it
// reported; the parser is left consistent and the next parse() (with the bytes not consumed) carries
// on from there. on_frame_error is the last call for the connection: the parser is failed for good.
// A payload chunk views the caller's buffer: valid, and writable, until that buffer is recycled.
template <class V>
concept FrameVisitor = requires(V& v, const FrameHeader& header, std::span<uint8_t> chunk, uint16_t code) {
  { v.on_frame_header(header) } -> std::convertible_to<bool>;  // a valid header was read
  { v.on_frame_payload(chunk) } -> std::convertible_to<bool>;  // unmasked bytes, a view into `data`
  { v.on_frame_end() } -> std::convertible_to<bool>;           // the frame's payload is complete
  v.on_frame_error(code);                                      // 1002 or 1009: fail the connection
};

class FrameParser {
 public:
  explicit FrameParser(Role role = Role::server, uint8_t allowed_rsv = 0) noexcept
      : role_(role), allowed_rsv_(allowed_rsv) {}

  // The RSV bits an extension negotiated for this connection owns (kRsv1 for permessage-deflate).
  void set_allowed_rsv(uint8_t rsv) noexcept { allowed_rsv_ = rsv; }

  // Parses `data`, unmasking payloads in place, and reports to `visitor`. Frames with a payload above
  // `max_payload` bytes fail with 1009 as soon as their length is known.
  // Returns the number of bytes consumed:
  //   - data.size() unless a callback stopped the parse (bytes of a split header count as consumed:
  //     the parser keeps them);
  //   - when a callback returned false, the bytes up to the end of what it reported; pass the rest
  //     again later;
  //   - after an error, the bytes up to and including the header byte that revealed it.
  // A failed parser consumes nothing and calls nothing.
  template <FrameVisitor V>
  size_t parse(std::span<uint8_t> data, uint64_t max_payload, V& visitor);

  bool failed() const noexcept { return phase_ == kFailed; }
  // No frame begun: the last frame ended and no byte of the next one has arrived.
  bool at_frame_boundary() const noexcept { return phase_ == kHeader && header_len_ == 0; }
  // Payload bytes of the current frame not yet delivered (0 between frames).
  uint64_t payload_remaining() const noexcept { return phase_ == kPayload ? u_.payload.remaining : 0; }
  Role role() const noexcept { return role_; }
  uint8_t allowed_rsv() const noexcept { return allowed_rsv_; }

  // Forgets any partial frame and a failure (the role and allowed RSV bits stay).
  void reset() noexcept {
    phase_ = kHeader;
    header_len_ = 0;
  }

  // The result of checking header bytes: complete (size = header size), incomplete (size = bytes the
  // next check needs), or failed (size = bytes up to the one that revealed the error).
  struct HeaderCheck {
    enum Status : uint8_t { kComplete, kIncomplete, kError } status;
    uint8_t size;
    uint16_t error;
  };
  // Checks the first `avail` bytes of a header; fills `out` when complete. Pure: no state changes.
  HeaderCheck check_header(const uint8_t* h, size_t avail, uint64_t max_payload, FrameHeader& out) const noexcept;

 private:
  enum Phase : uint8_t { kHeader, kPayload, kFailed };
  struct PayloadState {
    uint64_t remaining;
    MaskKey key;  // already rotated to the next payload byte
  };

  // Slow path: continues a header split across calls. Returns its check with `size` = bytes taken
  // from `data` (all of them when still incomplete).
  HeaderCheck resume_header(const uint8_t* data, size_t avail, uint64_t max_payload, FrameHeader& out) noexcept;

  // 16 bytes: a header being collected and a payload being delivered never coexist. With the 4 bytes
  // below, 20 bytes of state, 24 with alignment.
  union {
    uint8_t header[14];    // phase kHeader: the header bytes received so far
    PayloadState payload;  // phase kPayload
  } u_{};
  Phase phase_ = kHeader;
  uint8_t header_len_ = 0;
  Role role_;
  uint8_t allowed_rsv_;
};
static_assert(std::is_trivially_copyable_v<FrameParser>);
static_assert(sizeof(FrameParser) <= 24, "FrameParser lives in per-connection state");

inline FrameParser::HeaderCheck FrameParser::check_header(const uint8_t* h, size_t avail, uint64_t max_payload,
                                                          FrameHeader& out) const noexcept {
  constexpr uint16_t kProtocolError = 1002;
  constexpr uint16_t kMessageTooBig = 1009;
  if (avail < 1) return {HeaderCheck::kIncomplete, 1, 0};
  const uint8_t b0 = h[0];
  const auto op = static_cast<OpCode>(b0 & 0x0F);
  const uint8_t rsv = b0 & 0x70;
  const bool fin = (b0 & 0x80) != 0;
  // §5.2: reserved opcodes fail the connection.
  if (!is_known(op)) return {HeaderCheck::kError, 1, kProtocolError};
  // §5.2: non-zero RSV bits without an extension that defines them; RFC 7692 §6.1: RSV1 only on the
  // first frame of a data message.
  const uint8_t allowed = (op == OpCode::text || op == OpCode::binary) ? allowed_rsv_ : 0;
  if ((rsv & ~allowed) != 0) return {HeaderCheck::kError, 1, kProtocolError};
  // §5.5: control frames are not fragmented.
  if (is_control(op) && !fin) return {HeaderCheck::kError, 1, kProtocolError};
  if (avail < 2) return {HeaderCheck::kIncomplete, 2, 0};
  const uint8_t b1 = h[1];
  const bool masked = (b1 & 0x80) != 0;
  const uint8_t len7 = b1 & 0x7F;
  // §5.1: clients mask every frame, servers none; the other side fails the connection otherwise.
  if (masked != (role_ == Role::server)) return {HeaderCheck::kError, 2, kProtocolError};
  // §5.5: control frames carry at most 125 bytes (so never use an extended length).
  if (is_control(op) && len7 > kMaxControlPayload) return {HeaderCheck::kError, 2, kProtocolError};
  const uint8_t ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
  if (avail < 2u + ext) return {HeaderCheck::kIncomplete, static_cast<uint8_t>(2 + ext), 0};
  uint64_t len = len7;
  if (ext == 2) {
    len = uint64_t{h[2]} << 8 | h[3];
  } else if (ext == 8) {
    len = 0;
    for (int i = 0; i < 8; ++i) len = len << 8 | h[2 + i];
    // §5.2: the most significant bit of a 64-bit length MUST be 0.
    if (len >> 63) return {HeaderCheck::kError, 10, kProtocolError};
  }
  if (len > max_payload) return {HeaderCheck::kError, static_cast<uint8_t>(2 + ext), kMessageTooBig};
  const uint8_t size = static_cast<uint8_t>(2 + ext + (masked ? 4 : 0));
  if (avail < size) return {HeaderCheck::kIncomplete, size, 0};
  out.payload_length = len;
  out.mask_key = masked ? load_mask_key(h + 2 + ext) : 0;
  out.opcode = op;
  out.rsv = rsv;
  out.fin = fin;
  out.masked = masked;
  out.header_size = size;
  return {HeaderCheck::kComplete, size, 0};
}

template <FrameVisitor V>
size_t FrameParser::parse(std::span<uint8_t> data, uint64_t max_payload, V& visitor) {
  if (phase_ == kFailed) return 0;
  uint8_t* const p = data.data();
  const size_t n = data.size();
  size_t pos = 0;
  for (;;) {
    if (phase_ == kPayload) {
      const uint64_t rem = u_.payload.remaining;
      if (rem != 0) {
        const size_t avail = n - pos;
        if (avail == 0) return pos;
        const size_t take = rem < avail ? static_cast<size_t>(rem) : avail;
        uint8_t* const chunk = p + pos;
        if (role_ == Role::server) u_.payload.key = mask_bytes(chunk, chunk, take, u_.payload.key);
        u_.payload.remaining = rem - take;
        pos += take;
        if (!visitor.on_frame_payload(std::span<uint8_t>(chunk, take))) return pos;
        if (take != rem) return pos;  // the buffer ended mid-payload
      }
      phase_ = kHeader;
      header_len_ = 0;
      if (!visitor.on_frame_end()) return pos;
    }
    if (pos == n) return pos;
    FrameHeader header;
    HeaderCheck check;
    if (header_len_ == 0) {
      check = check_header(p + pos, n - pos, max_payload, header);
      if (check.status == HeaderCheck::kIncomplete) {
        // Keep the start of a header that the next buffer completes (fewer than 14 bytes).
        header_len_ = static_cast<uint8_t>(n - pos);
        std::memcpy(u_.header, p + pos, header_len_);
        return n;
      }
    } else {
      check = resume_header(p + pos, n - pos, max_payload, header);
      if (check.status == HeaderCheck::kIncomplete) return n;
    }
    pos += check.size;
    if (check.status == HeaderCheck::kError) {
      phase_ = kFailed;
      visitor.on_frame_error(check.error);
      return pos;
    }
    phase_ = kPayload;
    u_.payload = PayloadState{header.payload_length, header.mask_key};
    if (!visitor.on_frame_header(header)) return pos;
  }
}

}  // namespace ringcast
