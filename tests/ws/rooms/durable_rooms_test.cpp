// Durable rooms on one node: one gap-free order for members on every shard, replay of the latest
// messages on joining, and recovery from a position — everything missed when the history still holds
// it, and a clear "not recovered" (with the tail instead) when it does not. Real sockets.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <sys/socket.h>

#include <thread>

#include <ringcast/ws/app.hpp>
#include <ringcast/ws/rooms/detail/room_history.hpp>
#include "tests/support/durable_node.hpp"
#include "tests/support/room_clients.hpp"

using namespace ringcast;
using namespace std::chrono_literals;
using test::DurableNode;
using test::parse_subscribed;
using Client = test::DurableClient;

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
  DurableNode server({.history = 100});
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
  DurableNode server({.history = 5, .shards = 3});
  const uint16_t port = server.app->port();
  Client a(port, "r");
  a.join("-", 0);
  const test::Subscribed s0 = parse_subscribed(a.next());
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
    const test::Subscribed s = parse_subscribed(b.next());
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
    const test::Subscribed s = parse_subscribed(b.next());
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
    const test::Subscribed s = parse_subscribed(b.next());
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
    const test::Subscribed s = parse_subscribed(b.next());
    CHECK(s.recovered == 0);
    CHECK(s.replayed == 0);
  }
  // Up to date: recovered, nothing to replay.
  Client c(port, "r");
  c.join(fmt::format("{} 12", s0.epoch), 3);
  const test::Subscribed s = parse_subscribed(c.next());
  CHECK(s.recovered == 1);
  CHECK(s.replayed == 0);
  a.say("m13");
  CHECK(c.next() == "13|m13");
}

TEST_CASE("durable rooms: a recovery longer than the member's budget comes in parts as it reads, publications "
          "meanwhile after it, nothing closed for being slow") {
  // 8000 messages of 1 KiB to replay to a member that reads nothing for a while (a 16 KiB receive
  // buffer), a budget of 64 KiB: at once, what the kernel does not take of the replay would fill the
  // budget many times over and the first publication after it would close the member (1008).
  constexpr int kMessages = 8000;
  DurableNode server({.history = 10000, .shards = 2, .max_backpressure = 64 << 10});
  const uint16_t port = server.app->port();
  Client a(port, "long");
  a.join("-", 0);
  const test::Subscribed s0 = parse_subscribed(a.next());
  const std::string filler(1000, 'x');
  for (int i = 1; i <= kMessages; ++i) {
    a.say(fmt::format("m{} {}", i, filler));
    CHECK(a.next() == fmt::format("{}|m{} {}", i, i, filler));
  }
  Client b(port, "long");
  const int buffer = 16 << 10;
  REQUIRE(::setsockopt(b.ws.fd(), SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer) == 0);
  b.join(fmt::format("{} 0", s0.epoch), 5);
  std::this_thread::sleep_for(100ms);
  for (int i = 1; i <= 3; ++i) {  // published while b's replay waits for it to read
    a.say(fmt::format("after {}", i));
    CHECK(a.next() == fmt::format("{}|after {}", kMessages + i, i));
  }
  std::this_thread::sleep_for(100ms);
  const test::Subscribed s = parse_subscribed(b.next());
  CHECK(s.recovered == 1);
  CHECK(s.replayed >= kMessages);
  int out_of_place = 0;
  for (int i = 1; i <= kMessages; ++i) out_of_place += b.next() != fmt::format("{}|m{} {}", i, i, filler);
  CHECK(out_of_place == 0);
  for (int i = 1; i <= 3; ++i) CHECK(b.next() == fmt::format("{}|after {}", kMessages + i, i));
  a.say("live");
  CHECK(b.next() == fmt::format("{}|live", kMessages + 4));
}

TEST_CASE("durable rooms: presence counts a user once across tabs and shards, and announces first and last") {
  DurableNode server({.history = 10, .shards = 3});
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
