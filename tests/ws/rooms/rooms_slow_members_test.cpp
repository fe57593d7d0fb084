// Rooms and their members' budgets: a publication counts against a member's max_backpressure before it
// is queued — a member with an empty queue is not handed a publication larger than its budget — and
// the compressed frame of a large publication is queued from a copy of its own, so that members that
// never read keep alive what they are counted for, not every publication whole. Real sockets, every
// backend.
#include <doctest/doctest.h>
#include <sys/socket.h>

#include <random>
#include <string>
#include <vector>

#include <ringcast/ws/app.hpp>
#include "tests/support/deflate_test_support.hpp"
#include "tests/support/memory.hpp"
#include "tests/support/raw_ws_checks.hpp"
#include "tests/support/raw_ws_client.hpp"

using namespace ringcast;
using namespace ringcast::test;
using namespace std::chrono_literals;

namespace {

struct Member {
  std::string room;
};

struct RoomServer {
  // Members at /room/NAME, with `backpressure` as their budget; publishers (not members) at /pub/NAME.
  // Room "skip" skips a member over its budget; every other room closes it (1008).
  RoomServer(size_t backpressure, bool deflate, size_t max_message)
      : app(AppOptions{.host = "127.0.0.1", .port = 0, .shards = {.count = 2}, .loop = loop_options()}) {
    App* a = &app;
    auto join = [](Request& req, Upgrade<Member>& up) { up.accept(Member{std::string(req.param("name"))}); };
    app.ws<Member>("/room/:name", {
        .on_upgrade = join,
        .on_open = [](WebSocket<Member>& ws) { ws.subscribe(ws.data().room); },
        .limits = {.max_message_size = max_message, .max_backpressure = backpressure, .max_inflate_rate = 0},
        .compression = DeflateOptions{.enabled = deflate},
    });
    app.ws<Member>("/pub/:name", {
        .on_upgrade = join,
        .on_message = [a](WebSocket<Member>& ws, std::string_view m, OpCode op) { a->rooms().publish(ws.data().room, m, op); },
        .limits = {.max_message_size = max_message, .max_inflate_rate = 0},
        .compression = DeflateOptions{.enabled = deflate},
    });
    app.room_options("skip", {.slow_consumer = SlowConsumer::skip});
    app.start();
  }
  ~RoomServer() {
    app.stop();
    app.join();
  }
  uint64_t metric(std::string_view name) const {
    uint64_t sum = 0;
    for (uint64_t v : metric_by_shard(app.metrics(), name)) sum += v;
    return sum;
  }
  App app;
};

RawWsClient join(uint16_t port, const std::string& path, bool deflate = false, int receive_buffer = 0) {
  RawWsClient c(port, Delivery::whole(), receive_buffer);
  REQUIRE(c.connected());
  REQUIRE(c.handshake(path, deflate ? "Sec-WebSocket-Extensions: permessage-deflate\r\n" : ""));
  return c;
}

}  // namespace

TEST_SUITE("io") {

TEST_CASE("rooms: a member with an empty queue is not handed a publication larger than its budget") {
  constexpr size_t kBudget = 64 << 10;
  RoomServer server(kBudget, false, 1 << 20);
  const uint16_t port = server.app.port();
  RawWsClient closing = join(port, "/room/big");
  RawWsClient skipping = join(port, "/room/skip");
  REQUIRE(eventually([&] { return server.metric("room_subscriptions") == 2; }, 5s));
  RawWsClient big = join(port, "/pub/big");
  RawWsClient skip = join(port, "/pub/skip");

  const std::string large((100 << 10), 'L');  // more than the members' whole budget
  const std::string fits(10 << 10, 'f');
  REQUIRE(big.send_binary(large));
  expect_fail(closing, 1008);  // the room's policy, and no frame before it
  REQUIRE(skip.send_binary(large));
  REQUIRE(eventually([&] { return server.metric("room_skipped_slow_total") == 1; }, 5s));
  REQUIRE(skip.send_binary(fits));
  expect_frame(skipping, op::kBinary, fits);  // the large one was skipped, the next one comes
  CHECK(server.metric("room_closed_slow_total") == 1);
}

}  // TEST_SUITE("io")

TEST_SUITE("io_alone") {

TEST_CASE("rooms: members with permessage-deflate that never read keep alive only the compressed frames they are counted for") {
  constexpr int kMembers = 10;
  constexpr int kBombs = 40;
  constexpr size_t kInflated = 4 << 20;  // each publication: 4 MiB
  RoomServer server(1 << 20, true, kInflated);
  const uint16_t port = server.app.port();
  std::vector<RawWsClient> members;
  for (int i = 0; i < kMembers; ++i) members.push_back(join(port, "/room/r", true, 4096));  // they never read
  REQUIRE(eventually([&] { return server.metric("room_subscriptions") == kMembers; }, 5s));
  RawWsClient publisher = join(port, "/pub/r", true);
  // 4 MiB that compress to about 60 KiB: a 16 KiB random block over and over (the window reaches one
  // copy back), so that the members' kernel buffers fill and what follows waits in the server.
  std::mt19937 rng(3);
  const std::string block = random_bytes(rng, 16 << 10);
  std::string message;
  while (message.size() < kInflated) message += block;
  std::string bomb;
  {
    PeerDeflater z(15, false, 9);
    bomb = z.compress(message);
  }
  const size_t heap_before = heap_in_use();
  for (int i = 0; i < kBombs; ++i) REQUIRE(publisher.send_frame({.opcode = op::kBinary, .payload = bomb, .rsv = kRsv1Bit}));
  REQUIRE(eventually([&] { return server.metric("room_deliveries_total") == kMembers * kBombs; }, 20s));
  const long growth = static_cast<long>(heap_in_use()) - static_cast<long>(heap_before);
  MESSAGE(kBombs, " publications of 4 MiB (", bomb.size(), " B compressed) to ", kMembers,
          " members that never read: heap +", growth / 1024, " KiB, ", server.metric("output_queued_bytes"), " B queued");
  // Counted: the compressed frames each member has queued. Were each a reference to its publication,
  // the members would keep every publication they are behind on (4 MiB each) alive.
  CHECK(growth < 12 << 20);
  CHECK(server.metric("room_closed_slow_total") == 0);
}

}  // TEST_SUITE("io_alone")
