#pragma once
// What the hostile-input tests share. They replay the inputs that brought down WebSocket servers in
// recent years — inputs a conformance suite does not send — against an EchoServer on real sockets:
//
//   fragments_test      one-byte fragments by the hundred thousand, limits checked per message and per
//                       shard, not per frame
//   frame_errors_test   lengths with the top bit set or past the limit, truncated headers, RSV bits,
//                       unmasked frames, bad opcodes, bad control frames: each fails before any callback
//   deflate_bombs_test  decompression bombs in fragments and through context takeover, at the limit,
//                       and the inflate budget over time
//   closing_test        bytes after a Close, a peer that never answers Close, a peer that never reads
//   upgrade_requests_test  header counts at the limit and far past it, lists of commas, content on the
//                       upgrade GET, framing headers twice, an empty Host: refused before a WebSocket opens
//
// Each proves what the server holds or does with the server's own figures (/metrics, the heap), and
// that the application saw nothing it should not have (EchoServer counts on_message).
#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

#include "tests/support/deflate_test_support.hpp"
#include "tests/support/echo_server.hpp"
#include "tests/support/raw_ws_checks.hpp"
#include "tests/support/raw_ws_client.hpp"

namespace ringcast::test {

// The route's limits as an application that sets none has them (EchoServer raises them for the
// conformance suite).
inline void route_defaults(WebSocketBehavior<EchoPeer>& b) { b.limits = WebSocketLimits{}; }

// permessage-deflate on, every reply plain (the tests read replies without inflating them).
inline DeflateOptions deflate_on(ClientContextTakeover takeover = ClientContextTakeover::forbid) {
  return DeflateOptions{.enabled = true, .client_context_takeover = takeover};
}

// A client that offered permessage-deflate and had it accepted.
inline RawWsClient deflate_client(uint16_t port) {
  RawWsClient c(port);
  REQUIRE(c.connected());
  REQUIRE(c.handshake("/", "Sec-WebSocket-Extensions: permessage-deflate\r\n"));
  REQUIRE(c.header("Sec-WebSocket-Extensions").find("permessage-deflate") != std::string_view::npos);
  return c;
}

// `payload` as one message of `frames` frames of about equal size, RSV1 on the first (RFC 7692 §6.1).
inline std::string message_frames(RawWsClient& c, uint8_t opcode, std::string_view payload, size_t frames,
                                   uint8_t rsv = kRsv1Bit) {
  std::string out;
  const size_t step = (payload.size() + frames - 1) / frames;
  for (size_t i = 0; i < frames; ++i) {
    const std::string_view piece = payload.substr(std::min(payload.size(), i * step), step);
    out += c.encode({.opcode = i == 0 ? opcode : op::kContinuation, .payload = piece, .fin = i + 1 == frames,
                     .rsv = i == 0 ? rsv : uint8_t{0}});
  }
  return out;
}

}  // namespace ringcast::test
