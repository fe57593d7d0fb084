// Rooms across nodes through a real redis-server: Apps in this process, each a node with its own shards,
// all on one Redis started by the test on a free port.
// Live rooms: members and publishers on two nodes, every member gets every message once, in each
// publisher's order; a partition's channel is subscribed while the node has members there; Redis
// restarted under the nodes; TLS and an ACL login.
// Durable rooms: one order and one gap-free numbering for every member of every node; history and
// recovery from any node; presence once per user across nodes; a node whose subscription broke reads
// what it missed from the log; a log that Redis lost is told to members as a broken stream; a publisher
// hears its message's position in the log, or that the log refused it.
// Liveness: probes prove delivery (/ready, their round trip in /metrics); Redis paused past the probe
// timeout makes /ready 503 until it resumes, and then rooms deliver across nodes again.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <sstream>
#include <thread>
#include <tuple>

#include <ringcast/ws/app.hpp>
#include <ringcast/ws/rooms/detail/room_partition.hpp>
#include <ringcast/ws/web_socket_client.hpp>
#include "tests/support/durable_node.hpp"
#include "tests/support/net_test_support.hpp"
#include "tests/support/publish_outcomes.hpp"
#include "tests/support/redis_fixture.hpp"
#include "tests/support/room_clients.hpp"

using namespace ringcast;
using namespace std::chrono_literals;

namespace {

using test::RedisServer;
using Reply = test::RedisReply;
using test::DurableNode;
using test::parse_subscribed;
using Client = test::DurableClient;

struct Member {
  std::string room;
};

// A node: an App bridged to Redis, whose /room/NAME members publish to every member (sender included).
// Its shards probe Redis every probe_timeout / 4 (at most every second).
std::unique_ptr<App> node(const std::string& broker, unsigned shards = 2, std::chrono::milliseconds probe_timeout = 3000ms) {
  auto app = std::make_unique<App>(AppOptions{.host = "127.0.0.1",
                                              .port = 0,
                                              .shards = {.count = shards},
                                              .loop = test::loop_options(),
                                              .broker = broker,
                                              .broker_probe_interval = std::min<std::chrono::milliseconds>(probe_timeout / 4, 1000ms),
                                              .broker_probe_timeout = probe_timeout});
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

// The channel a room's partition uses in Redis (128 partitions, the default).
std::string channel_of(std::string_view prefix, std::string_view room) {
  return fmt::format("{}{{{}}}c", prefix, partition_tag(room_partition(room, 128), 128));
}

// Connections subscribed to a sharded channel.
int64_t shard_subscribers(const RedisServer& redis, std::string_view channel) {
  const Reply r = redis.command({"PUBSUB", "SHARDNUMSUB", channel});
  return r.elements.size() == 2 ? r.elements[1].integer : -1;
}

// Connections with sharded subscriptions (CLIENT LIST shows them with ssub > 0), by id.
std::vector<std::string> subscribed_clients(const RedisServer& redis) {
  const Reply list = redis.command({"CLIENT", "LIST"});
  std::vector<std::string> ids;
  std::istringstream in(list.text);
  for (std::string line; std::getline(in, line);) {
    const size_t ssub = line.find(" ssub=");
    if (ssub == std::string::npos || line.compare(ssub + 6, 2, "0 ") == 0) continue;
    ids.push_back(line.substr(3, line.find(' ') - 3));
  }
  return ids;
}

// Kills them once there are `expected` (every node subscribed again); how many were killed.
int kill_subscribers(const RedisServer& redis, size_t expected) {
  std::vector<std::string> ids;
  if (!test::eventually([&] { return (ids = subscribed_clients(redis)).size() >= expected; }, 10s)) return 0;
  int killed = 0;
  for (const std::string& id : ids) killed += static_cast<int>(redis.command({"CLIENT", "KILL", "ID", id}).integer);
  return killed;
}

using Group = test::RoomClients;

int status_of(const std::string& reply) { return reply.size() > 12 ? std::atoi(reply.c_str() + 9) : -1; }

// GET path on the app's port: the whole answer.
std::string get(const App& app, const std::string& path) {
  return test::http_exchange(app.port(), "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
}

// The largest value of a gauge in seconds over the app's shards.
double seconds_metric(const App& app, std::string_view name) {
  const std::string text = app.metrics();
  const std::string key = fmt::format("ringcast_{}{{shard=\"", name);
  double most = 0;
  for (size_t at = text.find(key); at != std::string::npos; at = text.find(key, at + 1)) {
    most = std::max(most, std::atof(text.c_str() + text.find("} ", at) + 2));
  }
  return most;
}

// Publishes from `from` until a message reaches every member of `to` (a live room drops what is
// published while a subscription is down); true when one did.
bool until_across(Group& from, Group& to, const std::string& name) {
  for (int tries = 0; tries < 50; ++tries) {
    const std::string m = fmt::format("after {} from {}", tries, name);
    from.say(0, m);
    if (test::eventually([&] { return to.all_saw(m); }, 200ms)) return true;
  }
  return false;
}

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
  // Both nodes subscribe to the room's partition channel once each, whatever their number of shards with members.
  REQUIRE(test::eventually([&] { return shard_subscribers(redis, channel_of("t1:", "across")) == 2; }, 10s));
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
    CHECK(metric(*app, "broker_echoes_total") == kPublishers * kPerPublisher);  // its own, back and skipped
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

TEST_CASE("broker: a partition's channel is subscribed while the node has members there and unsubscribed when the last leaves") {
  REQUIRE_REDIS();
  RedisServer redis;
  auto a = node(redis.url("t2:"), 3);
  Group members({.members = 3});
  members.connect(a->port(), "/room/brief");
  REQUIRE(test::eventually([&] { return members.opened.load() == 3; }, 20s));
  const std::string channel = channel_of("t2:", "brief");
  REQUIRE(test::eventually([&] { return shard_subscribers(redis, channel) == 1; }, 10s));
  const Reply channels = redis.command({"PUBSUB", "SHARDCHANNELS", "t2:{*"});  // the rooms' (not the probes')
  REQUIRE(channels.elements.size() == 1);
  CHECK(channels.elements[0].text == channel);

  // What another node publishes reaches every member; what is not a ringcast envelope is not delivered,
  // nor is a message for the room sent on another partition's channel, nor invalid UTF-8 text.
  CHECK(redis.command({"SPUBLISH", channel, "L42:1:1:5:brieffrom afar"}).integer == 1);
  CHECK(redis.command({"SPUBLISH", channel, "not an envelope"}).integer == 1);
  CHECK(redis.command({"SPUBLISH", channel, "L42:2:1:5:brief\xc3\x28"}).integer == 1);
  // A room of another partition on this channel: not where its messages travel.
  std::string other = "x";
  while (room_partition(other, 128) == room_partition("brief", 128)) other += "x";
  CHECK(redis.command({"SPUBLISH", channel, fmt::format("L42:3:1:{}:{}wrong channel", other.size(), other)}).integer == 1);
  CHECK(test::eventually([&] { return members.all_saw("from afar"); }, 10s));
  CHECK(test::eventually([&] { return metric(*a, "broker_malformed_total") == 3; }, 10s));
  CHECK(metric(*a, "broker_in_total") == 1);

  members.close(0);
  members.close(1);
  REQUIRE(test::eventually([&] { return members.closed.load() == 2; }, 10s));
  std::this_thread::sleep_for(100ms);
  CHECK(shard_subscribers(redis, channel) == 1);
  members.close(2);
  CHECK(test::eventually([&] { return shard_subscribers(redis, channel) == 0; }, 10s));
  // The node's probe goes with its last channel.
  CHECK(test::eventually([&] { return redis.command({"PUBSUB", "SHARDCHANNELS", "t2:*"}).elements.empty(); }, 5s));
  CHECK(metric(*a, "broker_partitions") == 0);
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
  REQUIRE(test::eventually([&] { return shard_subscribers(redis, channel_of("", "phoenix")) == 2; }, 10s));
  // Each node hears the other once: a receiver counts the gaps in the numbering of nodes it has heard.
  on_a.say(0, "before");
  on_b.say(0, "before, from b");
  REQUIRE(test::eventually([&] { return on_a.all_saw("before") && on_b.all_saw("before"); }, 10s));
  REQUIRE(test::eventually([&] { return on_a.all_saw("before, from b") && on_b.all_saw("before, from b"); }, 10s));

  redis.kill();
  REQUIRE(test::eventually([&] { return metric(*a, "redis_subscriptions") == 0 && metric(*b, "redis_subscriptions") == 0; }, 10s));
  // While Redis is away a publish still reaches this node's members at once. The other node's get it
  // later, if the command could wait for Redis to come back, or never, and then the drop is counted:
  // never lost silently.
  on_a.say(1, "while down");
  REQUIRE(test::eventually([&] { return on_a.all_saw("while down"); }, 10s));

  redis.start();  // same port, empty: every subscription has to be made again
  REQUIRE(test::eventually([&] { return shard_subscribers(redis, channel_of("", "phoenix")) == 2; }, 20s));
  // Each node's shard for the room's partition says its subscription was restored.
  CHECK(test::eventually([&] { return metric(*a, "redis_resubscribed_total") == 1 && metric(*b, "redis_resubscribed_total") == 1; }, 10s));
  CHECK(metric(*a, "redis_subscriptions") == 1);
  // Later messages flow both ways again. Publishes made before the publisher's connection is back are
  // dropped and counted there, those made before the receiver's subscription is back are lost and
  // counted there: each side publishes until one gets across, and every one that did not was counted.
  for (auto [from, to, node, receiver, name] : {std::tuple{&on_b, &on_a, b.get(), a.get(), "b"}, std::tuple{&on_a, &on_b, a.get(), b.get(), "a"}}) {
    const uint64_t dropped_before = metric(*node, "broker_dropped_total");
    int tries = 0;
    bool across = false;
    for (; tries < 50 && !across; ++tries) {
      const std::string m = fmt::format("after {} from {}", tries, name);
      from->say(0, m);
      across = test::eventually([&, to = to] { return to->all_saw(m); }, 200ms);  // clang 14: no binding captured
    }
    CHECK(across);
    // A try may also just be late: each one arrives, or was counted as dropped or lost.
    CHECK(test::eventually(
        [&, to = to, node = node, receiver = receiver, name = name] {
          uint64_t missing = 0;
          for (int k = 0; k < tries; ++k) missing += to->all_saw(fmt::format("after {} from {}", k, name)) ? 0 : 1;
          return metric(*node, "broker_dropped_total") - dropped_before + metric(*receiver, "broker_lost_total") >= missing;
        },
        5s));
  }
  // The message published while Redis was away reached the other node, or its loss was counted.
  CHECK(test::eventually(
      [&] { return on_b.any_saw("while down") || metric(*a, "broker_dropped_total") + metric(*b, "broker_lost_total") >= 1; },
      5s));
  on_a.close_all();
  on_b.close_all();
  REQUIRE(test::eventually([&] { return on_a.closed.load() == 2 && on_b.closed.load() == 2; }, 10s));
  a->stop();
  b->stop();
  a->join();
  b->join();
}

TEST_CASE("broker: probes through Redis prove delivery: /ready is 200 and their round trip is in /metrics") {
  REQUIRE_REDIS();
  RedisServer redis;
  auto a = node(redis.url("t6:"));
  // No member yet: no subscription, nothing to prove.
  CHECK(status_of(get(*a, "/ready")) == 200);
  CHECK(status_of(get(*a, "/health")) == 200);
  Group members({.members = 2});
  members.connect(a->port(), "/room/proven");
  REQUIRE(test::eventually([&] { return members.opened.load() == 2; }, 20s));
  REQUIRE(test::eventually([&] { return metric(*a, "redis_probes_received_total") >= 2; }, 10s));
  const double round_trip = seconds_metric(*a, "redis_probe_round_trip_seconds");
  MESSAGE("probe round trip " << round_trip * 1e6 << " µs");
  CHECK(round_trip > 0);
  CHECK(round_trip < 1);
  const std::string ready = get(*a, "/ready");
  CHECK(status_of(ready) == 200);
  CHECK(ready.find("\r\n\r\nready") != std::string::npos);
  CHECK(metric(*a, "redis_probes_lost_total") == 0);
  CHECK(metric(*a, "redis_probe_reconnects_total") == 0);
  // The probe channel is this node's and shard's, not a room's.
  const Reply channels = redis.command({"PUBSUB", "SHARDCHANNELS", fmt::format("t6:probe:{:016x}:*", a->node_id())});
  CHECK(channels.elements.size() == 1);
  members.close_all();
  REQUIRE(test::eventually([&] { return members.closed.load() == 2; }, 10s));
  a->stop();
  a->join();
}

TEST_CASE("broker: Redis paused past the probe timeout: /ready is 503 with the reason, 200 again once it resumes, and rooms deliver across two nodes again") {
  REQUIRE_REDIS();
  RedisServer redis;
  constexpr auto kTimeout = 1000ms;
  auto a = node(redis.url("t7:"), 2, kTimeout);
  auto b = node(redis.url("t7:"), 2, kTimeout);
  Group on_a({.members = 2}), on_b({.members = 2});
  on_a.connect(a->port(), "/room/sleepy");
  on_b.connect(b->port(), "/room/sleepy");
  REQUIRE(test::eventually([&] { return on_a.opened.load() == 2 && on_b.opened.load() == 2; }, 20s));
  REQUIRE(test::eventually([&] { return shard_subscribers(redis, channel_of("t7:", "sleepy")) == 2; }, 10s));
  on_a.say(0, "before");
  REQUIRE(test::eventually([&] { return on_b.all_saw("before"); }, 10s));
  REQUIRE(test::eventually([&] { return status_of(get(*a, "/ready")) == 200 && status_of(get(*b, "/ready")) == 200; }, 10s));

  redis.pause();
  const auto paused = std::chrono::steady_clock::now();
  std::string answer;
  CHECK(test::eventually([&] { return status_of(answer = get(*a, "/ready")) == 503; }, 5s));
  const double after = std::chrono::duration<double>(std::chrono::steady_clock::now() - paused).count();
  MESSAGE("/ready said 503 " << after << " s after Redis stopped (probe timeout 1 s): " << answer.substr(answer.find("\r\n\r\n") + 4));
  CHECK(after < 1 + 1.0);
  CHECK(answer.find("Redis delivery unproven") != std::string::npos);
  CHECK(test::eventually([&] { return status_of(get(*b, "/ready")) == 503; }, 1s));
  CHECK(status_of(get(*a, "/health")) == 200);  // the process lives
  std::this_thread::sleep_for(1500ms);           // long enough for the subscriber connections to be dropped
  CHECK(metric(*a, "redis_probe_reconnects_total") >= 1);
  CHECK(metric(*a, "redis_probes_lost_total") >= 1);

  redis.resume();
  CHECK(test::eventually([&] { return status_of(get(*a, "/ready")) == 200 && status_of(get(*b, "/ready")) == 200; }, 10s));
  CHECK(until_across(on_a, on_b, "a"));
  CHECK(until_across(on_b, on_a, "b"));
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
  REQUIRE(test::eventually([&] { return shard_subscribers(redis, channel_of("t4:", "guarded")) == 2; }, 10s));
  on_a.say(0, "sealed");
  CHECK(test::eventually([&] { return on_a.all_saw("sealed") && on_b.all_saw("sealed"); }, 10s));
  CHECK(metric(*b, "broker_in_total") == 1);
  CHECK(metric(*a, "redis_subscriptions") == 1);
  CHECK(a->metrics().find("tls-and-acl-secret") == std::string::npos);
  on_a.close_all();
  on_b.close_all();
  REQUIRE(test::eventually([&] { return on_a.closed.load() == 2 && on_b.closed.load() == 2; }, 10s));
  a->stop();
  b->stop();
  a->join();
  b->join();
}

// ---------------------------------------------------------------------------------------------
// Durable rooms across nodes

TEST_CASE("durable rooms across nodes: one order and one gap-free numbering for every member of every node") {
  REQUIRE_REDIS();
  RedisServer redis;
  DurableNode a({.shards = 2, .broker = redis.url("d1:")});
  DurableNode b({.shards = 2, .broker = redis.url("d1:")});
  constexpr int kMembers = 10, kPublishers = 3, kPerPublisher = 200;
  Group on_a({.members = kMembers, .publishers = kPublishers, .per_publisher = kPerPublisher, .window = 4,
              .first_id = 0, .all_publishers = 2 * kPublishers, .sequenced = true});
  Group on_b({.members = kMembers, .publishers = kPublishers, .per_publisher = kPerPublisher, .window = 4,
              .first_id = kPublishers, .all_publishers = 2 * kPublishers, .sequenced = true});
  on_a.connect(a.port(), "/auto/one");
  on_b.connect(b.port(), "/auto/one");
  REQUIRE(test::eventually([&] {
    return on_a.opened.load() == kMembers && on_b.opened.load() == kMembers && a.subscribed.load() == kMembers &&
           b.subscribed.load() == kMembers;
  }, 20s));
  on_a.start_publishing();
  on_b.start_publishing();
  const uint64_t per_member = 2 * kPublishers * kPerPublisher;
  CHECK(test::eventually(
      [&] { return on_a.total.load(std::memory_order_acquire) + on_b.total.load(std::memory_order_acquire) == 2 * kMembers * per_member; },
      120s));
  std::this_thread::sleep_for(200ms);
  const std::vector<std::string> order = on_a.log(0);
  REQUIRE(order.size() == per_member);
  for (size_t k = 0; k < order.size(); ++k) {
    if (order[k].substr(0, order[k].find('|')) != std::to_string(k + 1)) FAIL("offset " << k + 1 << " missing or out of place");
  }
  for (Group* g : {&on_a, &on_b}) {
    for (int i = 0; i < kMembers; ++i) {
      CAPTURE(i);
      CHECK(g->log(i) == order);
      CHECK(g->disorder[i] == 0);
    }
  }
  for (const DurableNode* n : {&a, &b}) {
    CHECK(metric(*n->app, "durable_appended_total") == kPublishers * kPerPublisher);
    CHECK(metric(*n->app, "durable_append_failed_total") == 0);
    CHECK(metric(*n->app, "durable_breaks_total") == 0);
  }
  on_a.close_all();
  on_b.close_all();
  REQUIRE(test::eventually([&] { return on_a.closed.load() == kMembers && on_b.closed.load() == kMembers; }, 10s));
}

TEST_CASE("durable rooms across nodes: history is the same everywhere; a client that moves nodes recovers what it missed") {
  REQUIRE_REDIS();
  RedisServer redis;
  DurableNode a({.history = 5, .shards = 2, .broker = redis.url("d2:")});
  DurableNode b({.history = 5, .shards = 2, .broker = redis.url("d2:")});
  Client alice(a.port(), "r");
  alice.join("-", 0);
  const test::Subscribed s0 = parse_subscribed(alice.next());
  CHECK(s0.epoch != 0);
  CHECK(s0.offset == 0);
  for (int i = 1; i <= 3; ++i) {
    alice.say(fmt::format("m{}", i));
    CHECK(alice.next() == fmt::format("{}|m{}", i, i));
  }
  {  // On the other node, the latest two: the same history.
    Client bob(b.port(), "r");
    bob.join("-", 2);
    const test::Subscribed s = parse_subscribed(bob.next());
    CHECK(s.epoch == s0.epoch);
    CHECK(s.offset == 3);
    CHECK(bob.next() == "2|m2");
    CHECK(bob.next() == "3|m3");
    bob.say("from b");
    CHECK(bob.next() == "4|from b");
    CHECK(alice.next() == "4|from b");
  }
  alice.say("m5");
  CHECK(alice.next() == "5|m5");
  {  // bob comes back to node a with his last position (4): exactly 5, then the live stream.
    Client bob(a.port(), "r");
    bob.join(fmt::format("{} 4", s0.epoch), 3);
    const test::Subscribed s = parse_subscribed(bob.next());
    CHECK(s.recovered == 1);
    CHECK(s.offset == 5);
    CHECK(s.replayed == 1);
    CHECK(bob.next() == "5|m5");
    alice.say("m6");
    CHECK(bob.next() == "6|m6");
    CHECK(alice.next() == "6|m6");
  }
  for (int i = 7; i <= 12; ++i) {
    alice.say(fmt::format("m{}", i));
    CHECK(alice.next() == fmt::format("{}|m{}", i, i));
  }
  {  // From 3, on node b: the log keeps about the latest 5 (trimmed approximately); what it no longer
     // holds cannot be recovered, and the tail comes instead.
    Client bob(b.port(), "r");
    bob.join(fmt::format("{} 3", s0.epoch), 2);
    const test::Subscribed s = parse_subscribed(bob.next());
    CHECK(s.offset == 12);
    if (s.recovered == 1) {  // Redis trims streams by whole nodes: it may still hold them all
      CHECK(s.replayed == 9);
    } else {
      CHECK(s.replayed == 2);
      CHECK(bob.next() == "11|m11");
      CHECK(bob.next() == "12|m12");
    }
  }
  {  // Trim the log for real: now position 3 is gone for sure.
    CHECK(redis.command({"XTRIM", fmt::format("d2:{{{}}}l:r", partition_tag(room_partition("r", 128), 128)), "MAXLEN", "3"}).integer >= 0);
    Client bob(b.port(), "r");
    bob.join(fmt::format("{} 3", s0.epoch), 1);
    const test::Subscribed s = parse_subscribed(bob.next());
    CHECK(s.recovered == 0);
    CHECK(s.replayed == 1);
    CHECK(bob.next() == "12|m12");
  }
}

TEST_CASE("durable rooms across nodes: presence counts a user once over nodes and tabs, and each join and leave is told once") {
  REQUIRE_REDIS();
  RedisServer redis;
  DurableNode a({.shards = 2, .broker = redis.url("d3:")});
  DurableNode b({.shards = 2, .broker = redis.url("d3:")});
  Client alice(a.port(), "p");
  alice.join("-", 0, "alice");
  CHECK(parse_subscribed(alice.next()).members == "alice");
  Client bob(b.port(), "p");
  bob.join("-", 0, "bob");
  CHECK(parse_subscribed(bob.next()).members == "alice,bob");
  CHECK(alice.next() == "presence bob joined");
  {
    Client alice2(b.port(), "p");  // alice's second tab, on the other node: nobody is told
    alice2.join("-", 0, "alice");
    CHECK(parse_subscribed(alice2.next()).members == "alice,bob");
    bob.say("hi");
    CHECK(bob.next() == "1|hi");  // nothing else came first
    CHECK(alice.next() == "1|hi");
    CHECK(alice2.next() == "1|hi");
  }
  bob.say("still there?");
  CHECK(bob.next() == "2|still there?");
  CHECK(alice.next() == "2|still there?");
  alice.ws.send_close(1000);
  CHECK(bob.next() == "presence alice left");
}

TEST_CASE("durable rooms across nodes: a node whose subscription broke reads what it missed from the log; nothing is lost") {
  REQUIRE_REDIS();
  RedisServer redis;
  DurableNode a({.shards = 1, .broker = redis.url("d4:")});
  DurableNode b({.shards = 1, .broker = redis.url("d4:")});
  Client on_a(a.port(), "g");
  on_a.join("-", 0);
  const test::Subscribed s0 = parse_subscribed(on_a.next());
  Client on_b(b.port(), "g");
  on_b.join("-", 0);
  parse_subscribed(on_b.next());
  on_b.say("one");
  CHECK(on_a.next() == "1|one");
  CHECK(on_b.next() == "1|one");
  // Cut every subscribed connection (both nodes'): they reconnect, resubscribe and read the gap.
  for (int round = 0; round < 3; ++round) {
    CHECK(kill_subscribers(redis, 2) == 2);
    on_b.say(fmt::format("during {}", round));
  }
  for (int round = 0; round < 3; ++round) {
    CHECK(on_a.next() == fmt::format("{}|during {}", round + 2, round));
    CHECK(on_b.next() == fmt::format("{}|during {}", round + 2, round));
  }
  on_a.say("after");
  CHECK(on_a.next() == "5|after");
  CHECK(on_b.next() == "5|after");
  CHECK(metric(*a.app, "durable_breaks_total") == 0);
  (void)s0;
}

TEST_CASE("durable rooms across nodes: a log Redis lost starts a new epoch, and members hear that their stream broke") {
  REQUIRE_REDIS();
  RedisServer redis;
  DurableNode a({.shards = 2, .broker = redis.url("d5:")});
  DurableNode b({.shards = 2, .broker = redis.url("d5:")});
  Client on_a(a.port(), "lost");
  on_a.join("-", 0);
  const test::Subscribed s0 = parse_subscribed(on_a.next());
  Client on_b(b.port(), "lost");
  on_b.join("-", 0);
  parse_subscribed(on_b.next());
  for (int i = 1; i <= 3; ++i) {
    on_a.say(fmt::format("m{}", i));
    CHECK(on_a.next() == fmt::format("{}|m{}", i, i));
    CHECK(on_b.next() == fmt::format("{}|m{}", i, i));
  }
  // Redis loses the room (as after a restart without persistence).
  const std::string tag = partition_tag(room_partition("lost", 128), 128);
  CHECK(redis.command({"DEL", fmt::format("d5:{{{}}}m:lost", tag), fmt::format("d5:{{{}}}l:lost", tag)}).integer == 2);
  on_b.say("after the loss");
  for (Client* c : {&on_a, &on_b}) {
    const test::Subscribed s = parse_subscribed(c->next());
    CHECK(s.recovered == 0);
    CHECK(s.epoch != s0.epoch);
    CHECK(c->next() == "1|after the loss");
  }
  // A client that comes back with a position of the old epoch is told it was not recovered.
  Client late(b.port(), "lost");
  late.join(fmt::format("{} 2", s0.epoch), 1);
  const test::Subscribed s = parse_subscribed(late.next());
  CHECK(s.recovered == 0);
  CHECK(late.next() == "1|after the loss");
}

TEST_CASE("durable rooms across nodes: a publisher hears its message's place in the log, or that the log refused it") {
  REQUIRE_REDIS();
  RedisServer redis;
  DurableNode a({.shards = 2, .broker = redis.url("d6:")});
  DurableNode b({.shards = 2, .broker = redis.url("d6:")});
  Client on_a(a.port(), "told");
  on_a.join("-", 0);
  const test::Subscribed s0 = parse_subscribed(on_a.next());
  Client on_b(b.port(), "told");
  on_b.join("-", 0);
  parse_subscribed(on_b.next());
  test::PublishOutcomes outcomes;
  for (uint64_t i = 1; i <= 3; ++i) {
    REQUIRE(a.app->publish("told", fmt::format("m{}", i), OpCode::text, outcomes.collect()));
    const PublishOutcome o = outcomes.wait(i);
    CHECK(o.status == PublishStatus::logged);
    CHECK(o.position == Position{s0.epoch, i});
    CHECK(on_a.next() == fmt::format("{}|m{}", i, i));
    CHECK(on_b.next() == fmt::format("{}|m{}", i, i));
  }
  // Every node's home fans the log's messages out to its members, whoever published them.
  for (const DurableNode* n : {&a, &b}) {
    const RoomReport r = n->app->room_report("told");
    CHECK(r.members == 1);
    CHECK(r.published == 3);
    CHECK(r.deliveries == 3);
    CHECK(r.append_failed == 0);
  }

  redis.kill();
  REQUIRE(test::eventually([&] { return metric(*a.app, "redis_subscriptions") == 0; }, 10s));
  // Appends fail now. One written before the node saw its command connection go is unknown (it might
  // have been appended); once the node knows, they never reach Redis: refused.
  uint64_t tries = 0;
  PublishOutcome o;
  do {
    REQUIRE(a.app->publish("told", fmt::format("while down {}", tries), OpCode::text, outcomes.collect()));
    o = outcomes.wait(3 + ++tries);
    CHECK((o.status == PublishStatus::refused || o.status == PublishStatus::unknown));
    CHECK(o.position == Position{});
    CHECK(o.deliveries == 0);
  } while (o.status != PublishStatus::refused && tries < 20);
  CHECK(o.status == PublishStatus::refused);
  CHECK(a.app->room_report("told").append_failed == tries);
  CHECK(metric(*a.app, "durable_append_failed_total") == tries);
  CHECK(b.app->room_report("told").append_failed == 0);
}

}  // TEST_SUITE

// ---------------------------------------------------------------------------------------------
// On a Redis Cluster

namespace {

// A room name whose partition's slot is served by primary `p` of `cluster`.
std::string room_on(const test::RedisCluster& cluster, int p, std::string_view base) {
  for (int i = 0;; ++i) {
    std::string room = fmt::format("{}{}", base, i);
    if (cluster.primary_of(cluster.slot_of(partition_tag(room_partition(room, 128), 128))) == p) return room;
  }
}

}  // namespace

TEST_SUITE("io") {

TEST_CASE("durable rooms on a Redis Cluster: rooms on every primary, one order and recovery across nodes, and a primary's failover survived") {
  REQUIRE_REDIS();
  test::RedisCluster cluster;
  DurableNode a({.history = 50, .shards = 2, .broker = cluster.seed_url("c1:")});
  DurableNode b({.history = 50, .shards = 2, .broker = cluster.seed_url("c1:")});
  const std::vector<int> primaries = cluster.primaries();
  REQUIRE(primaries.size() == 3);
  std::vector<std::string> rooms;
  for (int p : primaries) rooms.push_back(room_on(cluster, p, "room"));
  // In each room a member on either node; the one on b publishes, both see one numbering.
  std::vector<std::unique_ptr<Client>> on_a, on_b;
  std::vector<test::Subscribed> start;
  for (const std::string& room : rooms) {
    on_a.push_back(std::make_unique<Client>(a.port(), room));
    on_a.back()->join("-", 0);
    start.push_back(parse_subscribed(on_a.back()->next()));
    on_b.push_back(std::make_unique<Client>(b.port(), room));
    on_b.back()->join("-", 0);
    parse_subscribed(on_b.back()->next());
  }
  for (size_t r = 0; r < rooms.size(); ++r) {
    for (int i = 1; i <= 3; ++i) {
      on_b[r]->say(fmt::format("{}-{}", rooms[r], i));
      CHECK(on_a[r]->next() == fmt::format("{}|{}-{}", i, rooms[r], i));
      CHECK(on_b[r]->next() == fmt::format("{}|{}-{}", i, rooms[r], i));
    }
  }
  // The primary of the first room dies; its replica takes over. Meanwhile its room's client on a goes
  // away, messages go on, and it comes back on b from its last position: nothing missed.
  const int dead = primaries[0];
  on_a[0].reset();
  cluster.kill(static_cast<size_t>(dead));
  REQUIRE(cluster.wait_for_failover(dead) >= 0);
  // Publishes during the failover may be refused or lost with their connection (counted); after it,
  // the room goes on. The member on b sees a gap-free numbering — or is told its stream broke, when the
  // failover lost writes the replica had not received (the log then starts over with another epoch).
  const std::string final_message = "final";
  bool broke = false;
  uint64_t expected = 4, last = 3;
  auto read_through = [&](std::string_view until, int timeout_ms) {
    for (;;) {
      test::RawFrame f;
      if (on_b[0]->ws.read_frame(f, timeout_ms) != test::ReadStatus::frame) return false;
      if (f.payload.starts_with("subscribed ")) {
        const test::Subscribed s = parse_subscribed(f.payload);
        CHECK(s.recovered == 0);
        broke = true;
        expected = s.offset + 1;
        continue;
      }
      const uint64_t n = std::strtoull(f.payload.c_str(), nullptr, 10);
      CHECK(n == expected);
      expected = n + 1;
      last = n;
      if (f.payload.ends_with(until)) return true;
    }
  };
  bool flowing = false;
  for (int k = 0; k < 100 && !flowing; ++k) {
    on_b[0]->say(fmt::format("after-{}", k));
    flowing = read_through(fmt::format("after-{}", k), 200);
  }
  REQUIRE(flowing);
  on_b[0]->say(final_message);
  REQUIRE(read_through(final_message, 5000));
  Client back(b.port(), rooms[0]);
  back.join(fmt::format("{} 3", start[0].epoch), 0);
  const test::Subscribed s = parse_subscribed(back.next());
  CHECK(s.recovered == (broke ? 0 : 1));
  CHECK(s.offset == last);
  if (!broke) {
    for (uint64_t i = 4; i <= last; ++i) CHECK(std::strtoull(back.next().c_str(), nullptr, 10) == i);
  }
  // The other rooms never noticed.
  for (size_t r = 1; r < rooms.size(); ++r) {
    on_a[r]->say("still");
    CHECK(on_a[r]->next() == "4|still");
    CHECK(on_b[r]->next() == "4|still");
  }
  CHECK(metric(*a.app, "redis_nodes") == 6);  // 3 primaries on each of a's 2 shards
  // Each shard's probes, one per primary it subscribes on, in a slot of that primary, come back on
  // every one of them, the replica that took over included: both nodes are ready.
  std::string why;
  CHECK_MESSAGE(test::eventually([&] { return a.app->ready(why) && b.app->ready(why); }, 10s), why);
  CHECK(metric(*b.app, "redis_probes_received_total") > 0);
}

}  // TEST_SUITE
