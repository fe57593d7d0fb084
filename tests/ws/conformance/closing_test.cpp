// Conformance, Autobahn group 7 (closing): RFC 6455 §5.5.1 (a close frame's payload is empty, or a
// 2-byte code and a UTF-8 reason, at most 125 bytes in all), §7.4 (which codes may be sent), §7.1.1-
// §7.1.3 (the server answers a close frame with one of its own, then closes TCP first), §1.4 (after
// the close frame, nothing more is processed).
#include <doctest/doctest.h>

#include "tests/ws/conformance/conformance_support.hpp"

using namespace ringcast::test;

namespace {

// RFC 6455 §7.4.1-§7.4.2 and the IANA registry: what a peer may put in a close frame.
bool valid_on_wire(int code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

}  // namespace

TEST_SUITE("io") {

TEST_CASE("conformance 7.1.1: a message then a close: the message is echoed, then the close") {
  EchoServer server;
  for (const Delivery d : kBothDeliveries) {
    CAPTURE(d.name());
    RawWsClient c = open_client(server.port(), d);
    REQUIRE(c.send_text("Hello World!"));
    REQUIRE(c.send_close(1000));
    expect_echo(c, op::kText, "Hello World!");
    expect_close_echo(c, 1000);
  }
}

TEST_CASE("conformance 7.1.2-7.1.5: frames after the close frame (close, ping, text, the end of a message) are ignored") {
  EchoServer server;
  for (const Delivery d : kBothDeliveries) {
    for (int variant = 0; variant < 4; ++variant) {
      CAPTURE(d.name());
      CAPTURE(variant);
      RawWsClient c = open_client(server.port(), d);
      std::string burst;
      if (variant == 3) burst += c.encode({.opcode = op::kText, .payload = "fragment1", .fin = false});
      burst += c.encode({.opcode = op::kClose, .payload = close_payload(1000)});
      switch (variant) {
        case 0: burst += c.encode({.opcode = op::kClose, .payload = close_payload(1001)}); break;
        case 1: burst += c.encode({.opcode = op::kPing, .payload = "no pong"}); break;
        case 2: burst += c.encode({.opcode = op::kText, .payload = "no echo"}); break;
        case 3: burst += c.encode({.opcode = op::kContinuation, .payload = "fragment2", .fin = true}); break;
      }
      c.send_raw(burst);
      expect_close_echo(c, 1000);
    }
  }
}

TEST_CASE("conformance 7.1.6: a large message, a close and a ping in one write: the message is echoed, then the close, no pong") {
  EchoServer server;
  RawWsClient c = open_client(server.port());
  const std::string big = text_payload(256 << 10);
  std::string burst = c.encode({.opcode = op::kText, .payload = big});
  burst += c.encode({.opcode = op::kClose, .payload = close_payload(1000)});
  burst += c.encode({.opcode = op::kPing, .payload = "no pong"});
  REQUIRE(c.send_raw(burst));
  expect_echo(c, op::kText, big);
  expect_close_echo(c, 1000);
}

TEST_CASE("conformance 7.3.1: a close without payload is answered with a close without payload") {
  EchoServer server;
  for (const Delivery d : kBothDeliveries) {
    CAPTURE(d.name());
    RawWsClient c = open_client(server.port(), d);
    REQUIRE(c.send_close_empty());
    expect_close_echo(c, 1005);  // 1005: the answer's payload was empty
  }
  REQUIRE(server.wait_closes(2));
  for (const int code : server.close_codes()) CHECK(code == 1005);  // on_close: "no status received"
}

TEST_CASE("conformance 7.3.2: a close with a 1-byte payload fails with 1002") {
  EchoServer server;
  for (const Delivery d : kBothDeliveries) {
    CAPTURE(d.name());
    RawWsClient c = open_client(server.port(), d);
    c.send_frame({.opcode = op::kClose, .payload = "\x03"});
    expect_fail(c, 1002);
  }
}

TEST_CASE("conformance 7.3.3-7.3.5: a close with a code and a reason of 0, 12 or 123 bytes is answered with the code") {
  EchoServer server;
  const std::string reasons[] = {"", "Hello World!", repeat("*", 123), text_payload(123)};
  for (const Delivery d : kBothDeliveries) {
    for (const std::string& reason : reasons) {
      CAPTURE(d.name());
      CAPTURE(reason.size());
      RawWsClient c = open_client(server.port(), d);
      REQUIRE(c.send_close(1000, reason));
      expect_close_echo(c, 1000);
    }
  }
}

TEST_CASE("conformance 7.3.6: a close with a 124-byte reason (126-byte payload) fails with 1002") {
  EchoServer server;
  for (const Delivery d : kBothDeliveries) {
    CAPTURE(d.name());
    RawWsClient c = open_client(server.port(), d);
    c.send_close(1000, repeat("*", 124));
    expect_fail(c, 1002);
  }
}

TEST_CASE("conformance 7.5.1: a close reason that is not UTF-8 fails with 1007") {
  EchoServer server;
  const std::string_view reasons[] = {"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80" "edited",
                                      "\xc0\xaf", "truncated \xe2\x82", "\xff"};
  for (const Delivery d : kBothDeliveries) {
    for (const std::string_view reason : reasons) {
      CAPTURE(d.name());
      CAPTURE(reason.size());
      RawWsClient c = open_client(server.port(), d);
      c.send_close(1000, reason);
      expect_fail(c, 1007);
    }
  }
}

TEST_CASE("conformance 7.7, 7.9, 7.13: every close code from 0 to 5000, and beyond: valid ones are echoed, others fail with 1002") {
  // Valid (§7.4.1, IANA): 1000-1003, 1007-1014, 3000-4999. Invalid: 0-999, 1004 (reserved), 1005,
  // 1006 and 1015 (never on the wire), 1016-2999 (reserved for the protocol), 5000 and above.
  EchoServer server;
  std::vector<int> codes;
  for (int code = 0; code <= 5000; ++code) codes.push_back(code);
  for (const int code : {5001, 6000, 10000, 32767, 32768, 65000, 65535}) codes.push_back(code);
  for (const int code : codes) {
    CAPTURE(code);
    RawWsClient c = open_client(server.port());
    c.send_close(static_cast<uint16_t>(code), "reason");
    if (valid_on_wire(code)) {
      expect_close_echo(c, code);
    } else {
      expect_fail(c, 1002);
    }
  }
  // Byte by byte: the first and last code of each class.
  const int edges[] = {0, 999, 1000, 1003, 1004, 1006, 1007, 1014, 1015, 1016, 2999, 3000, 4999, 5000, 65535};
  for (const int code : edges) {
    CAPTURE(code);
    RawWsClient c = open_client(server.port(), Delivery::bytewise());
    c.send_close(static_cast<uint16_t>(code));
    if (valid_on_wire(code)) {
      expect_close_echo(c, code);
    } else {
      expect_fail(c, 1002);
    }
  }
}

TEST_CASE("conformance 7: the server's on_close sees the client's code and reason, a protocol error's code, or 1006 for a dropped TCP") {
  EchoServer server;
  {
    RawWsClient c = open_client(server.port());
    REQUIRE(c.send_close(4321, "see you"));
    expect_close_echo(c, 4321);
  }
  REQUIRE(server.wait_closes(1));
  {
    RawWsClient c = open_client(server.port());
    c.send_frame({.opcode = op::kText, .payload = "unmasked", .masked = false});
    expect_fail(c, 1002);
  }
  REQUIRE(server.wait_closes(2));
  {
    RawWsClient c = open_client(server.port());
    REQUIRE(c.send_text("then TCP goes away"));
    expect_echo(c, op::kText, "then TCP goes away");
  }
  REQUIRE(server.wait_closes(3));
  CHECK(server.close_codes() == std::vector<int>{4321, 1002, 1006});
  CHECK(server.close_reasons().at(0) == "see you");
}

TEST_CASE("conformance 7: a client that half-closes TCP after its close frame still gets the server's close frame and FIN") {
  EchoServer server;
  RawWsClient c = open_client(server.port());
  REQUIRE(c.send_close(1000));
  c.shutdown_write();
  expect_close_echo(c, 1000);
}

TEST_CASE("conformance 7: a client that drops TCP without a close frame leaves the server serving others") {
  EchoServer server;
  for (int i = 0; i < 20; ++i) {
    RawWsClient c = open_client(server.port());
    // Half a frame, then the connection goes (with a reset every other time).
    const std::string frame = c.encode({.opcode = op::kText, .payload = "never finished"});
    REQUIRE(c.send_raw(std::string_view(frame).substr(0, 5)));
    if (i % 2) {
      linger lg{.l_onoff = 1, .l_linger = 0};
      ::setsockopt(c.fd(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
  }
  REQUIRE(server.wait_closes(20));
  for (const int code : server.close_codes()) CHECK(code == 1006);
  RawWsClient c = open_client(server.port());
  REQUIRE(c.send_text("still here"));
  expect_echo(c, op::kText, "still here");
}

}  // TEST_SUITE("io")
