// Durable rooms on one node: one gap-free order for members on every shard, replay of the latest
// messages on joining, and recovery from a position — everything missed when the history still holds
// it, and a clear "not recovered" (with the tail instead) when it does not. Real sockets.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <atomic>
#include <charconv>

#include <ringcast/ws/app.hpp>
#include <ringcast/ws/rooms/detail/room_history.hpp>
#include "tests/support/net_test_support.hpp"
#include "tests/support/raw_ws_client.hpp"
#include "tests/support/room_clients.hpp"

using namespace ringcast;
using namespace std::chrono_literals;

namespace {

struct Member {
  std::string room;
};

uint64_t number(std::string_view s) {
  uint64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

// A server with one durable room per name, stamped "N|message".
//   /d/:name   joins with a message "join <epoch> <offset> <tail> [user]" (epoch "-": no position; a user:
//              counted in the room's presence), answered "subscribed <epoch> <offset> <recovered 0|1>
//              <replayed> [members,...]"; any other message is published. Presence: "presence <user> <joined|left>".
//   /auto/:name  the bench protocol on a durable room: joins at open, every message published.
struct DurableServer {
  std::unique_ptr<App> app;
  std::atomic<int> subscribed{0};

  explicit DurableServer(uint32_t history, unsigned shards = 4) {
    app = std::make_unique<App>(AppOptions{.host = "127.0.0.1", .port = 0, .shards = shards, .loop = test::loop_options()});
    App* a = app.get();
    auto join = [](Request& req, Upgrade<Member>& up) { up.accept(Member{std::string(req.param("name"))}); };
    auto on_subscribed = [this](WebSocket<Member>& ws, std::string_view, const SubscribeResult& r) {
      ++subscribed;
      ws.send(fmt::format("subscribed {} {} {} {}{}{}", r.position.epoch, r.position.offset, r.recovered ? 1 : 0,
                          r.replayed, r.members.empty() ? "" : " ", fmt::join(r.members, ",")));
    };
    app->ws<Member>("/d/:name", {
        .on_upgrade = join,
        .on_message =
            [a](WebSocket<Member>& ws, std::string_view m, OpCode op) {
              if (!m.starts_with("join ")) {
                a->rooms().publish(ws.data().room, m, op);
                return;
              }
              // "join <epoch> <offset> <tail> [user]"
              const auto f1 = m.find(' ', 5), f2 = m.find(' ', f1 + 1), f3 = m.find(' ', f2 + 1);
              const std::string_view epoch = m.substr(5, f1 - 5);
              SubscribeOptions o{.tail = static_cast<uint32_t>(number(m.substr(f2 + 1, f3 - f2 - 1))),
                                 .presence = f3 == std::string_view::npos ? std::string_view{} : m.substr(f3 + 1)};
              if (epoch != "-") o.since = Position{number(epoch), number(m.substr(f1 + 1, f2 - f1 - 1))};
              ws.subscribe(ws.data().room, o);
            },
        .on_subscribed = on_subscribed,
    });
    app->ws<Member>("/auto/:name", {
        .on_upgrade = join,
        .on_open = [](WebSocket<Member>& ws) { ws.subscribe(ws.data().room, SubscribeOptions{}); },
        .on_message = [a](WebSocket<Member>& ws, std::string_view m, OpCode op) { a->rooms().publish(ws.data().room, m, op); },
        .on_subscribed = [this](WebSocket<Member>&, std::string_view, const SubscribeResult&) { ++subscribed; },
    });
    app->default_room_options({.kind = RoomKind::durable,
                               .history_size = history,
                               .stamp = [](std::string_view, uint64_t seq, std::string_view m) {
                                 return fmt::format("{}|{}", seq, m);
                               },
                               .presence_message = [](std::string_view, std::string_view user, bool joined) {
                                 return fmt::format("presence {} {}", user, joined ? "joined" : "left");
                               }});
    app->start();
  }
  ~DurableServer() {
    app->stop();
    app->join();
  }
};

// A blocking client of /d/NAME.
struct Client {
  test::RawWsClient ws;
  Client(uint16_t port, std::string_view room) : ws(port) { REQUIRE(ws.handshake(fmt::format("/d/{}", room))); }
  std::string next() {
    test::RawFrame f;
    REQUIRE(ws.read_frame(f) == test::ReadStatus::frame);
    return f.payload;
  }
  // `position` is "<epoch> <offset>", or "-" for none.
  void join(std::string_view position, uint32_t tail, std::string_view user = {}) {
    REQUIRE(ws.send_text(fmt::format("join {} {}{}{}", position == "-" ? "- 0" : position, tail, user.empty() ? "" : " ", user)));
  }
  void say(std::string_view m) { REQUIRE(ws.send_text(m)); }
};

struct Subscribed {
  uint64_t epoch, offset;
  int recovered;
  unsigned replayed;
  std::string members;
};
Subscribed parse_subscribed(const std::string& s) {
  REQUIRE(s.starts_with("subscribed "));
  Subscribed r{};
  char members[256] = "";
  REQUIRE(std::sscanf(s.c_str(), "subscribed %lu %lu %d %u %255s", &r.epoch, &r.offset, &r.recovered, &r.replayed, members) >= 4);
  r.members = members;
  return r;
}

}  // namespace

TEST_CASE("room history: a ring of the latest entries that knows which positions it can bring up to date") {
  RoomHistory h(3);
  CHECK(h.covers_after(0));
  h.append(1, OpCode::text, "a");
  h.append(2, OpCode::text, "b");
  CHECK(h.covers_after(0));
  CHECK(h.first_after(0) == 0);
  CHECK(h.first_after(1) == 1);
  h.append(3, OpCode::binary, "c");
  h.append(4, OpCode::text, "d");  // 1 goes
  CHECK(h.size() == 3);
  CHECK(h.oldest_offset() == 2);
  CHECK(h.newest().message == "d");
  CHECK(!h.covers_after(0));  // offset 1 is gone
  CHECK(h.covers_after(1));
  CHECK(h.covers_after(4));
  CHECK(h.first_after(2) == 1);
  CHECK(h.at(h.first_after(2)).message == "c");
  CHECK(h.at(1).op == OpCode::binary);
  h.append(9, OpCode::text, "gap");  // a mirror that skipped 5..8
  CHECK(!h.covers_after(4));
  CHECK(h.covers_after(9));
  RoomHistory none(0);
  none.append(1, OpCode::text, "x");
  CHECK(none.empty());
}

TEST_SUITE("io") {

TEST_CASE("durable rooms: members on four shards see every message once, in one gap-free order") {
  DurableServer server(100);
  test::RoomClients clients({.members = 40, .publishers = 10, .per_publisher = 300, .window = 8, .sequenced = true});
  clients.connect(server.app->port(), "/auto/lobby");
  REQUIRE(test::eventually(
      [&] { return clients.opened.load() == clients.members && server.subscribed.load() == clients.members; }, 20s));
  clients.start_publishing();
  const bool all = test::eventually([&] { return clients.total.load(std::memory_order_acquire) == clients.expected(); }, 120s);
  clients.close_all();
  REQUIRE(test::eventually([&] { return clients.closed.load() == clients.members; }, 10s));
  CHECK(all);
  const std::vector<std::string> first = clients.log(0);
  REQUIRE(first.size() == size_t(clients.publishers) * clients.per_publisher);
  for (int i = 1; i < clients.members; ++i) CHECK(clients.log(i) == first);
  for (size_t k = 0; k < first.size(); ++k) {
    if (first[k].substr(0, first[k].find('|')) != std::to_string(k + 1)) FAIL("offset " << k + 1 << " missing or out of place");
  }
  for (int i = 0; i < clients.members; ++i) CHECK(clients.disorder[i] == 0);
}

TEST_CASE("durable rooms: a join replays the tail, a rejoin from its position recovers what it missed") {
  DurableServer server(5, 3);
  const uint16_t port = server.app->port();
  Client a(port, "r");
  a.join("-", 0);
  const Subscribed s0 = parse_subscribed(a.next());
  CHECK(s0.epoch != 0);
  CHECK(s0.offset == 0);
  CHECK(s0.recovered == 1);
  CHECK(s0.replayed == 0);
  for (const char* m : {"m1", "m2", "m3"}) a.say(m);
  CHECK(a.next() == "1|m1");
  CHECK(a.next() == "2|m2");
  CHECK(a.next() == "3|m3");

  {  // A newcomer asks for the latest two.
    Client b(port, "r");
    b.join("-", 2);
    const Subscribed s = parse_subscribed(b.next());
    CHECK(s.epoch == s0.epoch);
    CHECK(s.offset == 3);
    CHECK(s.replayed == 2);
    CHECK(b.next() == "2|m2");
    CHECK(b.next() == "3|m3");
  }
  a.say("m4");
  a.say("m5");
  CHECK(a.next() == "4|m4");
  CHECK(a.next() == "5|m5");

  {  // Back from position 3: exactly 4 and 5, then the live stream.
    Client b(port, "r");
    b.join(fmt::format("{} 3", s0.epoch), 1);
    const Subscribed s = parse_subscribed(b.next());
    CHECK(s.recovered == 1);
    CHECK(s.offset == 5);
    CHECK(s.replayed == 2);
    CHECK(b.next() == "4|m4");
    CHECK(b.next() == "5|m5");
    a.say("m6");
    CHECK(b.next() == "6|m6");
    CHECK(a.next() == "6|m6");
  }
  for (int i = 7; i <= 12; ++i) {
    a.say(fmt::format("m{}", i));
    CHECK(a.next() == fmt::format("{}|m{}", i, i));
  }
  // The history keeps 8..12: position 5 cannot be recovered, and the tail comes instead.
  {
    Client b(port, "r");
    b.join(fmt::format("{} 5", s0.epoch), 2);
    const Subscribed s = parse_subscribed(b.next());
    CHECK(s.recovered == 0);
    CHECK(s.offset == 12);
    CHECK(s.replayed == 2);
    CHECK(b.next() == "11|m11");
    CHECK(b.next() == "12|m12");
  }
  // Another epoch, or a position ahead of the log: not recovered either.
  for (std::string position : {fmt::format("{} 12", s0.epoch + 1), fmt::format("{} 99", s0.epoch)}) {
    CAPTURE(position);
    Client b(port, "r");
    b.join(position, 0);
    const Subscribed s = parse_subscribed(b.next());
    CHECK(s.recovered == 0);
    CHECK(s.replayed == 0);
  }
  // Up to date: recovered, nothing to replay.
  Client c(port, "r");
  c.join(fmt::format("{} 12", s0.epoch), 3);
  const Subscribed s = parse_subscribed(c.next());
  CHECK(s.recovered == 1);
  CHECK(s.replayed == 0);
  a.say("m13");
  CHECK(c.next() == "13|m13");
}

TEST_CASE("durable rooms: presence counts a user once across tabs and shards, and announces first and last") {
  DurableServer server(10, 3);
  const uint16_t port = server.app->port();
  Client alice(port, "p");
  alice.join("-", 0, "alice");
  CHECK(parse_subscribed(alice.next()).members == "alice");
  Client bob(port, "p");
  bob.join("-", 0, "bob");
  CHECK(parse_subscribed(bob.next()).members == "alice,bob");
  CHECK(alice.next() == "presence bob joined");
  {
    auto second = std::make_unique<Client>(port, "p");  // alice's second tab: no announcement
    second->join("-", 0, "alice");
    CHECK(parse_subscribed(second->next()).members == "alice,bob");
    // A message after it shows nothing else came in between.
    bob.say("hello");
    CHECK(alice.next() == "1|hello");
    CHECK(bob.next() == "1|hello");
    CHECK(second->next() == "1|hello");
    // Without a presence identity a socket is not counted.
    Client watcher(port, "p");
    watcher.join("-", 0);
    CHECK(parse_subscribed(watcher.next()).members.empty());
  }
  // One of alice's two tabs went: she is still there. The other goes: she left.
  bob.say("still here?");
  CHECK(bob.next() == "2|still here?");
  alice.ws.send_close(1000);
  CHECK(bob.next() == "presence alice left");
  Client carol(port, "p");
  carol.join("-", 0, "carol");
  CHECK(parse_subscribed(carol.next()).members == "bob,carol");
}

}  // TEST_SUITE
