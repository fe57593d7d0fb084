// App (ringcast/ws/app.hpp): publish and publish_sequenced from every kind of caller — before the app
// starts (nothing is sent, false), from threads outside the shards (through the room's home shard,
// in publish order), from the app's own shards, once the shards have stopped — to names no room can
// have, and run() after start(). Real sockets, a blocking client written apart from ringcast's codec.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <atomic>
#include <charconv>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <ringcast/ws/app.hpp>
#include "tests/support/net_test_support.hpp"
#include "tests/support/raw_ws_client.hpp"

using namespace ringcast;
using test::RawFrame;
using test::RawWsClient;
using test::ReadStatus;

namespace {

struct Member {
  std::string room;
};

// An App whose /room/NAME sockets are members of room NAME. A member's message is published to its
// room from the member's shard: with app.publish_sequenced when it starts with "seq:", else with
// app.publish. Sequenced messages reach members as "NUMBER|MESSAGE".
struct RoomApp {
  explicit RoomApp(unsigned shards)
      : app({.host = "127.0.0.1", .port = 0, .shards = {.count = shards}, .loop = test::loop_options()}) {
    app.ws<Member>("/room/:name", {
        .on_upgrade = [](Request& req, Upgrade<Member>& up) { up.accept(Member{std::string(req.param("name"))}); },
        .on_open = [](WebSocket<Member>& ws) { ws.subscribe(ws.data().room); },
        .on_message = [this](WebSocket<Member>& ws, std::string_view m, OpCode op) {
          const bool sent = m.starts_with("seq:") ? app.publish_sequenced(ws.data().room, m, op)
                                                  : app.publish(ws.data().room, m, op);
          if (sent) relayed.fetch_add(1);
        },
    });
    // A socket that tries to join a room without a name: 1 if it could, 0 if not.
    app.ws<Member>("/nameless", {.on_open = [this](WebSocket<Member>& ws) { nameless_joined = ws.subscribe("") ? 1 : 0; }});
    app.default_room_options({.stamp = [](std::string_view, uint64_t seq, std::string_view m) {
      return fmt::format("{}|{}", seq, m);
    }});
  }
  ~RoomApp() {
    app.stop();
    app.join();
  }

  // `n` members of `room`, each known to every shard: probes are published from this thread until
  // each member has one, then a marker that each member reads up to.
  std::vector<RawWsClient> members(size_t n, const std::string& room) {
    std::vector<RawWsClient> clients;
    for (size_t i = 0; i < n; ++i) {
      clients.emplace_back(app.port());
      REQUIRE(clients.back().handshake("/room/" + room));
    }
    for (RawWsClient& c : clients) {
      RawFrame f;
      bool got = false;
      for (int i = 0; i < 2000 && !got; ++i) {
        REQUIRE(app.publish(room, "probe"));
        got = c.read_frame(f, 5) == ReadStatus::frame;
      }
      REQUIRE(got);
    }
    REQUIRE(app.publish(room, "ready"));
    for (RawWsClient& c : clients) {
      RawFrame f;
      do {
        REQUIRE(c.read_frame(f) == ReadStatus::frame);
      } while (f.payload != "ready");
    }
    return clients;
  }

  App app;
  std::atomic<int> relayed{0};
  std::atomic<int> nameless_joined{-1};
};

// The next text message `c` receives (empty when none comes).
std::string next_message(RawWsClient& c) {
  RawFrame f;
  if (c.read_frame(f) != ReadStatus::frame) return {};
  return f.payload;
}

}  // namespace

TEST_CASE("app: publish and publish_sequenced before start send nothing and return false, on any thread") {
  RoomApp t(2);
  CHECK_FALSE(t.app.publish("lobby", "early"));
  CHECK_FALSE(t.app.publish_sequenced("lobby", "early"));
  bool foreign_sent = true;
  std::thread([&] { foreign_sent = t.app.publish("lobby", "early") || t.app.publish_sequenced("lobby", "early"); })
      .join();
  CHECK_FALSE(foreign_sent);
  // Rooms belong to the shards: asking for them elsewhere is a mistake, said as one.
  CHECK_THROWS_AS(t.app.rooms(), std::logic_error);
}

TEST_SUITE("io") {

TEST_CASE("app: publishes from threads outside the shards reach every member, each thread's in its order") {
  constexpr int kPerThread = 500;
  RoomApp t(2);
  t.app.start();
  std::vector<RawWsClient> clients = t.members(4, "lobby");
  std::vector<std::thread> publishers;
  for (int p = 0; p < 2; ++p) {
    publishers.emplace_back([&, p] {
      for (int i = 0; i < kPerThread; ++i) CHECK(t.app.publish("lobby", fmt::format("{} {}", p, i)));
    });
  }
  for (auto& th : publishers) th.join();
  for (RawWsClient& c : clients) {
    int next[2] = {0, 0};
    for (int k = 0; k < 2 * kPerThread; ++k) {
      const std::string m = next_message(c);
      REQUIRE(m.size() >= 3);
      const int p = m[0] - '0';
      REQUIRE((p == 0 || p == 1));
      int i = -1;
      std::from_chars(m.data() + 2, m.data() + m.size(), i);
      CHECK(i == next[p]);
      next[p] = i + 1;
    }
    CHECK(next[0] == kPerThread);
    CHECK(next[1] == kPerThread);
  }
  // Nothing else came: the member's only frames are the ones published.
  RawFrame extra;
  CHECK(clients[0].read_frame(extra, 100) == ReadStatus::timeout);
}

TEST_CASE("app: publish_sequenced from a thread outside the shards numbers every message once, in order") {
  constexpr int kMessages = 300;
  RoomApp t(2);
  t.app.start();
  std::vector<RawWsClient> clients = t.members(3, "seq-room");
  for (int i = 0; i < kMessages; ++i) REQUIRE(t.app.publish_sequenced("seq-room", fmt::format("m{}", i)));
  for (RawWsClient& c : clients) {
    for (int i = 0; i < kMessages; ++i) REQUIRE(next_message(c) == fmt::format("{}|m{}", i + 1, i));
  }
}

TEST_CASE("app: publish and publish_sequenced from the app's own shard reach every member, the sender too") {
  RoomApp t(2);
  t.app.start();
  std::vector<RawWsClient> clients = t.members(4, "lobby");
  REQUIRE(clients[1].send_text("hello"));
  for (RawWsClient& c : clients) CHECK(next_message(c) == "hello");
  REQUIRE(clients[2].send_text("seq:one"));
  REQUIRE(clients[3].send_text("seq:two"));
  // The two senders may sit on different shards: the home shard numbers them in the order they came.
  std::vector<std::string> first;
  for (RawWsClient& c : clients) {
    const std::string a = next_message(c);
    const std::string b = next_message(c);
    CHECK(a.starts_with("1|"));
    CHECK(b.starts_with("2|"));
    const bool both = (a.substr(2) == "seq:one" && b.substr(2) == "seq:two") ||
                      (a.substr(2) == "seq:two" && b.substr(2) == "seq:one");
    CHECK(both);
    first.push_back(a);
  }
  for (const std::string& a : first) CHECK(a == first[0]);  // one order for every member
  CHECK(t.relayed.load() == 3);
}

TEST_CASE("app: publish after the shards have stopped sends nothing and returns false") {
  RoomApp t(2);
  t.app.start();
  t.members(1, "lobby");  // a member came and went
  t.app.stop();
  t.app.join();
  CHECK_FALSE(t.app.publish("lobby", "late"));
  CHECK_FALSE(t.app.publish_sequenced("lobby", "late"));
}

TEST_CASE("app: a room's name is 1 to 65,535 bytes; publishing to another returns false and no socket can join one") {
  RoomApp t(2);
  t.app.start();
  CHECK_FALSE(t.app.publish("", "nameless"));
  CHECK_FALSE(t.app.publish_sequenced("", "nameless"));
  CHECK_FALSE(t.app.publish(std::string(Rooms::kMaxRoomName + 1, 'r'), "too long a name"));
  CHECK(t.app.publish(std::string(Rooms::kMaxRoomName, 'r'), "the longest name"));
  RawWsClient nameless(t.app.port());
  REQUIRE(nameless.handshake("/nameless"));
  REQUIRE(test::eventually([&] { return t.nameless_joined.load() != -1; }));
  CHECK(t.nameless_joined.load() == 0);
}

TEST_CASE("app: run() after start() serves on the port start() opened until stop(), and returns 0") {
  RoomApp t(2);
  t.app.start();
  const uint16_t port = t.app.port();
  REQUIRE(port != 0);
  bool served = false;
  std::thread client([&] {
    RawWsClient c(port);
    served = c.handshake("/room/lobby");
    t.app.stop();
  });
  CHECK(t.app.run() == 0);
  client.join();
  CHECK(served);
}

}  // TEST_SUITE
