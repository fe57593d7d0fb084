#pragma once
// What a test checks of a server through RawWsClient (raw_ws_client.hpp): a client that completed the
// opening handshake, the frames that come back, and how the server failed or closed the connection
// (RFC 6455 §5.1, §5.2, §7.1). Shared by the conformance suite and the hostile-input tests.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <string_view>

#include "tests/support/raw_ws_client.hpp"

namespace ringcast::test {

// A client that completed the opening handshake.
inline RawWsClient open_client(uint16_t port, Delivery delivery = Delivery::whole(), std::string_view path = "/") {
  RawWsClient c(port, delivery);
  REQUIRE(c.connected());
  REQUIRE(c.handshake(path));
  return c;
}

// What every frame from a server must be (RFC 6455 §5.1, §5.2): unmasked, RSV 0, minimal length.
inline void check_server_frame(const RawFrame& f) {
  CHECK_FALSE(f.masked);
  CHECK(f.rsv == 0);
  CHECK(f.minimal_length);
}

// The next frame is a final `opcode` frame with this payload.
inline void expect_frame(RawWsClient& c, uint8_t opcode, std::string_view payload,
                         int timeout_ms = RawWsClient::kDefaultTimeoutMs) {
  RawFrame f;
  const ReadStatus s = c.read_frame(f, timeout_ms);
  INFO("read: ", std::string(to_string(s)));  // a const char* would print as a pointer
  REQUIRE(s == ReadStatus::frame);
  CHECK(int{f.opcode} == int{opcode});
  CHECK(f.fin);
  check_server_frame(f);
  CHECK(f.payload.size() == payload.size());
  // Compared as a bool: doctest would print megabytes of payload on a mismatch.
  const bool same = f.payload == payload;
  CHECK(same);
}

inline void expect_echo(RawWsClient& c, uint8_t opcode, std::string_view payload) { expect_frame(c, opcode, payload); }

// Checks what read_until_close found: a close frame with `code` (1005: an empty close frame) and
// nothing before it, every frame well-formed, then TCP closed by the server with a FIN.
inline void check_closed(const CloseOutcome& o, int code) {
  CHECK(o.close_received);
  CHECK(o.code == code);
  CHECK(o.before.empty());
  for (const RawFrame& f : o.before) MESSAGE("unexpected frame, opcode ", int{f.opcode}, ", ", f.payload.size(), " bytes");
  CHECK(o.server_frames_ok);
  INFO("TCP end: ", std::string(to_string(o.end)));
  CHECK(o.clean());
}

// The server failed the connection (RFC 6455 §7.1.7): a close frame with `code`, nothing before it,
// then the server closes TCP. The client answers the close frame, as an endpoint does (§5.5.1).
inline void expect_fail(RawWsClient& c, int code) { check_closed(c.read_until_close(), code); }

// The client sent a close frame: the server answers with `code` (1005: an empty close frame) and then
// closes TCP on its own (RFC 6455 §7.1.1: the server closes first), at once rather than after a
// timeout. The client sends nothing more.
inline void expect_close_echo(RawWsClient& c, int code) {
  const auto start = std::chrono::steady_clock::now();
  check_closed(c.read_until_close(RawWsClient::kDefaultTimeoutMs, false), code);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(1));
}

}  // namespace ringcast::test
