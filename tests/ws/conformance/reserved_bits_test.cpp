// Conformance, Autobahn group 3 (reserved bits): RFC 6455 §5.2 — RSV1, RSV2 and RSV3 must be 0 unless
// an extension defines them; with no extension negotiated, a frame with any of them set fails the
// connection with 1002, whatever its opcode. What the server echoed before stays delivered, and what
// the client sends after is not answered.
#include <doctest/doctest.h>

#include "tests/ws/conformance/conformance_support.hpp"

using namespace ringcast::test;

namespace {

struct Carrier {
  std::string_view name;
  uint8_t opcode;
  std::string payload;
};

}  // namespace

TEST_SUITE("io") {

TEST_CASE("conformance 3.1-3.7: any RSV bit on text, binary, ping, close or continuation frames fails with 1002, after earlier echoes") {
  EchoServer server;
  const Carrier carriers[] = {
      {"text", op::kText, "Hello, world!"},
      {"binary", op::kBinary, binary_payload(16)},
      {"ping", op::kPing, "ping"},
      {"close", op::kClose, close_payload(1000)},
      {"continuation", op::kContinuation, "rest"},
  };
  for (const Delivery d : kBothDeliveries) {
    for (const Carrier& carrier : carriers) {
      for (uint8_t rsv = 1; rsv <= 7; ++rsv) {  // RSV1 RSV2 RSV3 as a 3-bit number, as Autobahn counts
        CAPTURE(d.name());
        CAPTURE(carrier.name);
        CAPTURE(int{rsv});
        RawWsClient c = open_client(server.port(), d);
        REQUIRE(c.send_text("echoed before"));
        expect_echo(c, op::kText, "echoed before");
        if (carrier.opcode == op::kContinuation) REQUIRE(c.send_text("start ", false));
        std::string burst = c.encode({.opcode = carrier.opcode, .payload = carrier.payload,
                                      .rsv = static_cast<uint8_t>(rsv << 4)});
        burst += c.encode({.opcode = op::kPing, .payload = "not answered"});
        c.send_raw(burst);
        expect_fail(c, 1002);
      }
    }
  }
}

TEST_CASE("conformance 3: a frame with RSV bits sent together with valid frames fails after echoing those before it") {
  EchoServer server;
  for (const Delivery d : kBothDeliveries) {
    CAPTURE(d.name());
    RawWsClient c = open_client(server.port(), d);
    std::string burst = c.encode({.opcode = op::kText, .payload = "first"});
    burst += c.encode({.opcode = op::kText, .payload = "second", .rsv = kRsv2Bit});
    burst += c.encode({.opcode = op::kText, .payload = "third"});
    c.send_raw(burst);
    const CloseOutcome o = c.read_until_close();
    REQUIRE(o.before.size() == 1);
    CHECK(int{o.before[0].opcode} == int{op::kText});
    CHECK(o.before[0].payload == "first");
    CHECK(o.close_received);
    CHECK(o.code == 1002);
    CHECK(o.clean());
  }
}

}  // TEST_SUITE("io")
