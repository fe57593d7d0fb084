// Conformance, Autobahn group 4 (opcodes): RFC 6455 §5.2 — opcodes 0x3-0x7 (data) and 0xB-0xF
// (control) are reserved; a frame with one fails the connection with 1002. Echoes sent before stay
// delivered; frames after it are not answered.
#include <doctest/doctest.h>

#include "tests/ws/conformance/conformance_support.hpp"

using namespace ringcast::test;

TEST_SUITE("io") {

TEST_CASE("conformance 4.1-4.2: reserved data opcodes 3-7 and control opcodes 11-15 fail with 1002, with or without payload") {
  EchoServer server;
  const uint8_t reserved[] = {3, 4, 5, 6, 7, 11, 12, 13, 14, 15};
  for (const Delivery d : kBothDeliveries) {
    for (const uint8_t opcode : reserved) {
      for (const bool with_payload : {false, true}) {
        CAPTURE(d.name());
        CAPTURE(int{opcode});
        CAPTURE(with_payload);
        RawWsClient c = open_client(server.port(), d);
        REQUIRE(c.send_text("echoed before"));
        expect_echo(c, op::kText, "echoed before");
        std::string burst = c.encode({.opcode = opcode, .payload = with_payload ? "reserved payload" : ""});
        burst += c.encode({.opcode = op::kPing, .payload = "not answered"});
        c.send_raw(burst);
        expect_fail(c, 1002);
      }
    }
  }
}

TEST_CASE("conformance 4: a reserved opcode between the fragments of a message fails with 1002") {
  EchoServer server;
  for (const Delivery d : kBothDeliveries) {
    for (const uint8_t opcode : {uint8_t{3}, uint8_t{11}}) {
      CAPTURE(d.name());
      CAPTURE(int{opcode});
      RawWsClient c = open_client(server.port(), d);
      REQUIRE(c.send_text("frag", false));
      std::string burst = c.encode({.opcode = opcode, .payload = "x"});
      burst += c.encode({.opcode = op::kContinuation, .payload = "ment"});
      c.send_raw(burst);
      expect_fail(c, 1002);
    }
  }
}

}  // TEST_SUITE("io")
