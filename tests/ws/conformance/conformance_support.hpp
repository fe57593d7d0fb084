#pragma once
// What the conformance suite (tests/ws/conformance/*_test.cpp) shares: the echo server every case
// talks to, and the checks of what comes back. The suite covers the ground of the Autobahn|Testsuite
// fuzzingclient server cases, one file per group:
//
//   1  framing            framing_test.cpp
//   2  ping/pong          ping_pong_test.cpp
//   3  reserved bits      reserved_bits_test.cpp
//   4  opcodes            opcodes_test.cpp
//   5  fragmentation      fragmentation_test.cpp
//   6  UTF-8              utf8_test.cpp
//   7  closing            closing_test.cpp
//   9  large messages     large_messages_test.cpp
//   10 misc               misc_test.cpp
//   -  heartbeats, idle timeout, closing started by the server: timers_test.cpp
//   -  many connections at once: concurrency_test.cpp
//   -  the opening handshake: handshake_test.cpp
//   12 deflate echo       compression_test.cpp (EchoServer with the route's compression on; the
//   13 deflate errors     client side, which compresses and inflates with zlib itself, is
//                         deflate_client.hpp)
//
// Every case opens its own connection and runs with both deliveries (one write, byte by byte); all
// run in the doctest suite "io", so ctest runs them on every event-loop backend.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <ringcast/ws/app.hpp>
#include "tests/support/raw_ws_client.hpp"

namespace ringcast::test {

// The same behaviour as ringcast-echo: every message comes back as it came, up to 16 MiB.
inline constexpr size_t kEchoMaxMessage = 16 << 20;

class EchoServer {
 public:
  struct Peer {};

  // `compression`: the route's permessage-deflate options (off by default); `compress_replies`: the
  // echoes are sent with send(..., compress = true), so they are compressed when the extension was
  // agreed and the message reaches the threshold.
  explicit EchoServer(size_t max_message = kEchoMaxMessage, DeflateOptions compression = DeflateOptions{.enabled = false},
                      bool compress_replies = false)
      : app_({.host = "127.0.0.1", .port = 0, .shards = {.count = 2}, .loop = loop_options()}) {
    app_.ws<Peer>("/*", {
        .on_message = [compress_replies](WebSocket<Peer>& ws, std::string_view message, OpCode op) {
          ws.send(message, op, compress_replies);
        },
        .on_close = [this](WebSocket<Peer>&, int code, std::string_view reason) { record_close(code, reason); },
        .limits = {.max_message_size = max_message, .max_backpressure = max_message + (1 << 20)},
        .compression = compression,
    });
    app_.start();
  }
  ~EchoServer() {
    app_.stop();
    app_.join();
  }
  EchoServer(const EchoServer&) = delete;
  EchoServer& operator=(const EchoServer&) = delete;

  uint16_t port() const { return app_.port(); }
  // Starts a graceful stop (every WebSocket gets a close frame 1001); the destructor joins.
  void stop() { app_.stop(); }

  // The codes and reasons on_close reported, in the order connections closed (any shard).
  std::vector<int> close_codes() {
    std::lock_guard lock(mutex_);
    return codes_;
  }
  std::vector<std::string> close_reasons() {
    std::lock_guard lock(mutex_);
    return reasons_;
  }
  // Waits until `n` connections have closed on the server side.
  bool wait_closes(size_t n) {
    return eventually([&] { return closed_.load() >= n; }, std::chrono::seconds(5));
  }

 private:
  void record_close(int code, std::string_view reason) {
    std::lock_guard lock(mutex_);
    codes_.push_back(code);
    reasons_.emplace_back(reason);
    closed_.fetch_add(1);
  }

  std::mutex mutex_;
  std::vector<int> codes_;
  std::vector<std::string> reasons_;
  std::atomic<size_t> closed_{0};
  App app_;  // last: its shards stop before the record above goes
};

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

// Repeats `s` up to `n` bytes.
inline std::string repeat(std::string_view s, size_t n) {
  std::string out;
  out.reserve(n);
  while (out.size() < n) out.append(s.substr(0, std::min(s.size(), n - out.size())));
  return out;
}

// `n` bytes of valid UTF-8 text with 1- to 4-byte code points (ASCII padding keeps the length exact).
inline std::string text_payload(size_t n) {
  constexpr std::string_view unit = "Hello \xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5 \xf0\x9d\x84\x9e \xe2\x82\xac! ";
  std::string out;
  out.reserve(n);
  while (out.size() + unit.size() <= n) out.append(unit);
  out.append(n - out.size(), '*');
  return out;
}

// `n` bytes that are not UTF-8 and whose order matters (every byte value, in a 251-byte cycle).
inline std::string binary_payload(size_t n) {
  std::string out(n, '\0');
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<char>((i % 251) ^ 0xFE);
  return out;
}

}  // namespace ringcast::test
