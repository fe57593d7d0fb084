// Conformance, Autobahn group 9 (limits and performance): large text and binary messages up to the
// echo server's 16 MiB limit, as one frame or in many fragments, written in chunks of many sizes, and
// long series of small round trips. Each case checks every byte that comes back. The group keeps
// under about 15 s per backend in a release build.
#include <doctest/doctest.h>

#include "tests/ws/conformance/conformance_support.hpp"

using namespace ringcast::test;

namespace {

constexpr size_t kSizes[] = {64 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20};
constexpr int kLargeTimeoutMs = 30'000;

void expect_large_echo(RawWsClient& c, uint8_t opcode, const std::string& msg) {
  expect_frame(c, opcode, msg, kLargeTimeoutMs);
}

// `msg` as one message of fragments of `fragment` bytes each (the last may be shorter).
std::string fragments(RawWsClient& c, uint8_t opcode, const std::string& msg, size_t fragment) {
  std::string out;
  out.reserve(msg.size() + (msg.size() / fragment + 1) * 8);
  for (size_t off = 0; off < msg.size(); off += fragment) {
    const bool last = off + fragment >= msg.size();
    out += c.encode({.opcode = off == 0 ? opcode : op::kContinuation,
                     .payload = std::string_view(msg).substr(off, fragment), .fin = last});
  }
  return out;
}

}  // namespace

TEST_SUITE("io") {

TEST_CASE("conformance 9.1-9.2: text and binary messages of 64 KiB to 16 MiB in one frame are echoed intact") {
  EchoServer server;
  for (const uint8_t opcode : {op::kText, op::kBinary}) {
    for (const size_t n : kSizes) {
      CAPTURE(int{opcode});
      CAPTURE(n);
      RawWsClient c = open_client(server.port(), Delivery::chunks(256 << 10));
      const std::string msg = opcode == op::kText ? text_payload(n) : binary_payload(n);
      REQUIRE(c.send_frame({.opcode = opcode, .payload = msg}));
      expect_large_echo(c, opcode, msg);
      REQUIRE(c.send_close(1000));
      expect_close_echo(c, 1000);
    }
  }
}

TEST_CASE("conformance 9.3-9.4: a 4 MiB message in fragments of 64 B to 1 MiB is echoed whole in one frame") {
  EchoServer server;
  const size_t kFragments[] = {64, 256, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 1 << 20};
  const std::string text = text_payload(4 << 20);
  const std::string bin = binary_payload(4 << 20);
  for (const uint8_t opcode : {op::kText, op::kBinary}) {
    for (const size_t fragment : kFragments) {
      CAPTURE(int{opcode});
      CAPTURE(fragment);
      RawWsClient c = open_client(server.port(), Delivery::chunks(64 << 10));
      const std::string& msg = opcode == op::kText ? text : bin;
      REQUIRE(c.send_raw(fragments(c, opcode, msg, fragment)));
      expect_large_echo(c, opcode, msg);
    }
  }
}

TEST_CASE("conformance 9.5-9.6: a 1 MiB message written in chops of 64 B to 128 KiB is echoed intact") {
  EchoServer server;
  const std::string text = text_payload(1 << 20);
  const std::string bin = binary_payload(1 << 20);
  for (const uint8_t opcode : {op::kText, op::kBinary}) {
    for (size_t chop = 64; chop <= (128 << 10); chop *= 4) {
      CAPTURE(int{opcode});
      CAPTURE(chop);
      RawWsClient c = open_client(server.port(), Delivery::chunks(chop));
      const std::string& msg = opcode == op::kText ? text : bin;
      REQUIRE(c.send_frame({.opcode = opcode, .payload = msg}));
      expect_large_echo(c, opcode, msg);
    }
  }
}

TEST_CASE("conformance 9.7-9.8: 1,000 round trips of 0 B to 4 KiB messages each come back in order") {
  EchoServer server;
  for (const uint8_t opcode : {op::kText, op::kBinary}) {
    for (const size_t n : {size_t{0}, size_t{16}, size_t{256}, size_t{4096}}) {
      CAPTURE(int{opcode});
      CAPTURE(n);
      RawWsClient c = open_client(server.port());
      const std::string msg = opcode == op::kText ? text_payload(n) : binary_payload(n);
      for (int i = 0; i < 1000; ++i) {
        REQUIRE(c.send_frame({.opcode = opcode, .payload = msg}));
        RawFrame f;
        REQUIRE(c.read_frame(f) == ReadStatus::frame);
        REQUIRE(int{f.opcode} == int{opcode});
        REQUIRE(f.payload.size() == msg.size());
        REQUIRE(f.payload == msg);
      }
    }
  }
}

}  // TEST_SUITE("io")
