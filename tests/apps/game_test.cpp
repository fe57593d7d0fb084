// ringcast-game end to end: the real binary with 4 shards, players connected with the ringcast client
// (suite "io": once per backend). Messages are decoded here from PROTOCOL.md, independently of the
// server's encoders.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <ringcast/core/runtime.hpp>
#include <ringcast/net/backend/loop.hpp>
#include <ringcast/ws/web_socket_client.hpp>
#include "tests/support/net_test_support.hpp"
#include "tests/support/test_process.hpp"

using namespace ringcast;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

std::vector<std::string> game_command(std::vector<std::string> extra = {}) {
  std::vector<std::string> argv = {test::binary_path("bin/ringcast-game"), "--port", "0", "--shards", "4",
                                   "--log", "info"};
  const std::vector<std::string> backend = test::backend_flags();
  argv.insert(argv.end(), backend.begin(), backend.end());
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

// ---- The protocol, decoded from the document ----

uint8_t type_of(std::string_view m) { return m.empty() ? 0 : static_cast<uint8_t>(m[0]); }
uint16_t u16(std::string_view m, size_t at) { return static_cast<uint16_t>(uint8_t(m[at]) | uint8_t(m[at + 1]) << 8); }
uint32_t u32(std::string_view m, size_t at) {
  return uint32_t(uint8_t(m[at])) | uint32_t(uint8_t(m[at + 1])) << 8 | uint32_t(uint8_t(m[at + 2])) << 16 |
         uint32_t(uint8_t(m[at + 3])) << 24;
}
float f32(std::string_view m, size_t at) {
  const uint32_t bits = u32(m, at);
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

struct Record {
  uint32_t id;
  float x, y;
  uint16_t heading;
  uint8_t colour, flags;
};
struct Snapshot {
  uint32_t tick = 0;
  std::vector<Record> players;
  const Record* find(uint32_t id) const {
    for (const Record& r : players) {
      if (r.id == id) return &r;
    }
    return nullptr;
  }
};

std::optional<Snapshot> parse_snapshot(std::string_view m) {
  if (type_of(m) != 0x02 || m.size() < 8 || m.size() != 8 + 16 * size_t{u16(m, 2)}) return std::nullopt;
  Snapshot s;
  s.tick = u32(m, 4);
  for (size_t o = 8; o < m.size(); o += 16) {
    s.players.push_back({u32(m, o), f32(m, o + 4), f32(m, o + 8), u16(m, o + 12), uint8_t(m[o + 14]), uint8_t(m[o + 15])});
  }
  return s;
}

std::string keys_input(uint8_t keys) { return std::string{char(0x10), char(keys)}; }
std::string target_input(float x, float y) {
  std::string m(12, '\0');
  m[0] = char(0x11);
  uint32_t bx, by;
  std::memcpy(&bx, &x, 4);
  std::memcpy(&by, &y, 4);
  for (int i = 0; i < 4; ++i) {
    m[4 + i] = char((bx >> (8 * i)) & 0xff);
    m[8 + i] = char((by >> (8 * i)) & 0xff);
  }
  return m;
}

// ---- Players: client connections on a one-shard runtime of the test's own ----

struct Peer {
  int index = 0;
};

struct Inbox {
  std::vector<std::string> messages;
  std::vector<Clock::time_point> at;  // arrival of each message
  bool opened = false;
  int close_code = 0;                 // 0 while open (or not yet open)
  std::string close_reason;
  std::string error;                  // the connection never opened

  std::vector<Snapshot> snapshots() const {
    std::vector<Snapshot> out;
    for (const auto& m : messages) {
      if (auto s = parse_snapshot(m)) out.push_back(std::move(*s));
    }
    return out;
  }
  uint32_t self_id() const { return !messages.empty() && type_of(messages[0]) == 0x01 ? u32(messages[0], 4) : 0; }
  std::optional<Snapshot> last_snapshot() const {
    for (auto it = messages.rbegin(); it != messages.rend(); ++it) {
      if (auto s = parse_snapshot(*it)) return s;
    }
    return std::nullopt;
  }
};

// Checks one connection's conversation against the protocol's promises; returns the first broken one.
std::string protocol_violation(const Inbox& in) {
  if (in.messages.empty()) return "";
  const std::string& w = in.messages[0];
  if (type_of(w) != 0x01 || w.size() != 16) return "the first message is not a WELCOME";
  if (uint8_t(w[1]) != 1 || u16(w, 2) != 30 || f32(w, 8) != 1000.0f || f32(w, 12) != 1000.0f) return "WELCOME fields";
  const uint32_t self = u32(w, 4);
  std::set<uint32_t> known;
  bool self_joined = false;
  uint32_t last_tick = 0;
  for (size_t i = 1; i < in.messages.size(); ++i) {
    const std::string& m = in.messages[i];
    switch (type_of(m)) {
      case 0x03: {
        if (m.size() < 8 || m.size() != 8 + size_t(uint8_t(m[2])) || m[2] == 0 || uint8_t(m[1]) > 15)
          return "PLAYER_JOINED size or fields";
        const uint32_t id = u32(m, 4);
        if (!known.insert(id).second) return fmt::format("PLAYER_JOINED twice for {}", id);
        if (id == self) self_joined = true;
        break;
      }
      case 0x04:
        if (m.size() != 8) return "PLAYER_LEFT size";
        if (known.erase(u32(m, 4)) == 0) return fmt::format("PLAYER_LEFT for {}, who was not in the match", u32(m, 4));
        break;
      case 0x02: {
        if (!self_joined) return "a snapshot before the player's own PLAYER_JOINED";
        auto s = parse_snapshot(m);
        if (!s) return "SNAPSHOT size";
        if (last_tick != 0 && s->tick <= last_tick) return fmt::format("tick {} after tick {}", s->tick, last_tick);
        last_tick = s->tick;
        if (!s->find(self)) return fmt::format("tick {} does not list the player itself", s->tick);
        std::set<uint32_t> ids;
        for (const Record& r : s->players) {
          if (!known.count(r.id)) return fmt::format("tick {} lists {} before its PLAYER_JOINED", s->tick, r.id);
          if (!ids.insert(r.id).second) return fmt::format("tick {} lists {} twice", s->tick, r.id);
          if (r.x < 0 || r.x > 1000 || r.y < 0 || r.y > 1000) return "a position outside the world";
        }
        if (ids.size() != known.size()) return fmt::format("tick {} does not list every player", s->tick);
        break;
      }
      default:
        return fmt::format("message type {}", type_of(m));
    }
  }
  return "";
}

class Players {
 public:
  static constexpr int kMax = 64;

  explicit Players(int port)
      : port_(port),
        rt_({.shards = {.count = 1},
             .make_driver = [](Shard& s) -> std::unique_ptr<EventDriver> { return Loop::create(s, test::loop_options()); },
             .on_start = [this](Shard&) { client_ = std::make_unique<WebSocketClient<Peer>>(Loop::current(), behavior()); }}) {
    rt_.start();
  }
  ~Players() {
    rt_.stop();
    rt_.join();
  }

  // Opens a connection to /play?QUERY; returns its index.
  int join(const std::string& query) {
    int i;
    {
      std::lock_guard lock(mutex_);
      i = count_++;
    }
    REQUIRE(i < kMax);
    rt_.shard(0).post([this, i, url = fmt::format("ws://127.0.0.1:{}/play?{}", port_, query)](Shard&) {
      std::string error;
      auto u = WebSocketUrl::parse(url, error);
      if (!u || !client_->connect(*u, Peer{i})) {
        std::lock_guard lock(mutex_);
        inbox_[i].error = "connect: " + error;
      }
    });
    return i;
  }
  int join(const std::string& match, const std::string& name) { return join("match=" + match + "&name=" + name); }

  void send(int i, std::string message, OpCode op = OpCode::binary) {
    rt_.shard(0).post([this, i, m = std::move(message), op](Shard&) {
      if (sockets_[i]) sockets_[i]->send(m, op);
    });
  }
  void close(int i) {
    rt_.shard(0).post([this, i](Shard&) {
      if (sockets_[i]) sockets_[i]->close(1000, "bye");
    });
  }

  // A copy of what connection `i` has received so far.
  Inbox inbox(int i) {
    std::lock_guard lock(mutex_);
    return inbox_[i];
  }
  template <typename Pred>
  bool wait(int i, Pred pred, std::chrono::milliseconds limit = 10s) {
    return test::eventually(
        [&] {
          std::lock_guard lock(mutex_);
          return pred(inbox_[i]);
        },
        limit);
  }
  bool wait_welcomed(int i) {
    return wait(i, [](const Inbox& in) { return !in.messages.empty() || in.close_code != 0 || !in.error.empty(); }) &&
           inbox(i).self_id() != 0;
  }
  // Waits until connection `i` has a snapshot that satisfies `pred`, and returns it.
  template <typename Pred>
  std::optional<Snapshot> wait_snapshot(int i, Pred pred, std::chrono::milliseconds limit = 10s) {
    std::optional<Snapshot> found;
    wait(
        i,
        [&](const Inbox& in) {
          auto s = in.last_snapshot();
          if (s && pred(*s)) found = std::move(s);
          return found.has_value();
        },
        limit);
    return found;
  }

 private:
  ClientBehavior<Peer> behavior() {
    return {
        .on_open =
            [this](WebSocket<Peer>& ws) {
              sockets_[ws.data().index] = &ws;
              std::lock_guard lock(mutex_);
              inbox_[ws.data().index].opened = true;
            },
        .on_message =
            [this](WebSocket<Peer>& ws, std::string_view m, OpCode op) {
              std::lock_guard lock(mutex_);
              Inbox& in = inbox_[ws.data().index];
              in.messages.emplace_back(op == OpCode::text ? "text:" + std::string(m) : std::string(m));
              in.at.push_back(Clock::now());
            },
        .on_close =
            [this](WebSocket<Peer>& ws, int code, std::string_view reason) {
              sockets_[ws.data().index] = nullptr;
              std::lock_guard lock(mutex_);
              inbox_[ws.data().index].close_code = code;
              inbox_[ws.data().index].close_reason = std::string(reason);
            },
        .on_error =
            [this](WebSocket<Peer>& ws, std::string_view why) {
              std::lock_guard lock(mutex_);
              inbox_[ws.data().index].error = std::string(why);
            },
    };
  }

  const int port_;
  std::mutex mutex_;
  std::array<Inbox, kMax> inbox_;                      // guarded by mutex_
  int count_ = 0;                                      // guarded by mutex_
  std::array<WebSocket<Peer>*, kMax> sockets_ = {};    // the client shard's thread only
  std::unique_ptr<WebSocketClient<Peer>> client_;      // the client shard's thread only
  Runtime rt_;
};

// ---- Plain HTTP ----

int upgrade_status(int port, const std::string& target) {
  const std::string reply = test::http_exchange(
      port, fmt::format("GET {} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
                        target));
  return reply.size() > 12 ? std::atoi(reply.c_str() + 9) : -1;
}

// Shards that hold WebSockets now, from GET /metrics.
int shards_with_players(int port) {
  const std::string reply = test::http_exchange(port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const std::vector<uint64_t> open = test::metric_by_shard(reply, "websockets");
  return static_cast<int>(std::count_if(open.begin(), open.end(), [](uint64_t n) { return n > 0; }));
}

// SIGTERM; the server must exit 0 (under the sanitizers: with nothing to report).
void stop_cleanly(test::ServerProcess& server) {
  const int status = server.stop();
  CHECK(status == 0);
  if (status != 0) MESSAGE("server output:\n", server.output());
}

}  // namespace

TEST_SUITE("io") {

TEST_CASE("game: players on several shards join one match; WELCOME first, a name before any snapshot lists its player, PLAYER_LEFT after the last") {
  test::ServerProcess server(game_command());
  REQUIRE(server.port() > 0);
  Players players(server.port());
  constexpr int kPlayers = 8;
  std::vector<int> ids;
  for (int i = 0; i < kPlayers; ++i) players.join("arena", fmt::format("p{}", i));  // all at once
  for (int i = 0; i < kPlayers; ++i) REQUIRE(players.wait_welcomed(i));
  std::set<uint32_t> self_ids;
  for (int i = 0; i < kPlayers; ++i) self_ids.insert(players.inbox(i).self_id());
  CHECK(self_ids.size() == kPlayers);  // ids tell players apart
  for (int i = 0; i < kPlayers; ++i) {
    CAPTURE(i);
    CHECK(players.wait_snapshot(i, [](const Snapshot& s) { return s.players.size() == kPlayers; }));
  }
  const int spread = shards_with_players(server.port());
  MESSAGE("the players' sockets are on ", spread, " of 4 shards");
  CHECK(spread >= 2);

  // The names everyone learnt, and the roster each got after WELCOME: the players already there, itself last.
  for (int i = 0; i < kPlayers; ++i) {
    CAPTURE(i);
    const Inbox in = players.inbox(i);
    CHECK(protocol_violation(in) == "");
    std::map<uint32_t, std::string> names;
    size_t k = 1;
    for (; k < in.messages.size() && type_of(in.messages[k]) == 0x03; ++k) {
      names[u32(in.messages[k], 4)] = in.messages[k].substr(8);
      if (u32(in.messages[k], 4) == in.self_id()) break;
    }
    REQUIRE(k < in.messages.size());
    CHECK(u32(in.messages[k], 4) == in.self_id());
    CHECK(in.messages[k].substr(8) == fmt::format("p{}", i));
    for (const auto& m : in.messages) {
      if (type_of(m) == 0x03) names[u32(m, 4)] = m.substr(8);
    }
    CHECK(names.size() == kPlayers);
  }

  // Two leave: the others hear of it, and no later snapshot lists them.
  const uint32_t gone_a = players.inbox(2).self_id(), gone_b = players.inbox(5).self_id();
  players.close(2);
  players.close(5);
  for (int i : {0, 1, 3, 4, 6, 7}) {
    CAPTURE(i);
    CHECK(players.wait_snapshot(i, [](const Snapshot& s) { return s.players.size() == kPlayers - 2; }));
    const Inbox in = players.inbox(i);
    CHECK(protocol_violation(in) == "");
    int left = 0;
    for (const auto& m : in.messages) {
      if (type_of(m) == 0x04 && (u32(m, 4) == gone_a || u32(m, 4) == gone_b)) ++left;
    }
    CHECK(left == 2);
  }
  CHECK(players.inbox(2).close_code == 1000);

  // A newcomer is told about everyone still there.
  const int late = players.join("arena", "late%20comer");
  REQUIRE(players.wait_welcomed(late));
  CHECK(players.wait_snapshot(late, [](const Snapshot& s) { return s.players.size() == kPlayers - 1; }));
  CHECK(protocol_violation(players.inbox(late)) == "");
  CHECK(players.wait(0, [&](const Inbox& in) {
    return std::any_of(in.messages.begin(), in.messages.end(),
                       [](const std::string& m) { return type_of(m) == 0x03 && m.substr(8) == "late comer"; });
  }));
  stop_cleanly(server);
}

TEST_CASE("game: snapshots come at about the tick rate, and every player gets the same bytes for the same tick"
          * doctest::test_suite("io_alone")) {
  test::ServerProcess server(game_command());
  REQUIRE(server.port() > 0);
  Players players(server.port());
  constexpr int kPlayers = 4;
  for (int i = 0; i < kPlayers; ++i) players.join("rate", fmt::format("r{}", i));
  for (int i = 0; i < kPlayers; ++i) {
    REQUIRE(players.wait_welcomed(i));
    REQUIRE(players.wait_snapshot(i, [](const Snapshot& s) { return s.players.size() == kPlayers; }));
  }
  players.send(0, keys_input(0x08));  // something moves, so snapshots differ from tick to tick
  const auto from = Clock::now() + 100ms;
  std::this_thread::sleep_for(1300ms);
  const auto to = from + 1000ms;

  std::vector<std::map<uint32_t, std::string>> by_tick(kPlayers);
  for (int i = 0; i < kPlayers; ++i) {
    CAPTURE(i);
    const Inbox in = players.inbox(i);
    CHECK(protocol_violation(in) == "");
    int count = 0;
    uint32_t first = 0, last = 0;
    for (size_t k = 0; k < in.messages.size(); ++k) {
      if (type_of(in.messages[k]) != 0x02) continue;
      by_tick[i][u32(in.messages[k], 4)] = in.messages[k];
      if (in.at[k] < from || in.at[k] >= to) continue;
      ++count;
      if (!first) first = u32(in.messages[k], 4);
      last = u32(in.messages[k], 4);
    }
    MESSAGE("player ", i, ": ", count, " snapshots in one second, ticks ", first, "..", last);
    CHECK(count >= 24);  // 30 Hz, with room for a loaded machine
    CHECK(count <= 36);
    CHECK(last - first <= 36);
  }
  int common = 0;
  for (const auto& entry : by_tick[0]) {
    const uint32_t tick = entry.first;
    const std::string& bytes = entry.second;
    bool everywhere = true;
    for (int i = 1; i < kPlayers; ++i) {
      auto it = by_tick[i].find(tick);
      if (it == by_tick[i].end()) {
        everywhere = false;
        continue;
      }
      CAPTURE(tick);
      CHECK(it->second == bytes);
    }
    common += everywhere;
  }
  CHECK(common >= 30);
  stop_cleanly(server);
}

TEST_CASE("game: held keys move a player their way at 8 units a tick; keys 0 stops it; a target is walked to") {
  test::ServerProcess server(game_command());
  REQUIRE(server.port() > 0);
  Players players(server.port());
  const int me = players.join("moves", "mover");
  const int watcher = players.join("moves", "watcher");
  REQUIRE(players.wait_welcomed(me));
  REQUIRE(players.wait_welcomed(watcher));
  const uint32_t id = players.inbox(me).self_id();
  auto start = players.wait_snapshot(watcher, [&](const Snapshot& s) { return s.find(id) != nullptr; });
  REQUIRE(start);
  const Record p0 = *start->find(id);
  CHECK(p0.x >= 100);  // new players appear inside the world, away from its edges
  CHECK(p0.x <= 900);

  // Toward the middle, so no wall stops it.
  const bool right = p0.x < 500;
  players.send(me, keys_input(right ? 0x08 : 0x04));
  auto moving = players.wait_snapshot(watcher, [&](const Snapshot& s) {
    const Record* r = s.find(id);
    return r && (r->flags & 1) && std::fabs(r->x - p0.x) >= 80;
  });
  REQUIRE(moving);
  const Record p1 = *moving->find(id);
  CHECK(p1.y == p0.y);
  CHECK(p1.heading == (right ? 0 : 32768));
  CHECK((right ? p1.x > p0.x : p1.x < p0.x));
  // Exactly 8 units per tick between two snapshots that both moved.
  auto later = players.wait_snapshot(watcher, [&](const Snapshot& s) { return s.tick >= moving->tick + 3; });
  REQUIRE(later);
  const Record p2 = *later->find(id);
  CHECK(std::fabs(p2.x - p1.x) == doctest::Approx(8.0 * (later->tick - moving->tick)).epsilon(0.001));

  players.send(me, keys_input(0));
  auto stopped = players.wait_snapshot(me, [&](const Snapshot& s) { return !(s.find(id)->flags & 1); });
  REQUIRE(stopped);
  auto still = players.wait_snapshot(me, [&](const Snapshot& s) { return s.tick >= stopped->tick + 3; });
  REQUIRE(still);
  CHECK(still->find(id)->x == stopped->find(id)->x);

  players.send(me, keys_input(0x02));  // down: +y, heading 16384
  auto down = players.wait_snapshot(me, [&](const Snapshot& s) {
    const Record* r = s.find(id);
    return (r->flags & 1) && r->y > stopped->find(id)->y + 20;
  });
  REQUIRE(down);
  CHECK(down->find(id)->heading == 16384);
  CHECK(down->find(id)->x == stopped->find(id)->x);

  players.send(me, target_input(500, 500));
  auto arrived = players.wait_snapshot(
      me, [&](const Snapshot& s) { return s.find(id)->x == 500.0f && s.find(id)->y == 500.0f; }, 10s);
  REQUIRE(arrived);
  auto rests = players.wait_snapshot(me, [&](const Snapshot& s) { return s.tick >= arrived->tick + 2; });
  REQUIRE(rests);
  CHECK((rests->find(id)->flags & 1) == 0);
  CHECK(rests->find(id)->x == 500.0f);
  CHECK(protocol_violation(players.inbox(me)) == "");
  CHECK(protocol_violation(players.inbox(watcher)) == "");
  stop_cleanly(server);
}

TEST_CASE("game: a bad match or name is refused with 400, a full match with 403, and a seat frees when a player leaves") {
  test::ServerProcess server(game_command({"--max-players", "2"}));
  REQUIRE(server.port() > 0);
  const int port = server.port();
  CHECK(upgrade_status(port, "/play?match=ok&name=ann") == 101);
  CHECK(upgrade_status(port, "/play?name=ann") == 400);
  CHECK(upgrade_status(port, "/play?match=&name=ann") == 400);
  CHECK(upgrade_status(port, "/play?match=" + std::string(33, 'm') + "&name=ann") == 400);
  CHECK(upgrade_status(port, "/play?match=a%20b&name=ann") == 400);
  CHECK(upgrade_status(port, "/play?match=a.b&name=ann") == 400);
  CHECK(upgrade_status(port, "/play?match=ok") == 400);
  CHECK(upgrade_status(port, "/play?match=ok&name=") == 400);
  CHECK(upgrade_status(port, "/play?match=ok&name=" + std::string(25, 'n')) == 400);
  CHECK(upgrade_status(port, "/play?match=ok&name=a%01b") == 400);
  CHECK(upgrade_status(port, "/play?match=ok&name=a%7F") == 400);
  CHECK(upgrade_status(port, "/play?match=ok&name=bad%C3%28") == 400);
  CHECK(upgrade_status(port, "/play?match=ok&name=evil%E2%80%AEgnp.exe") == 400);  // U+202E, as the chat refuses it
  CHECK(upgrade_status(port, "/play?match=ok&name=%ZZ") == 400);
  CHECK(upgrade_status(port, "/play?match=" + std::string(32, 'm') + "&name=" + std::string(24, 'n')) == 101);
  CHECK(upgrade_status(port, "/play?match=ok&name=R%C3%A9ne") == 101);

  Players players(server.port());
  const int a = players.join("small", "a");
  const int b = players.join("small", "b");
  REQUIRE(players.wait_welcomed(a));
  REQUIRE(players.wait_welcomed(b));
  CHECK(upgrade_status(port, "/play?match=small&name=c") == 403);
  CHECK(upgrade_status(port, "/play?match=other&name=c") == 101);  // other matches have their own seats
  players.close(a);
  CHECK(test::eventually([&] { return upgrade_status(port, "/play?match=small&name=c") == 101; }, 5s));
  stop_cleanly(server);
}

TEST_CASE("game: at most --max-matches matches run at once; a join that would open one more gets 503, joins to running ones go on") {
  test::ServerProcess server(game_command({"--max-matches", "3"}));
  REQUIRE(server.port() > 0);
  const int port = server.port();
  Players players(server.port());
  std::vector<int> ids;
  for (const char* match : {"m1", "m2", "m3"}) ids.push_back(players.join(match, "p"));
  for (int id : ids) REQUIRE(players.wait_welcomed(id));
  CHECK(upgrade_status(port, "/play?match=m4&name=q") == 503);
  CHECK(upgrade_status(port, "/play?match=m2&name=q") == 101);  // a running match takes players as before
  players.close(ids[2]);  // m3's only player: the match closes, and a new one may open
  CHECK(test::eventually([&] { return upgrade_status(port, "/play?match=m4&name=q") == 101; }, 5s));
  stop_cleanly(server);
}

TEST_CASE("game: malformed binary input closes with 1008, a text message with 1003, more than 60 inputs a second with 1008") {
  test::ServerProcess server(game_command());
  REQUIRE(server.port() > 0);
  Players players(server.port());
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"short keys", std::string{char(0x10)}},
      {"long keys", std::string{char(0x10), 0, 0}},
      {"unknown type", std::string{char(0x7e), 0}},
      {"server type", std::string(16, char(0x01))},
      {"short target", target_input(1, 2).substr(0, 8)},
      {"NaN target", target_input(std::nanf(""), 5)},
      {"infinite target", target_input(5, INFINITY)},
  };
  std::vector<int> conns;
  for (size_t k = 0; k < bad.size(); ++k) conns.push_back(players.join("strict", fmt::format("b{}", k)));
  const int text = players.join("strict", "texter");
  const int flood = players.join("strict", "flood");
  const int calm = players.join("strict", "calm");
  for (int c : conns) REQUIRE(players.wait_welcomed(c));
  REQUIRE(players.wait_welcomed(text));
  REQUIRE(players.wait_welcomed(flood));
  REQUIRE(players.wait_welcomed(calm));
  for (size_t k = 0; k < bad.size(); ++k) players.send(conns[k], bad[k].second);
  players.send(text, "hello", OpCode::text);
  for (int k = 0; k < 60; ++k) players.send(flood, keys_input(k % 2 ? 0x08 : 0));
  for (size_t k = 0; k < bad.size(); ++k) {
    CAPTURE(bad[k].first);
    CHECK(players.wait(conns[k], [](const Inbox& in) { return in.close_code != 0; }));
    CHECK(players.inbox(conns[k]).close_code == 1008);
  }
  CHECK(players.wait(text, [](const Inbox& in) { return in.close_code != 0; }));
  CHECK(players.inbox(text).close_code == 1003);
  // 60 inputs within a second are allowed; the 61st is one too many.
  std::this_thread::sleep_for(200ms);
  CHECK(players.inbox(flood).close_code == 0);
  players.send(flood, keys_input(0));
  CHECK(players.wait(flood, [](const Inbox& in) { return in.close_code != 0; }));
  CHECK(players.inbox(flood).close_code == 1008);
  // The closed players leave the match; the well-behaved one plays on alone.
  CHECK(players.wait_snapshot(calm, [](const Snapshot& s) { return s.players.size() == 1; }));
  CHECK(players.inbox(calm).close_code == 0);
  CHECK(protocol_violation(players.inbox(calm)) == "");
  stop_cleanly(server);
}

TEST_CASE("game: GET / serves the page, GET /health answers ok, and SIGTERM closes players with 1001 and exits 0") {
  test::ServerProcess server(game_command());
  REQUIRE(server.port() > 0);
  const std::string page = test::http_exchange(server.port(), "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK(page.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(page.find("Content-Type: text/html; charset=utf-8") != std::string::npos);
  CHECK(page.find("window, '__game'") != std::string::npos);
  CHECK(page.size() > 20000);
  const std::string health = test::http_exchange(server.port(), "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK(health.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(health.substr(health.size() - 2) == "ok");

  Players players(server.port());
  const int a = players.join("bye", "a");
  const int b = players.join("bye", "b");
  REQUIRE(players.wait_welcomed(a));
  REQUIRE(players.wait_welcomed(b));
  stop_cleanly(server);
  CHECK(players.wait(a, [](const Inbox& in) { return in.close_code != 0; }));
  CHECK(players.wait(b, [](const Inbox& in) { return in.close_code != 0; }));
  CHECK(players.inbox(a).close_code == 1001);
  CHECK(players.inbox(b).close_code == 1001);
}

}  // TEST_SUITE
