// Rooms across nodes through a real redis-server: two Apps in this process, each a node with its own
// shards, both bridged to one Redis started by the test on a free port. Members and publishers on both
// nodes: every member gets every message exactly once, in each publisher's order. A room's channel is
// subscribed while the node has members and unsubscribed when the last leaves. Redis restarted under
// the nodes: they reconnect, resubscribe, and later messages flow again. Through a Redis that wants
// TLS and an ACL login, the same. Runs on every backend.
#include <doctest/doctest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include <ringcast/ws/app.hpp>
#include <ringcast/ws/web_socket_client.hpp>
#include "tests/support/net_test_support.hpp"
#include "tests/support/redis_fixture.hpp"
#include "tests/support/room_clients.hpp"

using namespace ringcast;
using namespace std::chrono_literals;

namespace {

using test::RedisServer;
using Reply = test::RedisReply;

struct Member {
  std::string room;
};

// A node: an App bridged to Redis, whose /room/NAME members publish to every member (sender included).
std::unique_ptr<App> node(const std::string& broker, unsigned shards = 2) {
  auto app = std::make_unique<App>(AppOptions{
      .host = "127.0.0.1", .port = 0, .shards = shards, .loop = test::loop_options(), .broker = broker});
  App* a = app.get();
  app->ws<Member>("/room/:name", {
      .on_upgrade = [](Request& req, Upgrade<Member>& up) { up.accept(Member{std::string(req.param("name"))}); },
      .on_open = [](WebSocket<Member>& ws) { ws.subscribe(ws.data().room); },
      .on_message = [a](WebSocket<Member>& ws, std::string_view m, OpCode op) { a->rooms().publish(ws.data().room, m, op); },
  });
  app->start();
  return app;
}

// The sum over shards of one counter from the app's /metrics text.
uint64_t metric(const App& app, std::string_view name) {
  uint64_t sum = 0;
  for (uint64_t v : test::metric_by_shard(app.metrics(), name)) sum += v;
  return sum;
}

// One group of client connections to one node, all in one room. Publisher ids are global (`first`
// onwards) so that members of every group can check every publisher's order: member i of the group
// publishes as `first + i` when i < publishers, keeping `window` of its own messages in flight.
using Group = test::RoomClients;

#define REQUIRE_REDIS()                 \
  if (!test::require_redis()) return

}  // namespace

TEST_SUITE("io") {

TEST_CASE("broker: members and publishers on two nodes; every member gets every message once, in publisher order") {
  REQUIRE_REDIS();
  RedisServer redis;
  auto a = node(redis.url("t1:"));
  auto b = node(redis.url("t1:"));
  CHECK(a->node_id() != b->node_id());
  constexpr int kMembers = 12, kPublishers = 4, kPerPublisher = 300, kWindow = 8;
  Group on_a({.members = kMembers, .publishers = kPublishers, .per_publisher = kPerPublisher, .window = kWindow,
              .first_id = 0, .all_publishers = 2 * kPublishers});
  Group on_b({.members = kMembers, .publishers = kPublishers, .per_publisher = kPerPublisher, .window = kWindow,
              .first_id = kPublishers, .all_publishers = 2 * kPublishers});
  on_a.connect(a->port(), "/room/across");
  on_b.connect(b->port(), "/room/across");
  REQUIRE(test::eventually([&] { return on_a.opened.load() == kMembers && on_b.opened.load() == kMembers; }, 20s));
  // Both nodes subscribe to the room's channel once each, whatever their number of shards with members.
  REQUIRE(test::eventually([&] { return redis.subscribers("t1:room:across") == 2; }, 10s));
  on_a.start_publishing();
  on_b.start_publishing();
  const uint64_t per_member = 2 * kPublishers * kPerPublisher;
  const bool all = test::eventually(
      [&] { return on_a.total.load(std::memory_order_acquire) + on_b.total.load(std::memory_order_acquire) == 2 * kMembers * per_member; },
      120s);
  // Let any duplicate arrive before counting.
  std::this_thread::sleep_for(200ms);
  CHECK(all);
  for (Group* g : {&on_a, &on_b}) {
    for (int i = 0; i < kMembers; ++i) {
      CAPTURE(i);
      CHECK(g->received[i] == per_member);
      CHECK(g->disorder[i] == 0);
    }
  }
  for (App* app : {a.get(), b.get()}) {
    CHECK(metric(*app, "broker_out_total") == kPublishers * kPerPublisher);
    CHECK(metric(*app, "broker_in_total") == kPublishers * kPerPublisher);
    CHECK(metric(*app, "broker_echoes_total") == kPublishers * kPerPublisher);  // its own, back and ignored
    CHECK(metric(*app, "broker_dropped_total") == 0);
  }
  on_a.close_all();
  on_b.close_all();
  REQUIRE(test::eventually([&] { return on_a.closed.load() == kMembers && on_b.closed.load() == kMembers; }, 10s));
  a->stop();
  b->stop();
  a->join();
  b->join();
}

TEST_CASE("broker: a room's channel is subscribed while the node has members and unsubscribed when the last leaves") {
  REQUIRE_REDIS();
  RedisServer redis;
  auto a = node(redis.url("t2:"), 3);
  Group members({.members = 3});
  members.connect(a->port(), "/room/brief");
  REQUIRE(test::eventually([&] { return members.opened.load() == 3; }, 20s));
  REQUIRE(test::eventually([&] { return redis.subscribers("t2:room:brief") == 1; }, 10s));
  const Reply channels = redis.command({"PUBSUB", "CHANNELS", "t2:*"});
  REQUIRE(channels.elements.size() == 1);
  CHECK(channels.elements[0].text == "t2:room:brief");

  // What another node publishes reaches every member; what is not a ringcast envelope is not delivered.
  std::string envelope = std::string("\x01\x01", 2) + std::string("\x2a\0\0\0\0\0\0\x01", 8) + "from afar";
  CHECK(redis.command({"PUBLISH", "t2:room:brief", envelope}).integer == 1);
  CHECK(redis.command({"PUBLISH", "t2:room:brief", "not an envelope"}).integer == 1);
  std::string bad_utf8 = std::string("\x01\x01", 2) + std::string("\x2a\0\0\0\0\0\0\x01", 8) + "\xc3\x28";
  CHECK(redis.command({"PUBLISH", "t2:room:brief", bad_utf8}).integer == 1);
  CHECK(test::eventually([&] { return members.all_saw("from afar"); }, 10s));
  CHECK(test::eventually([&] { return metric(*a, "broker_malformed_total") == 2; }, 10s));
  CHECK(metric(*a, "broker_in_total") == 1);

  members.close(0);
  members.close(1);
  REQUIRE(test::eventually([&] { return members.closed.load() == 2; }, 10s));
  std::this_thread::sleep_for(100ms);
  CHECK(redis.subscribers("t2:room:brief") == 1);
  members.close(2);
  CHECK(test::eventually([&] { return redis.subscribers("t2:room:brief") == 0; }, 10s));
  CHECK(redis.command({"PUBSUB", "CHANNELS", "t2:*"}).elements.empty());
  CHECK(metric(*a, "broker_channels") == 0);
  a->stop();
  a->join();
}

TEST_CASE("broker: Redis restarted under two nodes; they reconnect, resubscribe, and later messages flow again") {
  REQUIRE_REDIS();
  RedisServer redis;
  auto a = node(redis.url());
  auto b = node(redis.url());
  Group on_a({.members = 2}), on_b({.members = 2});
  on_a.connect(a->port(), "/room/phoenix");
  on_b.connect(b->port(), "/room/phoenix");
  REQUIRE(test::eventually([&] { return on_a.opened.load() == 2 && on_b.opened.load() == 2; }, 20s));
  REQUIRE(test::eventually([&] { return redis.subscribers("room:phoenix") == 2; }, 10s));
  on_a.say(0, "before");
  REQUIRE(test::eventually([&] { return on_a.all_saw("before") && on_b.all_saw("before"); }, 10s));

  redis.kill();
  REQUIRE(test::eventually([&] { return metric(*a, "broker_connections") == 0 && metric(*b, "broker_connections") == 0; }, 10s));
  // While Redis is away a publish still reaches this node's members; the other node's are not reached,
  // and the bridge counts the drop.
  on_a.say(1, "while down");
  REQUIRE(test::eventually([&] { return on_a.all_saw("while down"); }, 10s));
  CHECK(test::eventually([&] { return metric(*a, "broker_dropped_total") == 1; }, 10s));

  redis.start();  // same port, empty: every subscription has to be made again
  REQUIRE(test::eventually([&] { return metric(*a, "broker_connections") == 4 && metric(*b, "broker_connections") == 4; }, 20s));
  REQUIRE(test::eventually([&] { return redis.subscribers("room:phoenix") == 2; }, 10s));
  CHECK(metric(*a, "broker_reconnects_total") == 4);  // 2 shards x (subscriber + publisher)
  on_b.say(0, "after");
  on_a.say(0, "after, too");
  CHECK(test::eventually([&] { return on_a.all_saw("after") && on_b.all_saw("after"); }, 10s));
  CHECK(test::eventually([&] { return on_a.all_saw("after, too") && on_b.all_saw("after, too"); }, 10s));
  CHECK_FALSE(on_b.any_saw("while down"));
  on_a.close_all();
  on_b.close_all();
  REQUIRE(test::eventually([&] { return on_a.closed.load() == 2 && on_b.closed.load() == 2; }, 10s));
  a->stop();
  b->stop();
  a->join();
  b->join();
}

TEST_CASE("broker: through Redis over TLS as an ACL user, messages cross nodes; /metrics never shows the password") {
  REQUIRE_REDIS();
  RedisServer redis({.acl_user = "node", .acl_password = "tls-and-acl-secret", .tls = true});
  auto a = node(redis.url("t4:"));
  auto b = node(redis.url("t4:"));
  Group on_a({.members = 2}), on_b({.members = 2});
  on_a.connect(a->port(), "/room/guarded");
  on_b.connect(b->port(), "/room/guarded");
  REQUIRE(test::eventually([&] { return on_a.opened.load() == 2 && on_b.opened.load() == 2; }, 20s));
  REQUIRE(test::eventually([&] { return redis.subscribers("t4:room:guarded") == 2; }, 10s));
  on_a.say(0, "sealed");
  CHECK(test::eventually([&] { return on_a.all_saw("sealed") && on_b.all_saw("sealed"); }, 10s));
  CHECK(metric(*b, "broker_in_total") == 1);
  CHECK(metric(*a, "broker_auth_failures_total") == 0);
  CHECK(a->metrics().find("tls-and-acl-secret") == std::string::npos);
  on_a.close_all();
  on_b.close_all();
  REQUIRE(test::eventually([&] { return on_a.closed.load() == 2 && on_b.closed.load() == 2; }, 10s));
  a->stop();
  b->stop();
  a->join();
  b->join();
}

}  // TEST_SUITE
