// Conformance, Autobahn group 5 (fragmentation): RFC 6455 §5.4 — a message may be split into a first
// frame (text or binary, FIN clear), continuation frames, and a final continuation with FIN set;
// control frames may come between fragments but are never fragmented themselves (§5.5); a
// continuation with nothing to continue, or a new message before the last one ended, is a protocol
// error (1002). The echo server answers each reassembled message with one frame.
#include <doctest/doctest.h>

#include <chrono>
#include <thread>

#include "tests/ws/conformance/conformance_support.hpp"

using namespace ringcast::test;
using namespace std::chrono_literals;

namespace {

// Encodes `msg` as a message of `pieces` fragments (the first with `opcode`, then continuations),
// with an optional control frame after each fragment but the last.
std::string fragmented(RawWsClient& c, uint8_t opcode, std::string_view msg, size_t pieces,
                       uint8_t between = 0xFF, std::string_view between_payload = {}) {
  std::string out;
  const size_t step = pieces > 0 ? (msg.size() + pieces - 1) / pieces : msg.size();
  for (size_t i = 0; i < pieces; ++i) {
    const size_t from = std::min(msg.size(), i * step);
    const std::string_view part = msg.substr(from, std::min(step, msg.size() - from));
    const bool last = i + 1 == pieces;
    out += c.encode({.opcode = i == 0 ? opcode : op::kContinuation, .payload = part, .fin = last});
    if (!last && between != 0xFF) out += c.encode({.opcode = between, .payload = between_payload});
  }
  return out;
}

}  // namespace

TEST_SUITE("io") {

TEST_CASE("conformance 5.1-5.2: a fragmented ping or pong fails with 1002") {
  EchoServer server;
  for (const Delivery d : kBothDeliveries) {
    for (const uint8_t control : {op::kPing, op::kPong}) {
      CAPTURE(d.name());
      CAPTURE(int{control});
      RawWsClient c = open_client(server.port(), d);
      std::string burst = c.encode({.opcode = control, .payload = "fragment1", .fin = false});
      burst += c.encode({.opcode = op::kContinuation, .payload = "fragment2"});
      c.send_raw(burst);
      expect_fail(c, 1002);
    }
  }
}

TEST_CASE("conformance 5: a fragmented close fails with 1002") {
  EchoServer server;
  for (const Delivery d : kBothDeliveries) {
    CAPTURE(d.name());
    RawWsClient c = open_client(server.port(), d);
    const std::string p = close_payload(1000, "fragmented");
    std::string burst = c.encode({.opcode = op::kClose, .payload = std::string_view(p).substr(0, 4), .fin = false});
    burst += c.encode({.opcode = op::kContinuation, .payload = std::string_view(p).substr(4)});
    c.send_raw(burst);
    expect_fail(c, 1002);
  }
}

TEST_CASE("conformance 5.3-5.5: text and binary messages in 1 to 16 fragments come back whole in one frame") {
  EchoServer server;
  const std::string text = "Hello, fragmented world! κόσμε 𝄞 " + repeat("0123456789", 30);
  const std::string bin = binary_payload(333);
  for (const Delivery d : kBothDeliveries) {
    RawWsClient c = open_client(server.port(), d);
    for (size_t pieces = 1; pieces <= 16; ++pieces) {
      CAPTURE(d.name());
      CAPTURE(pieces);
      REQUIRE(c.send_raw(fragmented(c, op::kText, text, pieces)));
      expect_echo(c, op::kText, text);
      REQUIRE(c.send_raw(fragmented(c, op::kBinary, bin, pieces)));
      expect_echo(c, op::kBinary, bin);
    }
    // One fragment per byte, each written on its own.
    for (size_t i = 0; i < 13; ++i) REQUIRE(c.send_frame({.opcode = i == 0 ? op::kText : op::kContinuation,
                                                          .payload = std::string_view("Hello, world!").substr(i, 1),
                                                          .fin = i == 12}));
    expect_echo(c, op::kText, "Hello, world!");
    REQUIRE(c.send_close(1000));
    expect_close_echo(c, 1000);
  }
}

TEST_CASE("conformance 5: empty fragments are fine: first, middle, last, or all of them") {
  EchoServer server;
  for (const Delivery d : kBothDeliveries) {
    CAPTURE(d.name());
    RawWsClient c = open_client(server.port(), d);
    REQUIRE(c.send_text("", false));
    REQUIRE(c.send_continuation("abc", false));
    REQUIRE(c.send_continuation("", false));
    REQUIRE(c.send_continuation("def", false));
    REQUIRE(c.send_continuation("", true));
    expect_echo(c, op::kText, "abcdef");
    REQUIRE(c.send_binary("", false));
    REQUIRE(c.send_continuation("", false));
    REQUIRE(c.send_continuation("", true));
    expect_echo(c, op::kBinary, "");
  }
}

TEST_CASE("conformance 5.6-5.8: pings and pongs between fragments are answered first, and the message comes back whole") {
  EchoServer server;
  const std::string text = "fragmented text with pings in between";
  const std::string bin = binary_payload(200);
  for (const Delivery d : kBothDeliveries) {
    for (size_t pieces = 2; pieces <= 5; ++pieces) {
      CAPTURE(d.name());
      CAPTURE(pieces);
      RawWsClient c = open_client(server.port(), d);
      // In one write, then frame by frame.
      REQUIRE(c.send_raw(fragmented(c, op::kText, text, pieces, op::kPing, "between")));
      for (size_t i = 0; i + 1 < pieces; ++i) expect_frame(c, op::kPong, "between");
      expect_echo(c, op::kText, text);
      REQUIRE(c.send_raw(fragmented(c, op::kBinary, bin, pieces, op::kPong, "unsolicited")));
      REQUIRE(c.send_ping("after"));
      expect_echo(c, op::kBinary, bin);  // the pongs got no answer
      expect_frame(c, op::kPong, "after");
      REQUIRE(c.send_close(1000));
      expect_close_echo(c, 1000);
    }
  }
}

TEST_CASE("conformance 5.9-5.14: a continuation with nothing to continue fails with 1002, FIN set or not") {
  EchoServer server;
  for (const Delivery d : kBothDeliveries) {
    for (const bool fin : {true, false}) {
      for (const bool frame_by_frame : {false, true}) {
        CAPTURE(d.name());
        CAPTURE(fin);
        CAPTURE(frame_by_frame);
        RawWsClient c = open_client(server.port(), d);
        const std::string cont = c.encode({.opcode = op::kContinuation, .payload = "non-continuation payload", .fin = fin});
        const std::string text = c.encode({.opcode = op::kText, .payload = "Hello, world!"});
        if (frame_by_frame) {
          c.send_raw(cont);
          c.send_raw(text);
        } else {
          c.send_raw(cont + text);
        }
        expect_fail(c, 1002);
      }
    }
  }
}

TEST_CASE("conformance 5.15: a continuation after a finished fragmented message fails with 1002, after its echo") {
  EchoServer server;
  for (const Delivery d : kBothDeliveries) {
    CAPTURE(d.name());
    RawWsClient c = open_client(server.port(), d);
    std::string burst = c.encode({.opcode = op::kText, .payload = "fragment1", .fin = false});
    burst += c.encode({.opcode = op::kContinuation, .payload = "fragment2", .fin = true});
    burst += c.encode({.opcode = op::kContinuation, .payload = "fragment3", .fin = false});
    burst += c.encode({.opcode = op::kText, .payload = "fragment4", .fin = true});
    c.send_raw(burst);
    expect_echo(c, op::kText, "fragment1fragment2");
    expect_fail(c, 1002);
  }
}

TEST_CASE("conformance 5.16-5.17: a stray continuation before a fragmented message fails with 1002") {
  EchoServer server;
  for (const Delivery d : kBothDeliveries) {
    for (const bool fin : {false, true}) {
      CAPTURE(d.name());
      CAPTURE(fin);
      RawWsClient c = open_client(server.port(), d);
      std::string burst;
      for (int i = 0; i < 2; ++i) {
        burst += c.encode({.opcode = op::kContinuation, .payload = "fragment1", .fin = fin});
        burst += c.encode({.opcode = op::kText, .payload = "fragment2", .fin = false});
        burst += c.encode({.opcode = op::kContinuation, .payload = "fragment3", .fin = true});
      }
      c.send_raw(burst);
      expect_fail(c, 1002);
    }
  }
}

TEST_CASE("conformance 5.18: a new text or binary frame before the fragmented message ended fails with 1002") {
  EchoServer server;
  for (const Delivery d : kBothDeliveries) {
    for (const uint8_t first : {op::kText, op::kBinary}) {
      for (const uint8_t second : {op::kText, op::kBinary}) {
        for (const bool second_fin : {true, false}) {
          CAPTURE(d.name());
          CAPTURE(int{first});
          CAPTURE(int{second});
          CAPTURE(second_fin);
          RawWsClient c = open_client(server.port(), d);
          std::string burst = c.encode({.opcode = first, .payload = "fragment1", .fin = false});
          burst += c.encode({.opcode = second, .payload = "fragment2", .fin = second_fin});
          c.send_raw(burst);
          expect_fail(c, 1002);
        }
      }
    }
  }
}

TEST_CASE("conformance 5.19-5.20: fragments and pings with pauses between them (separate reads) make one message") {
  EchoServer server;
  for (const Delivery d : kBothDeliveries) {
    CAPTURE(d.name());
    RawWsClient c = open_client(server.port(), d);
    REQUIRE(c.send_text("fragment1", false));
    REQUIRE(c.send_continuation("fragment2", false));
    REQUIRE(c.send_ping("pongme 1!"));
    expect_frame(c, op::kPong, "pongme 1!");
    std::this_thread::sleep_for(50ms);
    REQUIRE(c.send_continuation("fragment3", false));
    REQUIRE(c.send_continuation("fragment4", false));
    REQUIRE(c.send_ping("pongme 2!"));
    expect_frame(c, op::kPong, "pongme 2!");
    std::this_thread::sleep_for(50ms);
    REQUIRE(c.send_continuation("fragment5", true));
    expect_echo(c, op::kText, "fragment1fragment2fragment3fragment4fragment5");
    REQUIRE(c.send_close(1000));
    expect_close_echo(c, 1000);
  }
}

TEST_CASE("conformance 5: a message spanning reads with a control frame split across reads between its fragments") {
  // The ping's header and payload arrive in separate reads while the message is half assembled.
  EchoServer server;
  RawWsClient c = open_client(server.port());
  const std::string msg = binary_payload(2000);
  const std::string first = c.encode({.opcode = op::kBinary, .payload = msg.substr(0, 1000), .fin = false});
  REQUIRE(c.send_raw(first.substr(0, 600)));
  std::this_thread::sleep_for(20ms);
  const std::string ping = c.encode({.opcode = op::kPing, .payload = repeat("p", 125)});
  REQUIRE(c.send_raw(first.substr(600) + ping.substr(0, 3)));
  std::this_thread::sleep_for(20ms);
  REQUIRE(c.send_raw(ping.substr(3, 60)));
  std::this_thread::sleep_for(20ms);
  REQUIRE(c.send_raw(ping.substr(63)));
  expect_frame(c, op::kPong, repeat("p", 125));
  REQUIRE(c.send_continuation(msg.substr(1000), true));
  expect_echo(c, op::kBinary, msg);
}

}  // TEST_SUITE("io")
