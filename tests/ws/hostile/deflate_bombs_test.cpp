// Hostile input, permessage-deflate: a few KiB that inflate to megabytes. Servers have checked their
// limit on the compressed size (a 22-byte frame inflating past a 128-byte limit), per frame instead of
// per message, or not across messages that share a window (context takeover). Here the limit is the
// inflated message's, checked as it inflates, so a bomb costs at most the limit in memory and work;
// and the inflate budget (max_inflate_rate) bounds what one connection may make the server inflate
// over time, so bombs just under the limit do not buy a core either.
#include <doctest/doctest.h>

#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/ws/hostile/hostile_support.hpp"

using namespace ringcast;
using namespace ringcast::test;
using namespace std::chrono_literals;

namespace {

std::string deflated(std::string_view message, int level = 9) {
  PeerDeflater z(15, false, level);
  return z.compress(message);
}

}  // namespace

TEST_SUITE("io") {

TEST_CASE("hostile: 16 KB of 1 KB fragments inflating to 16 MiB, against a route's defaults: 1009 after the limit's worth of work") {
  EchoServer server(kEchoMaxMessage, deflate_on(), false, {.route = route_defaults});
  const std::string bomb = deflated(std::string(16 << 20, '\0'));
  CHECK(bomb.size() < 20 << 10);
  for (const Delivery d : kBothDeliveries) {
    CAPTURE(d.name());
    RawWsClient c = deflate_client(server.port());
    c.set_delivery(d.chunk == 1 ? Delivery::chunks(7) : d);
    const uint64_t inflated_before = server.metric("websocket_inflated_bytes_total");
    REQUIRE(c.send_raw(message_frames(c, op::kBinary, bomb, bomb.size() / 1024)));
    expect_fail(c, 1009);
    // Inflation stopped one byte past the route's 64 KiB, whatever the rest of the bomb held.
    CHECK(server.metric("websocket_inflated_bytes_total") - inflated_before <= (64 << 10) + 1);
  }
  CHECK(server.messages() == 0);
  CHECK(server.metric("websocket_closed_too_big_total") == 2);
}

TEST_CASE("hostile: compressed messages of the limit less one and the limit pass, one more byte fails: whole, in fragments, with takeover") {
  constexpr size_t kLimit = 64 << 10;
  EchoServer server(kLimit, deflate_on(ClientContextTakeover::allow), false);
  size_t echoed = 0;
  for (const size_t frames : {size_t{1}, size_t{5}}) {
    for (const bool takeover : {false, true}) {
      CAPTURE(frames);
      CAPTURE(takeover);
      RawWsClient c(server.port());
      REQUIRE(c.handshake("/", "Sec-WebSocket-Extensions: permessage-deflate\r\n"));
      PeerDeflater z(15, takeover, 9);  // takeover: each message may refer to the ones before it
      for (const size_t size : {kLimit - 1, kLimit}) {
        const std::string message(size, static_cast<char>('a' + size % 7));
        REQUIRE(c.send_raw(message_frames(c, op::kBinary, z.compress(message), frames)));
        expect_frame(c, op::kBinary, message);
        ++echoed;
      }
      const std::string over(kLimit + 1, 'z');
      REQUIRE(c.send_raw(message_frames(c, op::kBinary, z.compress(over), frames)));
      expect_fail(c, 1009);
    }
  }
  CHECK(server.messages() == echoed);
}

TEST_CASE("hostile: with context takeover a message smaller than the one before it, copying it over and over, fails with 1009") {
  constexpr size_t kLimit = 64 << 10;
  EchoServer server(kLimit, deflate_on(ClientContextTakeover::allow), false);
  RawWsClient c(server.port());
  REQUIRE(c.handshake("/", "Sec-WebSocket-Extensions: permessage-deflate\r\n"));
  PeerDeflater z(15, true, 9);
  std::mt19937 rng(11);
  const std::string seed = random_bytes(rng, 4 << 10);  // incompressible: it travels as itself
  REQUIRE(c.send_raw(message_frames(c, op::kBinary, z.compress(seed), 1)));
  expect_frame(c, op::kBinary, seed);
  // 64 copies of the message before: back-references into the window both ends share.
  std::string copies;
  for (int i = 0; i < 64; ++i) copies += seed;
  const std::string bomb = z.compress(copies);
  CHECK(bomb.size() < seed.size());
  REQUIRE(c.send_raw(message_frames(c, op::kBinary, bomb, 3)));
  expect_fail(c, 1009);
  CHECK(server.messages() == 1);
}

TEST_CASE("hostile: bombs just under the limit are inflated only as fast as the route allows, then 1008") {
  constexpr size_t kLimit = 64 << 10;
  constexpr size_t kRate = 1 << 20;  // a second's worth at once: 16 messages of the limit
  EchoServer server(kLimit, deflate_on(), false, {.route = [](WebSocketBehavior<EchoPeer>& b) {
                      b.limits.max_inflate_rate = kRate;
                      b.limits.max_backpressure = 64 << 20;  // this test is about inflating, not about slow readers
                    }});
  RawWsClient c = deflate_client(server.port());
  const std::string message(kLimit, '\0');
  const std::string bomb = deflated(message);
  CHECK(bomb.size() < 128);
  std::string bombs;
  for (int i = 0; i < 64; ++i) bombs += message_frames(c, op::kBinary, bomb, 1);
  REQUIRE(c.send_raw(bombs));  // 4 MiB of work in about 6 KB
  const CloseOutcome o = c.read_until_close();
  CHECK(o.close_received);
  CHECK(o.code == 1008);
  MESSAGE(o.before.size(), " of 64 bombs inflated before 1008; ", server.metric("websocket_inflated_bytes_total"),
          " bytes inflated in all");
  // The burst's 16, and what the bucket refilled (1 KiB a millisecond) while they were inflated.
  CHECK(o.before.size() >= 16);
  CHECK(o.before.size() <= 24);
  CHECK(server.metric("websocket_inflated_bytes_total") <= kRate + 9 * kLimit);
  CHECK(server.metric("websocket_closed_inflate_budget_total") == 1);
  REQUIRE(server.wait_closes(1));
  CHECK(server.messages() == o.before.size());

  // Another connection has its own budget; and time refills a budget: 1 s later, 16 more pass.
  RawWsClient other = deflate_client(server.port());
  std::string sixteen;
  for (int i = 0; i < 16; ++i) sixteen += message_frames(other, op::kBinary, bomb, 1);
  REQUIRE(other.send_raw(sixteen));
  for (int i = 0; i < 16; ++i) expect_frame(other, op::kBinary, message);
  std::this_thread::sleep_for(1100ms);
  REQUIRE(other.send_raw(sixteen));
  for (int i = 0; i < 16; ++i) expect_frame(other, op::kBinary, message);
}

TEST_CASE("hostile: compressed messages held open on many connections count their inflate streams in the shard's budget: 1013") {
  constexpr size_t kBudget = 256 << 10;  // about six borrowed streams (40 KiB each) and their buffers
  EchoServer server(64 << 10, deflate_on(), false, {.app = [](AppOptions& o) {
                      o.shards.count = 1;
                      o.max_partial_message_bytes = kBudget;
                    }});
  std::mt19937 rng(5);
  const std::string message = text_message(rng, 4000);
  std::vector<RawWsClient> clients;
  std::vector<std::string> second_halves;
  for (int i = 0; i < 12; ++i) {
    clients.push_back(deflate_client(server.port()));
    PeerDeflater z(15, false, 6);
    const std::string payload = z.compress(message, 500);
    const std::string_view p = payload;
    REQUIRE(clients.back().send_frame({.opcode = op::kText, .payload = p.substr(0, p.size() / 2), .fin = false, .rsv = kRsv1Bit}));
    second_halves.push_back(clients.back().encode({.opcode = op::kContinuation, .payload = p.substr(p.size() / 2)}));
    std::this_thread::sleep_for(20ms);
  }
  // Refused as they opened: once the budget is spent, a message that would borrow a stream gets 1013.
  int refused = 0;
  std::vector<size_t> kept;
  for (size_t i = 0; i < clients.size(); ++i) {
    RawFrame f;
    const ReadStatus s = clients[i].read_frame(f, 200);
    if (s == ReadStatus::frame && f.opcode == op::kClose) {
      CHECK(f.close_code() == 1013);
      ++refused;
    } else {
      CHECK(s == ReadStatus::timeout);
      kept.push_back(i);
    }
  }
  MESSAGE(refused, " of 12 half-sent compressed messages refused with 1013 (budget ", kBudget, " B)");
  CHECK(refused >= 4);
  CHECK(kept.size() >= 3);
  // The ones kept end their messages one by one; each that ends gives room back for the next (one
  // that needs to grow while the budget is spent may still hear 1013).
  size_t echoed = 0;
  for (const size_t i : kept) {
    REQUIRE(clients[i].send_raw(second_halves[i]));
    RawFrame f;
    REQUIRE(clients[i].read_frame(f) == ReadStatus::frame);
    if (f.opcode == op::kClose) {
      CHECK(f.close_code() == 1013);
      ++refused;
    } else {
      CHECK(f.payload == message);
      ++echoed;
    }
  }
  CHECK(echoed >= kept.size() - 1);
  CHECK(server.wait_closes(static_cast<size_t>(refused)));
  CHECK(server.metric("websocket_closed_shard_budget_total") == static_cast<uint64_t>(refused));
  CHECK(server.metric("websocket_partial_message_bytes") == 0);
  // With the messages done, there is room for a newcomer.
  RawWsClient late = deflate_client(server.port());
  PeerDeflater z(15, false, 6);
  REQUIRE(late.send_frame({.opcode = op::kText, .payload = z.compress(message, 500), .rsv = kRsv1Bit}));
  expect_frame(late, op::kText, message);
}

}  // TEST_SUITE("io")
