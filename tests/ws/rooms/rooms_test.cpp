// Rooms across shards: a room whose members sit on four shards, many publishers, every message to
// every member exactly once and in order; sequenced rooms in one order everywhere. Real sockets,
// the ringcast client on the other side. Runs on every backend (suite "io"), and under TSan.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <atomic>
#include <charconv>
#include <future>
#include <mutex>

#include <ringcast/ws/app.hpp>
#include <ringcast/ws/detail/app_internals.hpp>
#include <ringcast/ws/web_socket_client.hpp>
#include "tests/support/net_test_support.hpp"
#include "tests/support/room_clients.hpp"

using namespace ringcast;
using namespace std::chrono_literals;

namespace {

struct Member {
  std::string room;
};

constexpr unsigned kServerShards = 4;

std::unique_ptr<App> room_server(bool deflate = false) {
  auto app = std::make_unique<App>(
      AppOptions{.host = "127.0.0.1", .port = 0, .shards = {.count = kServerShards}, .loop = test::loop_options()});
  App* a = app.get();
  auto join = [](Request& req, Upgrade<Member>& up) { up.accept(Member{std::string(req.param("name"))}); };
  // Members read as fast as their client thread runs: on a loaded machine one can fall most of a test
  // behind, and the room would close it as slow (1008). These tests check delivery, not that policy.
  const WebSocketLimits limits{.max_backpressure = size_t{64} << 20};
  // The bench protocol: a member's message goes to every member, sender included.
  app->ws<Member>("/room/:name", {
      .on_upgrade = join,
      .on_open = [](WebSocket<Member>& ws) { ws.subscribe(ws.data().room); },
      .on_message = [a](WebSocket<Member>& ws, std::string_view m, OpCode op) { a->rooms().publish(ws.data().room, m, op); },
      .limits = limits,
      .compression = DeflateOptions{.enabled = deflate},
  });
  // Sequenced: through the room's home shard, which stamps each message with its number.
  app->ws<Member>("/seq/:name", {
      .on_upgrade = join,
      .on_open = [](WebSocket<Member>& ws) { ws.subscribe(ws.data().room); },
      .on_message = [a](WebSocket<Member>& ws, std::string_view m,
                        OpCode op) { a->rooms().publish_sequenced(ws.data().room, m, op); },
      .limits = limits,
  });
  app->default_room_options({.stamp = [](std::string_view, uint64_t seq, std::string_view m) {
    return fmt::format("{}|{}", seq, m);
  }});
  app->start();
  return app;
}

// Runs fn(Rooms&) on every server shard and returns the results.
template <typename Fn>
std::vector<size_t> on_each_shard(App& app, Fn fn) {
  std::vector<std::promise<size_t>> done(kServerShards);
  std::vector<size_t> out;
  for (unsigned i = 0; i < kServerShards; ++i) {
    detail::AppInternals::server(app).runtime().shard(i).post([&, i](Shard&) { done[i].set_value(fn(app.rooms())); });
  }
  for (auto& d : done) out.push_back(d.get_future().get());
  return out;
}

using test::RoomClients;

void run_room(bool sequenced) {
  auto app = room_server();
  RoomClients clients({.members = 60, .publishers = 20, .per_publisher = 1000, .window = 8, .sequenced = sequenced});
  clients.connect(app->port(), sequenced ? "/seq/lobby" : "/room/lobby");
  REQUIRE(test::eventually([&] { return clients.opened.load() == clients.members; }, 20s));
  // Every shard has members, and every shard knows that every shard has members.
  const auto local = on_each_shard(*app, [](Rooms& r) { return r.local_members("lobby"); });
  for (size_t n : local) CHECK(n > 0);
  REQUIRE(test::eventually(
      [&] {
        for (size_t n : on_each_shard(*app, [](Rooms& r) { return size_t{r.shards_with_members("lobby")}; })) {
          if (n != kServerShards) return false;
        }
        return true;
      },
      10s));
  clients.start_publishing();
  const bool all = test::eventually([&] { return clients.total.load(std::memory_order_acquire) == clients.expected(); }, 120s);
  clients.close_all();
  REQUIRE(test::eventually([&] { return clients.closed.load() == clients.members; }, 10s));
  CHECK(all);
  for (int i = 0; i < clients.members; ++i) {
    CAPTURE(i);
    CHECK(clients.received[i] == uint64_t(clients.publishers) * clients.per_publisher);
    CHECK(clients.disorder[i] == 0);
  }
  if (sequenced) {
    // One order everywhere, numbered 1..N without a gap.
    const std::vector<std::string> first = clients.log(0);
    for (int i = 1; i < clients.members; ++i) CHECK(clients.log(i) == first);
    for (size_t k = 0; k < first.size(); ++k) {
      if (first[k].substr(0, first[k].find('|')) != std::to_string(k + 1)) {
        FAIL("sequence number " << k + 1 << " missing or out of place");
      }
    }
  }
  // Leaving is announced over the mesh: every shard forgets the room once those notices arrive.
  CHECK(test::eventually(
      [&] {
        for (size_t n : on_each_shard(*app, [](Rooms& r) { return size_t{r.shards_with_members("lobby")}; })) {
          if (n != 0) return false;
        }
        return true;
      },
      10s));
  app->stop();
  app->join();
}

}  // namespace

TEST_SUITE("io") {

TEST_CASE("rooms: a publication compressed once reaches members with and without permessage-deflate intact") {
  auto app = room_server(true);
  // Two groups in one room: the first offers permessage-deflate (and publishes), the second does not.
  RoomClients zipped({.members = 16, .publishers = 4, .per_publisher = 200, .window = 4, .deflate = true, .padding = 4000});
  // It checks the first group's publishers' messages.
  RoomClients plain({.members = 16, .publishers = 4, .per_publisher = 200, .window = 4, .padding = 4000, .publishes = false});
  zipped.connect(app->port(), "/room/mixed");
  plain.connect(app->port(), "/room/mixed");
  REQUIRE(test::eventually([&] { return zipped.opened.load() == 16 && plain.opened.load() == 16; }, 20s));
  CHECK(zipped.negotiated.load() == 16);
  CHECK(plain.negotiated.load() == 0);
  REQUIRE(test::eventually(
      [&] {
        for (size_t n : on_each_shard(*app, [](Rooms& r) { return r.local_members("mixed"); })) {
          if (n == 0) return false;
        }
        for (size_t n : on_each_shard(*app, [](Rooms& r) { return size_t{r.shards_with_members("mixed")}; })) {
          if (n != kServerShards) return false;
        }
        return true;
      },
      10s));
  zipped.start_publishing();
  const uint64_t expected = 16 * 4 * 200;
  CHECK(test::eventually([&] { return zipped.total.load() == expected && plain.total.load() == expected; }, 60s));
  CHECK(zipped.bad_padding.load() == 0);
  CHECK(plain.bad_padding.load() == 0);
  for (int i = 0; i < 16; ++i) {
    CHECK(zipped.disorder[i] == 0);
    CHECK(plain.disorder[i] == 0);
  }
  zipped.close_all();
  plain.close_all();
  REQUIRE(test::eventually([&] { return zipped.closed.load() == 16 && plain.closed.load() == 16; }, 10s));
  app->stop();
  app->join();
}

TEST_CASE("rooms: members on 4 shards, 20 publishers x 1,000 messages; every member gets each once, in publisher order") {
  run_room(false);
}

TEST_CASE("rooms: a sequenced room delivers one numbered order, without gaps, to members on every shard") {
  run_room(true);
}

}  // TEST_SUITE
