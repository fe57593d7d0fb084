// Conformance, Autobahn group 10 (miscellaneous) and the rest of RFC 6455 §5: a message over the size
// limit fails with 1009 as soon as a frame header shows it (the payload is never needed), the server
// never masks its frames (§5.1), and a client frame without a mask fails with 1002 (§5.1), as does a
// 64-bit length with its most significant bit set (§5.2).
#include <doctest/doctest.h>

#include "tests/ws/conformance/conformance_support.hpp"

using namespace ringcast::test;

TEST_SUITE("io") {

TEST_CASE("conformance 10.1: a message over the size limit fails with 1009 from its header alone") {
  EchoServer server;
  for (const Delivery d : kBothDeliveries) {
    for (const uint8_t opcode : {op::kText, op::kBinary}) {
      CAPTURE(d.name());
      CAPTURE(int{opcode});
      RawWsClient c = open_client(server.port(), d);
      // The header declares 16 MiB + 1 bytes; not one payload byte follows.
      REQUIRE(c.send_frame({.opcode = opcode, .payload = "", .declared = kEchoMaxMessage + 1}));
      expect_fail(c, 1009);
    }
  }
}

TEST_CASE("conformance 10.1: a fragmented message that grows over the limit fails with 1009 at the header of the fragment that crosses it") {
  EchoServer server(64 << 10);
  for (const Delivery d : {Delivery::whole(), Delivery::chunks(7)}) {
    for (const uint8_t opcode : {op::kText, op::kBinary}) {
      CAPTURE(d.name());
      CAPTURE(int{opcode});
      RawWsClient c = open_client(server.port(), d);
      const std::string part = text_payload(32 << 10);
      REQUIRE(c.send_frame({.opcode = opcode, .payload = part, .fin = false}));
      REQUIRE(c.send_frame({.opcode = op::kContinuation, .payload = part, .fin = false}));  // exactly 64 KiB so far
      REQUIRE(c.send_ping("under the limit"));
      expect_frame(c, op::kPong, "under the limit");
      REQUIRE(c.send_frame({.opcode = op::kContinuation, .payload = "", .fin = false, .declared = 1}));
      expect_fail(c, 1009);
    }
  }
}

TEST_CASE("conformance 10.1: a message of exactly the limit is echoed") {
  EchoServer server(64 << 10);
  RawWsClient c = open_client(server.port());
  const std::string msg = binary_payload(64 << 10);
  REQUIRE(c.send_binary(msg));
  expect_echo(c, op::kBinary, msg);
  const std::string head = text_payload(10);
  const std::string tail = text_payload((64 << 10) - 10);
  REQUIRE(c.send_text(head, false));
  REQUIRE(c.send_continuation(tail, true));
  expect_echo(c, op::kText, head + tail);
}

TEST_CASE("conformance 10: frames from the server are never masked, have RSV 0 and minimal lengths") {
  EchoServer server;
  RawWsClient c = open_client(server.port());
  // Payloads on every length-encoding boundary, a pong, and the close frame; expect_* and
  // read_until_close check each frame's mask bit, RSV bits and length form.
  for (const size_t n : {size_t{0}, size_t{125}, size_t{126}, size_t{65535}, size_t{65536}}) {
    const std::string msg = binary_payload(n);
    REQUIRE(c.send_binary(msg));
    expect_echo(c, op::kBinary, msg);
  }
  REQUIRE(c.send_ping("masked?"));
  expect_frame(c, op::kPong, "masked?");
  REQUIRE(c.send_close(1000, "bye"));
  expect_close_echo(c, 1000);
}

TEST_CASE("conformance 10: an unmasked client frame fails with 1002, whatever its opcode") {
  EchoServer server;
  for (const Delivery d : kBothDeliveries) {
    for (const uint8_t opcode : {op::kText, op::kBinary, op::kContinuation, op::kPing, op::kPong, op::kClose}) {
      CAPTURE(d.name());
      CAPTURE(int{opcode});
      RawWsClient c = open_client(server.port(), d);
      REQUIRE(c.send_text("masked"));
      expect_echo(c, op::kText, "masked");
      if (opcode == op::kContinuation) REQUIRE(c.send_text("start", false));
      const std::string p = opcode == op::kClose ? close_payload(1000) : std::string("unmasked");
      c.send_frame({.opcode = opcode, .payload = p, .masked = false});
      expect_fail(c, 1002);
    }
  }
}

TEST_CASE("conformance 10: a 64-bit length with its most significant bit set fails with 1002") {
  EchoServer server;
  for (const Delivery d : kBothDeliveries) {
    CAPTURE(d.name());
    RawWsClient c = open_client(server.port(), d);
    c.send_frame({.opcode = op::kBinary, .payload = "", .length_form = 8, .declared = uint64_t{1} << 63});
    expect_fail(c, 1002);
  }
}

TEST_CASE("conformance 10: frames that follow the handshake request in the same write are served") {
  // A client may send its first frames right behind the request head, before the 101 arrives.
  EchoServer server;
  RawWsClient c(server.port());
  REQUIRE(c.connected());
  std::string early = c.encode({.opcode = op::kText, .payload = "eager"});
  early += c.encode({.opcode = op::kPing, .payload = "eager ping"});
  REQUIRE(c.handshake("/", {}, early));
  expect_echo(c, op::kText, "eager");
  expect_frame(c, op::kPong, "eager ping");
}

}  // TEST_SUITE("io")
