// ringcast-chat as a cluster: two real ringcast-chat nodes (2 shards each) sharing one Redis — a
// single server on every backend, and a Redis Cluster of 3 primaries with a replica each — driven by
// the shared chat clients (tests/support/chat_connection.hpp). What a user behind a load balancer
// without sticky sessions relies on: a token from one node opens a WebSocket on the other, once; a
// room has one order, one numbering, one history and one presence on both; a client that reconnects
// to the other node with its last position misses nothing, and one whose position the log no longer
// holds is told so.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/chat_connection.hpp"
#include "tests/support/net_test_support.hpp"
#include "tests/support/redis_fixture.hpp"
#include "tests/support/test_process.hpp"

using namespace ringcast;
using namespace std::chrono_literals;
using test::ChatConnection;
using test::ChatJson;
using test::chat_node;

namespace {

// A tab of `user` opened on `port` into `room` with a token from `login_port`, and its room_changed.
std::unique_ptr<ChatConnection> join(uint16_t login_port, uint16_t port, const std::string& user,
                                     const std::string& room, std::string resume = {}) {
  auto c = std::make_unique<ChatConnection>(port, fmt::format("/ws?otp={}&room={}{}", test::otp_for(login_port, user),
                                                              room, resume));
  REQUIRE(c->status() == 101);
  return c;
}

// The two-node user check, on the Redis at `broker`; rooms keep 50 messages (--history), to go beyond.
void check_two_nodes(const std::string& broker) {
  test::ServerProcess a = chat_node(broker, {"--history", "50"}), b = chat_node(broker, {"--history", "50"});
  const auto pa = static_cast<uint16_t>(a.port()), pb = static_cast<uint16_t>(b.port());
  REQUIRE(pa > 0);
  REQUIRE(pb > 0);

  // Tokens: one from A opens a WebSocket on B, once; it is refused everywhere after that.
  const std::string token = test::otp_for(pa, "carol");
  {
    ChatConnection on_b(pb, "/ws?otp=" + token);
    CHECK(on_b.status() == 101);
  }
  CHECK(ChatConnection(pa, "/ws?otp=" + token).status() == 401);
  CHECK(ChatConnection(pb, "/ws?otp=" + token).status() == 401);

  // Presence: alice on A, then bob on B, in one room; each sees the other.
  auto alice = join(pb, pa, "alice", "team");  // logged in on B, connected to A
  ChatJson alice_in = alice->next_of("room_changed");
  CHECK(ChatJson::strings(alice_in.payload()["members"]) == std::vector<std::string>{"alice"});
  const uint64_t epoch = alice_in.number("epoch");
  auto bob = join(pa, pb, "bob", "team");
  ChatJson bob_in = bob->next_of("room_changed");
  CHECK(bob_in.number("epoch") == epoch);
  CHECK(ChatJson::strings(bob_in.payload()["members"]) == std::vector<std::string>{"alice", "bob"});
  for (;;) {  // alice hears bob arrive (her own arrival may be announced to her first)
    ChatJson p = alice->next_of("presence");
    if (p.get("joined") == "bob") break;
  }

  // One order and one numbering: each sends 3, interleaved; both see the 6 as 1..6, in one order.
  for (int i = 0; i < 3; ++i) {
    alice->send_message(fmt::format("a{}", i));
    bob->send_message(fmt::format("b{}", i));
  }
  std::vector<std::string> seen_a, seen_b;
  for (int i = 1; i <= 6; ++i) {
    ChatJson ma = alice->next_of("new_message"), mb = bob->next_of("new_message");
    CHECK(ma.seq() == static_cast<uint64_t>(i));
    CHECK(mb.seq() == static_cast<uint64_t>(i));
    seen_a.push_back(ma.get("message"));
    seen_b.push_back(mb.get("message"));
  }
  CHECK(seen_a == seen_b);

  // One history: carol, on B, gets the 6 in the same order.
  auto carol = join(pa, pb, "carol", "team");
  ChatJson carol_in = carol->next_of("room_changed");
  CHECK(carol_in.number("seq") == 6);
  CHECK(carol_in.number("replayed") == 6);
  std::vector<std::string> replayed;
  for (int i = 1; i <= 6; ++i) replayed.push_back(carol->next_of("new_message").get("message"));
  CHECK(replayed == seen_a);

  // Recovery on the other node: bob goes (from B), alice sends 2, bob comes back to A from his last
  // position and gets exactly those 2.
  bob.reset();
  for (int i = 0; i < 2; ++i) alice->send_message(fmt::format("while away {}", i));
  for (int i = 0; i < 2; ++i) CHECK(alice->next_of("new_message").seq() == static_cast<uint64_t>(7 + i));
  bob = join(pb, pa, "bob", "team", fmt::format("&epoch={}&seq=6", epoch));
  ChatJson back = bob->next_of("room_changed");
  CHECK(back.flag("recovered"));
  CHECK(back.number("replayed") == 2);
  CHECK(back.number("seq") == 8);
  for (int i = 0; i < 2; ++i) {
    ChatJson m = bob->next_of("new_message");
    CHECK(m.seq() == static_cast<uint64_t>(7 + i));
    CHECK(m.get("message") == fmt::format("while away {}", i));
  }
  CHECK(bob->next(300ms) == std::nullopt);  // nothing twice

  // Beyond the log: bob goes again, 150 more (the log keeps about 50: Redis trims a stream by whole
  // nodes of 100 entries), and comes back from 8 to B: told so, with the latest 50.
  bob.reset();
  for (int i = 0; i < 150; ++i) alice->send_message(fmt::format("m{}", i));
  for (int i = 0; i < 150; ++i) REQUIRE(alice->next_of("new_message").seq() == static_cast<uint64_t>(9 + i));
  bob = join(pa, pb, "bob", "team", fmt::format("&epoch={}&seq=8", epoch));
  ChatJson late = bob->next_of("room_changed");
  CHECK_FALSE(late.flag("recovered"));
  CHECK(late.number("replayed") == 50);
  CHECK(bob->next_of("new_message").seq() == 158 - 50 + 1);

  // Presence: alice leaves A's room; bob and carol (B) hear it once.
  alice.reset();
  for (auto* c : {bob.get(), carol.get()}) {
    for (;;) {
      ChatJson p = c->next_of("presence");
      if (p.get("left") == "alice") break;
    }
  }
  bob.reset();
  carol.reset();
  CHECK(a.stop() == 0);
  CHECK(b.stop() == 0);
}

// A listener of the drain test: its tab, where it is in the room, and what it has received.
struct Listener {
  std::unique_ptr<ChatConnection> tab;
  uint64_t epoch = 0;
  uint64_t seq = 0;                   // the last message received
  std::vector<std::string> messages;  // in the order received
  int close_code = 0;                 // the code its first node closed it with
  std::chrono::steady_clock::time_point closed_at;
  bool moved = false;                 // reconnected to the other node
  bool recovered = false;             // ... and was told it missed nothing
  bool in_order = true;               // every message had the next number
};

// Reads what has arrived for `l` within `wait`; on the drain's Close frame, reconnects to `other`
// (a token from there) from its last position, as the page does.
void serve(Listener& l, uint16_t other, std::chrono::milliseconds wait) {
  while (auto text = l.tab->next(wait)) {
    ChatJson m(*text);
    if (m.type() == "room_changed") l.recovered = m.flag("recovered");
    if (m.type() != "new_message") continue;
    l.in_order = l.in_order && m.seq() == l.seq + 1;
    l.seq = m.seq();
    l.messages.push_back(m.get("message"));
    wait = std::chrono::milliseconds(0);
  }
  if (!l.tab->closed() || l.moved) return;
  l.close_code = l.tab->close_code();
  l.closed_at = std::chrono::steady_clock::now();
  l.moved = true;
  l.tab = join(other, other, "alice", "drain", fmt::format("&epoch={}&seq={}", l.epoch, l.seq));
}

}  // namespace

TEST_SUITE("io") {

TEST_CASE("chat cluster: node A drained (SIGTERM, 2 s window) while publishers run on B — A's clients get 1001 "
          "spread over the window, each reconnects to B from its last position, and ends with every message "
          "exactly once, in order; A exits 0") {
  if (!test::require_redis()) return;
  test::RedisServer redis;
  test::ServerProcess a = chat_node(redis.url("chat/"), {"--drain-window", "2", "--drain-grace", "3", "--log", "info"});
  test::ServerProcess b = chat_node(redis.url("chat/"));
  const auto pa = static_cast<uint16_t>(a.port()), pb = static_cast<uint16_t>(b.port());
  REQUIRE(pa > 0);
  REQUIRE(pb > 0);
  constexpr int kListeners = 8;
  std::vector<Listener> listeners(kListeners);
  for (Listener& l : listeners) {
    l.tab = join(pa, pa, "alice", "drain");
    ChatJson in = l.tab->next_of("room_changed");
    l.epoch = in.number("epoch");
    l.seq = in.number("seq");
  }
  auto publisher = join(pb, pb, "bob", "drain");
  CHECK(publisher->next_of("room_changed").number("epoch") == listeners[0].epoch);

  // 60 messages over about 3 s from B; A gets SIGTERM after the first 10.
  constexpr int kMessages = 60;
  std::vector<std::string> sent;
  const auto start = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point drained_at;
  for (int i = 0; i < kMessages; ++i) {
    sent.push_back(fmt::format("from B {}", i));
    publisher->send_message(sent.back());
    if (i == 10) {
      a.signal(SIGTERM);
      drained_at = std::chrono::steady_clock::now();
    }
    const auto next = start + (i + 1) * 50ms;
    while (std::chrono::steady_clock::now() < next) {
      for (Listener& l : listeners) serve(l, pb, 1ms);
    }
  }
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  auto all_there = [&] {
    return std::all_of(listeners.begin(), listeners.end(), [](const Listener& l) { return l.messages.size() >= kMessages; });
  };
  while (!all_there() && std::chrono::steady_clock::now() < deadline) {
    for (Listener& l : listeners) serve(l, pb, 5ms);
  }
  for (Listener& l : listeners) serve(l, pb, 300ms);  // and nothing more comes: nothing twice
  const auto [first, last] = std::minmax_element(listeners.begin(), listeners.end(), [](const Listener& x, const Listener& y) {
    return x.closed_at < y.closed_at;
  });
  CHECK(last->closed_at - first->closed_at >= 1s);  // spread over the 2 s window
  for (const Listener& l : listeners) {
    CHECK(l.moved);
    CHECK(l.close_code == 1001);
    CHECK(l.recovered);
    CHECK(l.in_order);
    CHECK(l.messages == sent);
  }
  const std::optional<int> status = a.wait(test::deadline_in(6s));
  REQUIRE(status.has_value());
  CHECK(*status == 0);
  CHECK(std::chrono::steady_clock::now() - drained_at < 6s);
  CHECK(a.output().find(fmt::format("drained: {} WebSockets closed, 0 connections cut", kListeners)) != std::string::npos);
}

TEST_CASE("chat cluster: two nodes on one Redis — a token from either opens a socket on the other once; one order, "
          "numbering, history and presence; recovery on the other node, and a position beyond the log is told") {
  if (!test::require_redis()) return;
  test::RedisServer redis;
  check_two_nodes(redis.url("chat/"));
}

TEST_CASE("chat cluster: a token not redeemed within its 5 s has expired on every node (401)") {
  if (!test::require_redis()) return;
  test::RedisServer redis;
  test::ServerProcess a = chat_node(redis.url("chat/")), b = chat_node(redis.url("chat/"));
  REQUIRE(a.port() > 0);
  REQUIRE(b.port() > 0);
  const std::string token = test::otp_for(static_cast<uint16_t>(a.port()), "alice");
  std::this_thread::sleep_for(5200ms);
  CHECK(ChatConnection(static_cast<uint16_t>(b.port()), "/ws?otp=" + token).status() == 401);
}

TEST_CASE("chat cluster: with Redis unreachable a login gets 503 and an upgrade is refused, not admitted") {
  if (!test::require_redis()) return;
  test::RedisServer redis;
  test::ServerProcess a = chat_node(redis.url("chat/"));
  REQUIRE(a.port() > 0);
  const auto port = static_cast<uint16_t>(a.port());
  const std::string token = test::otp_for(port, "alice");
  redis.kill();
  CHECK(test::post_login(port, R"({"username":"alice","password":"pw-alice"})").status == 503);
  CHECK(ChatConnection(port, "/ws?otp=" + token).status() == 503);
}

TEST_CASE("chat cluster: a message the room's log cannot take (Redis gone) is answered not_sent to its sender, and "
          "nobody gets it") {
  if (!test::require_redis()) return;
  test::RedisServer redis;
  test::ServerProcess a = chat_node(redis.url("chat/"));
  REQUIRE(a.port() > 0);
  const auto port = static_cast<uint16_t>(a.port());
  auto alice = join(port, port, "alice", "team");
  alice->next_of("room_changed");
  auto bob = join(port, port, "bob", "team");
  bob->next_of("room_changed");
  alice->send_message("before");
  CHECK(alice->next_of("new_message").get("message") == "before");
  CHECK(bob->next_of("new_message").get("message") == "before");
  redis.kill();
  alice->send_message("while Redis is gone");
  const ChatJson told = alice->next_of("not_sent", 15s);
  CHECK(told.get("room") == "team");
  CHECK(told.get("message") == "while Redis is gone");
  for (std::optional<std::string> m = bob->next(300ms); m; m = bob->next(300ms)) {
    CHECK(ChatJson(*m).type() != "new_message");
  }
}

TEST_CASE("chat cluster: two nodes on a Redis Cluster of 3 primaries with a replica each — the same checks") {
  if (!test::require_redis()) return;
  test::RedisCluster cluster;
  check_two_nodes(cluster.seed_url("chat/"));
}

}  // TEST_SUITE

TEST_CASE("chat cluster: scripts/cluster starts a Redis Cluster and three chat nodes, a login on one opens the chat on "
          "another, and Ctrl-C stops them all") {
  if (!test::require_redis()) return;
  // Ports of its own below the kernel's ephemeral range (32768 and up), where other tests' ports and
  // connections are, cluster bus ports (+10000) included.
  const int base = 12000 + (::getpid() % 200) * 20;
  const std::string state = test::detail::make_temp_dir("cluster-script");
  ::setenv("RINGCAST_CLUSTER_STATE", state.c_str(), 1);
  test::ChildProcess script({"/bin/bash", test::source_path("scripts/cluster"), "--bin", test::binary_path("bin"), "--port",
                             std::to_string(base), "--redis-port", std::to_string(base + 10)},
                            {.death_signal = SIGINT});
  ::unsetenv("RINGCAST_CLUSTER_STATE");
  const bool up = script.wait_for_output(fmt::format("node 3: http://127.0.0.1:{}/", base + 2), test::deadline_in(60s));
  REQUIRE_MESSAGE(up, script.output());
  const auto first = static_cast<uint16_t>(base), third = static_cast<uint16_t>(base + 2);
  // The demo users: a token from node 1 opens a WebSocket on node 3.
  const test::HttpReply login = test::post_login(first, R"({"username":"alice","password":"secret"})");
  REQUIRE(login.status == 200);
  ChatJson token(login.body);
  ChatConnection tab(third, "/ws?otp=" + ChatJson::str(token.root()["otp"]));
  CHECK(tab.status() == 101);
  CHECK(tab.next_of("room_changed").get("name") == "general");
  CHECK(script.stop(SIGINT, 20s) == 0);
  CHECK(script.output().find("cluster: stopped") != std::string::npos);
  // Nothing it started is left: the chat ports and the Redis ports are free again.
  for (int p : {base, base + 2, base + 10, base + 15}) CHECK(test::connect_blocking(static_cast<uint16_t>(p)) < 0);
  std::filesystem::remove_all(state);
}
