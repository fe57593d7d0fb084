// Hostile input, fragments: messages built of many small frames. A server that keeps a record per
// fragment pins many times what the fragments carry (0.87 MB of one-byte fragments once pinned 13.5 MB);
// one that checks its limit per frame lets a message of small fragments grow without bound; and
// connections each within their own limit can add up past what the machine has. Here a message is one
// buffer whatever its fragments, its limit is checked at the fragment that crosses it (1009), and what
// the shard's connections hold in messages in progress is bounded (1013).
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/memory.hpp"
#include "tests/ws/hostile/hostile_support.hpp"

using namespace ringcast;
using namespace ringcast::test;
using namespace std::chrono_literals;

TEST_SUITE("io_alone") {

TEST_CASE("hostile: 200,000 one-byte fragments without FIN over 1,000 connections hold what they carry, not a record each") {
  constexpr int kConnections = 1000;
  constexpr int kFragments = 200;
  EchoServer server;
  std::vector<RawWsClient> clients;
  clients.reserve(kConnections);
  for (int i = 0; i < kConnections; ++i) clients.push_back(open_client(server.port()));
  REQUIRE(eventually([&] { return server.metric("websockets") == kConnections; }, 10s));

  // Every connection: a text frame without FIN, then 199 continuations without FIN, one byte each
  // (7 bytes on the wire apiece, 1.4 MB in all).
  std::string fragments = clients[0].encode({.opcode = op::kText, .payload = "a", .fin = false});
  for (int i = 1; i < kFragments; ++i) fragments += clients[0].encode({.opcode = op::kContinuation, .payload = "a", .fin = false});
  const uint64_t bytes_before = server.metric("received_bytes_total");
  const size_t heap_before = heap_in_use();
  const long rss_before = rss_kib();
  for (RawWsClient& c : clients) REQUIRE(c.send_raw(fragments));
  REQUIRE(eventually([&] { return server.metric("received_bytes_total") >= bytes_before + kConnections * fragments.size(); }, 20s));

  const uint64_t held = server.metric("websocket_partial_message_bytes");
  const long heap_growth = static_cast<long>(heap_in_use()) - static_cast<long>(heap_before);
  const long rss_growth = rss_kib() - rss_before;
  MESSAGE("200,000 fragments on 1,000 connections: ", held, " B counted in messages in progress, heap +", heap_growth,
          " B, RSS +", rss_growth, " KiB");
  // 200 bytes of payload per connection, in one buffer with its record: a few hundred bytes each. A
  // record per fragment would be 200 of them per connection.
  CHECK(held >= kConnections * kFragments);
  CHECK(held <= kConnections * 1024);
  CHECK(heap_growth < kConnections * 2048);
  // RSS: the heap's growth, and the pages of the shards' receive buffers touched for the first time.
  CHECK(rss_growth < 24 * 1024);
  CHECK(server.messages() == 0);

  // Each message ends: every connection gets its 201 bytes back, and nothing stays held.
  const std::string last = clients[0].encode({.opcode = op::kContinuation, .payload = "b", .fin = true});
  for (RawWsClient& c : clients) REQUIRE(c.send_raw(last));
  const std::string echo = std::string(kFragments, 'a') + "b";
  for (RawWsClient& c : clients) expect_frame(c, op::kText, echo);
  CHECK(server.metric("websocket_partial_message_bytes") == 0);
}

}  // TEST_SUITE("io_alone")

TEST_SUITE("io") {

TEST_CASE("hostile: fragments each under the limit whose sum passes it fail with 1009 at the fragment that crosses") {
  constexpr size_t kLimit = 1000;
  EchoServer server(kLimit);
  for (const Delivery d : kBothDeliveries) {
    CAPTURE(d.name());
    {
      RawWsClient c = open_client(server.port(), d);
      REQUIRE(c.send_binary(std::string(300, 'x'), false));
      REQUIRE(c.send_continuation(std::string(300, 'x'), false));
      REQUIRE(c.send_continuation(std::string(300, 'x'), false));  // 900: within the limit, nothing happens
      RawFrame f;
      CHECK(c.read_frame(f, 200) == ReadStatus::timeout);
      // The fourth fragment's header says 300 more: 1,200 > 1,000, failed before any of its bytes is kept.
      REQUIRE(c.send_frame({.opcode = op::kContinuation, .payload = std::string(300, 'x'), .fin = false}));
      expect_fail(c, 1009);
    }
    {
      INFO("fragments that end exactly at the limit make a message");
      RawWsClient c = open_client(server.port(), d);
      REQUIRE(c.send_binary(std::string(300, 'y'), false));
      REQUIRE(c.send_continuation(std::string(600, 'y'), false));
      REQUIRE(c.send_continuation(std::string(100, 'y'), true));
      expect_frame(c, op::kBinary, std::string(kLimit, 'y'));
    }
  }
  CHECK(server.messages() == 2);  // the messages at the limit; none for the ones over it
  CHECK(server.metric("websocket_closed_too_big_total") == 2);
}

TEST_CASE("hostile: connections each within max_message_size cannot add up past the shard's budget: 1013, then room again") {
  constexpr size_t kBudget = 1 << 20;
  constexpr size_t kPart = 300 << 10;  // of a message that never ends; 2 of them fill the budget's buffers
  EchoServer server(1 << 20, DeflateOptions{.enabled = false}, false, {.app = [](AppOptions& o) {
                      o.shards.count = 1;
                      o.max_partial_message_bytes = kBudget;
                    }});
  std::vector<RawWsClient> clients;
  for (int i = 0; i < 5; ++i) {
    clients.push_back(open_client(server.port()));
    // The first 300 KiB of a message whose end never comes (not yet).
    REQUIRE(clients.back().send_binary(std::string(kPart, 'p'), false));
    std::this_thread::sleep_for(50ms);  // one at a time: the first ones in are the ones kept
  }
  int refused = 0;
  std::vector<RawWsClient*> kept;
  for (RawWsClient& c : clients) {
    RawFrame f;
    const ReadStatus s = c.read_frame(f, 300);
    if (s == ReadStatus::frame && f.opcode == op::kClose) {
      CHECK(f.close_code() == 1013);
      ++refused;
    } else {
      CHECK(s == ReadStatus::timeout);
      kept.push_back(&c);
    }
  }
  MESSAGE(refused, " of 5 connections refused with 1013; ", server.metric("websocket_partial_message_bytes"),
          " B held in messages in progress against a budget of ", kBudget);
  CHECK(refused >= 2);
  CHECK(!kept.empty());
  CHECK(server.metric("websocket_closed_shard_budget_total") == static_cast<uint64_t>(refused));
  // What is counted stays within the budget, give or take one buffer's growth.
  CHECK(server.metric("websocket_partial_message_bytes") <= kBudget + (512 << 10));
  CHECK(server.messages() == 0);

  // The connections kept finish their messages, and then a newcomer finds room again.
  const std::string whole = std::string(kPart, 'p') + std::string(100 << 10, 'q');
  for (RawWsClient* c : kept) {
    REQUIRE(c->send_continuation(std::string(100 << 10, 'q'), true));
    expect_frame(*c, op::kBinary, whole);
  }
  CHECK(server.metric("websocket_partial_message_bytes") == 0);
  RawWsClient late = open_client(server.port());
  REQUIRE(late.send_binary(std::string(kPart, 'p'), false));
  REQUIRE(late.send_continuation(std::string(100 << 10, 'q'), true));
  expect_frame(late, op::kBinary, whole);
  CHECK(server.messages() == kept.size() + 1);
}

}  // TEST_SUITE("io")
