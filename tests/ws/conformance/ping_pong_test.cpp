// Conformance, Autobahn group 2 (pings and pongs): RFC 6455 §5.5.2 (a ping is answered with a pong
// carrying the same payload), §5.5.3 (an unsolicited pong is ignored), §5.5 (control payloads are at
// most 125 bytes).
#include <doctest/doctest.h>

#include "tests/ws/conformance/conformance_support.hpp"

using namespace ringcast::test;

TEST_SUITE("io") {

TEST_CASE("conformance 2.1-2.4, 2.6: pings with 0 to 125 bytes of text or binary are answered with the same payload") {
  EchoServer server;
  const std::string payloads[] = {"", "Hello, world!", binary_payload(8), repeat("*", 125), binary_payload(125)};
  for (const Delivery d : kBothDeliveries) {
    for (const std::string& p : payloads) {
      CAPTURE(d.name());
      CAPTURE(p.size());
      RawWsClient c = open_client(server.port(), d);
      REQUIRE(c.send_ping(p));
      expect_frame(c, op::kPong, p);
      REQUIRE(c.send_close(1000));
      expect_close_echo(c, 1000);
    }
  }
}

TEST_CASE("conformance 2.5: a ping or pong of 126 bytes fails the connection with 1002") {
  EchoServer server;
  for (const Delivery d : kBothDeliveries) {
    for (const uint8_t control : {op::kPing, op::kPong}) {
      for (const int form : {-1, 8}) {  // the 16-bit length form that 126 needs, and the 64-bit one
        CAPTURE(d.name());
        CAPTURE(int{control});
        CAPTURE(form);
        RawWsClient c = open_client(server.port(), d);
        const std::string p = binary_payload(126);
        c.send_frame({.opcode = control, .payload = p, .length_form = form});
        expect_fail(c, 1002);
      }
    }
  }
}

TEST_CASE("conformance 2.7-2.9: unsolicited pongs are ignored and a later ping is answered") {
  EchoServer server;
  for (const Delivery d : kBothDeliveries) {
    CAPTURE(d.name());
    RawWsClient c = open_client(server.port(), d);
    REQUIRE(c.send_pong());
    REQUIRE(c.send_pong("unsolicited pong payload"));
    REQUIRE(c.send_ping("ping payload"));
    // The first frame back answers the ping: nothing answered the pongs.
    expect_frame(c, op::kPong, "ping payload");
    REQUIRE(c.send_text("still open"));
    expect_echo(c, op::kText, "still open");
    REQUIRE(c.send_close(1000));
    expect_close_echo(c, 1000);
  }
}

TEST_CASE("conformance 2.10-2.11: ten pings in a row are answered in order") {
  EchoServer server;
  for (const Delivery d : kBothDeliveries) {
    for (const bool one_write : {true, false}) {
      CAPTURE(d.name());
      CAPTURE(one_write);
      RawWsClient c = open_client(server.port(), d);
      std::string burst;
      for (int i = 0; i < 10; ++i) {
        const std::string p = "payload-" + std::to_string(i);
        if (one_write) {
          burst += c.encode({.opcode = op::kPing, .payload = p});
        } else {
          REQUIRE(c.send_ping(p));
        }
      }
      if (one_write) REQUIRE(c.send_raw(burst));
      for (int i = 0; i < 10; ++i) expect_frame(c, op::kPong, "payload-" + std::to_string(i));
      REQUIRE(c.send_close(1000));
      expect_close_echo(c, 1000);
    }
  }
}

TEST_CASE("conformance 2: a ping in a message's flow is answered before the messages after it") {
  EchoServer server;
  for (const Delivery d : kBothDeliveries) {
    CAPTURE(d.name());
    RawWsClient c = open_client(server.port(), d);
    std::string burst = c.encode({.opcode = op::kText, .payload = "before"});
    burst += c.encode({.opcode = op::kPing, .payload = "between"});
    burst += c.encode({.opcode = op::kBinary, .payload = "after"});
    REQUIRE(c.send_raw(burst));
    expect_echo(c, op::kText, "before");
    expect_frame(c, op::kPong, "between");
    expect_echo(c, op::kBinary, "after");
  }
}

}  // TEST_SUITE("io")
