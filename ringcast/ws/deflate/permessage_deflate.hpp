#pragma once
// permessage-deflate (RFC 7692) negotiation: the server picks one of the client's offers from its
// Sec-WebSocket-Extensions header and writes the response element; the client builds an offer and
// checks the server's response. Pure functions over strings: callable from any thread, no state.
//
// The server's side of the agreement is shaped by memory per connection (see docs/permessage_deflate.md):
//  - It always answers `server_no_context_takeover` (RFC 7692 §7.1.1.1 lets a server add it even when the
//    client did not offer it) unless `dedicated_compressor` is set and the client did not ask for it.
//    Then a message is compressed once by the shard's SharedDeflater and the same bytes go to every
//    receiver.
//  - By default it also answers `client_no_context_takeover` (§7.1.1.2: "A server MAY include" it, offered
//    or not, and a client MUST support it), so incoming messages are inflated by streams borrowed from a
//    shard-wide pool for the duration of one message instead of one inflater per connection.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ringcast {

// RFC 7692 §7.1.2: window sizes are 2^8 .. 2^15 bytes.
inline constexpr std::uint8_t kMinWindowBits = 8;
inline constexpr std::uint8_t kMaxWindowBits = 15;

// What SharedDeflater compresses with (see deflater.hpp).
enum class DeflateEngine : std::uint8_t {
  zlib,        // every message ends with an empty stored block: what every receiver expects
  libdeflate,  // faster, ends messages with a final block (RFC 7692 §7.2.3.4), which some receivers mishandle
};

// Whether the server asks the client to compress each message without reference to earlier ones.
enum class ClientContextTakeover : std::uint8_t {
  forbid,             // always answer client_no_context_takeover (RFC 7692 §7.1.1.2 allows it unconditionally)
  forbid_if_offered,  // answer it only when the client offered it as a hint
  allow,              // never answer it: each client that sends compressed messages gets its own inflater
};

// Server configuration of the extension. Filled with designated initializers; see check() for the ranges.
struct DeflateOptions {
  bool enabled = true;
  // Messages shorter than this are sent uncompressed (RSV1 = 0). Compressing a 200-byte JSON message
  // costs ~10 µs of CPU (bench/deflate_bench.cpp) to save ~28% of it, several times the budget of
  // relaying it; browsers offer the extension on every connection.
  std::uint32_t threshold = 1024;
  // Largest window the server compresses with (8..15). Offers asking for less get less.
  std::uint8_t server_max_window_bits = kMaxWindowBits;
  // Largest window the server accepts from clients (8..15). Below 15 it needs the client to have offered
  // client_max_window_bits (§7.1.2.2), unless client_no_context_takeover is agreed anyway; otherwise the
  // offer is declined.
  std::uint8_t client_max_window_bits = kMaxWindowBits;
  ClientContextTakeover client_context_takeover = ClientContextTakeover::forbid;
  // Compress with context takeover through one ContextDeflater per connection (allocated at its first
  // compressed message: ~(1 << (bits + 2)) + (1 << (mem_level + 9)) bytes, 262 KiB at 15 bits and
  // mem_level 8) when the client allows it. Better ratios on chatty connections, no shared bytes.
  bool dedicated_compressor = false;
  std::uint8_t level = 1;      // 1 (fastest) .. 9 (smallest), as zlib's
  std::uint8_t mem_level = 8;  // zlib memLevel of dedicated compressors, 1..9
  // SharedDeflater's engine: zlib unless every client is known to take final blocks (see deflater.hpp).
  DeflateEngine engine = DeflateEngine::zlib;
  // (A message's decompressed size is bounded by the session's WebSocketLimits::max_message_size.)

  bool should_compress(std::size_t message_size) const noexcept { return message_size >= threshold; }
  // nullptr when the options are usable, else what is wrong with them.
  const char* check() const noexcept;
};

// The parameters of one permessage-deflate element (an offer or a response) as written on the wire.
struct DeflateParams {
  bool server_no_context_takeover = false;
  bool client_no_context_takeover = false;
  std::uint8_t server_max_window_bits = 0;  // 0: absent, else 8..15
  std::uint8_t client_max_window_bits = 0;  // 0: absent, kWindowBitsNoValue: present without a value, else 8..15
  bool operator==(const DeflateParams&) const = default;
};
inline constexpr std::uint8_t kWindowBitsNoValue = 0xff;

// What both ends agreed for one connection. `server_*` govern the messages the server sends, `client_*`
// those the client sends. 5 bytes, trivially copyable: stored in the per-connection record.
struct DeflateAgreement {
  bool enabled = false;  // false: the extension is not in use, RSV1 must stay 0 both ways
  bool server_no_context_takeover = false;
  bool client_no_context_takeover = false;
  std::uint8_t server_max_window_bits = kMaxWindowBits;
  std::uint8_t client_max_window_bits = kMaxWindowBits;
  bool operator==(const DeflateAgreement&) const = default;
};

// Outcome of the server's negotiation. `agreement.enabled` is false when no offer was acceptable (or none
// was made): the handshake then goes on without the extension and without a response element.
struct DeflateNegotiation {
  DeflateAgreement agreement;
  DeflateParams offer;            // the accepted offer, as the client wrote it
  std::uint8_t offers = 0;        // permessage-deflate elements seen (saturates at 255)
  std::uint8_t declined = 0;      // of which declined: malformed, invalid or unsupported (saturates)
  std::uint8_t response_size = 0;
  char response[128] = {};        // the element for the response's Sec-WebSocket-Extensions header

  std::string_view response_value() const noexcept { return {response, response_size}; }
};

// Server side. `header` is the request's Sec-WebSocket-Extensions value; several header lines are passed
// joined with ", " (RFC 7230 §3.2.2). Offers are considered in the client's order of preference
// (RFC 7692 §5) and the first acceptable one wins. An offer with an unknown, duplicate or invalid
// parameter is declined (RFC 7692 §7); so is an element that does not follow the RFC 6455 §9.1 grammar,
// parsing resuming at the next top-level comma. Names are matched exactly (they are registered in lower
// case). Other extensions are ignored.
DeflateNegotiation negotiate_deflate(std::string_view header, const DeflateOptions& options);

// Client side: the offer element for the request header, e.g. "permessage-deflate; client_max_window_bits".
std::string format_deflate_offer(const DeflateParams& offer);

enum class DeflateResponse : std::uint8_t {
  declined,  // the response has no extension: permessage-deflate is not in use
  accepted,  // `agreement` holds the agreed parameters
  fail,      // the client MUST _Fail the WebSocket Connection_ (RFC 6455 §4.1, RFC 7692 §7)
};

// Client side: checks the response's Sec-WebSocket-Extensions value against the single offer that was sent.
// Fails on an extension that was not offered, on more than one permessage-deflate element, on unknown,
// duplicate or invalid parameters, and on parameters the offer does not allow: client_max_window_bits
// when the offer had none (§7.1.2.2), a window larger than offered, server_no_context_takeover or
// server_max_window_bits missing when offered (§7.1.1.1, §7.1.2.1). The agreement keeps the offer's own
// promises: client_no_context_takeover, and a client_max_window_bits value, even if the response omits them.
DeflateResponse check_deflate_response(std::string_view header, const DeflateParams& offer,
                                       DeflateAgreement& agreement);

}  // namespace ringcast
