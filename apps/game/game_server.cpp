#include "apps/game/game_server.hpp"

#include <cassert>
#include <deque>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>

#include "apps/game/page.hpp"
#include "apps/game/simulation.hpp"
#include <ringcast/core/log.hpp>
#include <ringcast/ws/codec/close_code.hpp>

namespace ringcast::game {

namespace {

// Ticks one timer firing may run to catch up; further behind (a stalled shard), the schedule
// restarts from now instead of replaying the backlog.
constexpr unsigned kMaxCatchUpTicks = 8;
// New players appear at least this far from the edges.
constexpr float kSpawnMargin = 100.0f;

}  // namespace

struct Match;

// A join on its way from the player's shard to the home shard. Holds the player's seat until the
// home shard adds the player (or gives it back when destroyed without that: the join was refused,
// or the server stopped with the task in flight).
struct JoinRequest {
  Admission* admission = nullptr;
  std::string match;
  std::string name;        // valid (protocol.hpp)
  unsigned from = 0;       // the player's shard
  uint32_t token = 0;      // the player's shard's handle for the socket
  bool seated = true;      // the seat is still this request's to give back

  JoinRequest(Admission& a, std::string m, std::string n) : admission(&a), match(std::move(m)), name(std::move(n)) {}
  JoinRequest(const JoinRequest&) = delete;
  JoinRequest& operator=(const JoinRequest&) = delete;
  ~JoinRequest() {
    if (seated) admission->release(match);
  }
};

// The home shard's answer to a join, for the player's shard.
struct Ready {
  Match* match = nullptr;  // on the home shard: passed back, never dereferenced elsewhere
  unsigned home = 0;
  uint32_t id = 0;
  uint32_t token = 0;
  std::string room;
  std::string messages;    // WELCOME, then PLAYER_JOINED for each player, concatenated
};

// The user data of a player's socket, on its shard. 32 bytes (next to the WebSocket's 64).
struct Player {
  std::unique_ptr<JoinRequest> join;  // from the upgrade until on_open sends it home
  Match* match = nullptr;             // the home shard's match, once READY came (only passed back)
  uint32_t id = 0;                    // 0 until READY
  uint32_t token = 0;                 // key in the shard's pending joins
  uint32_t window_start_ms = 0;       // input rate: start of the current one-second window
  uint16_t window_inputs = 0;         // inputs in that window
  uint16_t home = 0;                  // the match's home shard
};

static_assert(sizeof(Player) == 32);

using Socket = WebSocket<Player>;

// One match, on its home shard; its Timer (the base) drives the ticks.
struct Match : Timer {
  struct Member {
    uint32_t id;
    uint8_t colour;
    std::string name;
  };
  // A change of the roster waiting for the join in progress: a join, or a player leaving.
  struct Change {
    std::unique_ptr<JoinRequest> join;
    uint32_t leaving = 0;
  };

  GameShard* shard;
  std::string name;
  Simulation sim;
  std::vector<Member> roster;  // in joining order
  std::deque<Change> waiting;
  uint32_t joining = 0;        // the player whose READY is out, until its CONFIRM (0: none)
  uint64_t start_ms = 0;       // tick k of the current schedule is due at start_ms + k·1000/tick_hz
  uint64_t ticks = 0;          // ticks run on the current schedule

  Match(GameShard& s, std::string n, unsigned tick_hz, Callback cb)
      : Timer(cb), shard(&s), name(std::move(n)), sim(tick_hz) {}
};

// The game on one shard: the matches it is home to, and the joins of the sockets it accepted.
class GameShard {
 public:
  GameShard(GameServer& server, Shard& shard, Rooms& rooms)
      : server_(server),
        shard_(shard),
        rooms_(rooms),
        tick_hz_(server.options().tick_hz),
        rng_(std::random_device{}() ^ (shard.id() * 0x9e3779b9u)) {}
  GameShard(const GameShard&) = delete;
  GameShard& operator=(const GameShard&) = delete;

  // ---- The player's shard ----

  void open(Socket& ws) {
    Player& p = ws.data();
    if (!p.join) return;
    if (++next_token_ == 0) ++next_token_;
    p.token = next_token_;
    p.home = static_cast<uint16_t>(rooms_.home_of(p.join->match));
    p.join->from = shard_.id();
    p.join->token = p.token;
    pending_.emplace(p.token, Pending{&ws, std::nullopt});
    shard_.send_to(p.home, [srv = &server_, j = std::move(p.join)](Shard& s) mutable { srv->on(s).join(std::move(j)); });
  }

  void message(Socket& ws, std::string_view m, OpCode op) {
    if (op != OpCode::binary) {
      ws.close(close_code::kUnsupportedData, "binary messages only");
      return;
    }
    Player& p = ws.data();
    const auto now = static_cast<uint32_t>(shard_.now_ms());
    if (p.window_inputs == 0 || now - p.window_start_ms >= 1000) {
      p.window_start_ms = now;
      p.window_inputs = 0;
    }
    if (++p.window_inputs > kMaxInputsPerSecond) {
      ws.close(close_code::kPolicyViolation, "more than 60 inputs in one second");
      return;
    }
    const std::optional<Input> in = parse_input(m);
    if (!in) {
      ws.close(close_code::kPolicyViolation, "malformed input");
      return;
    }
    if (p.id == 0) {  // not admitted yet: the latest input goes home with CONFIRM
      if (auto it = pending_.find(p.token); it != pending_.end()) it->second.input = *in;
      return;
    }
    shard_.send_to(p.home, [srv = &server_, match = p.match, id = p.id, input = *in](Shard& s) {
      srv->on(s).input(*match, id, input);
    });
  }

  void closed(Socket& ws) {
    Player& p = ws.data();
    if (p.join) return;  // never sent home: the request gives the seat back with the socket
    if (p.id == 0) {     // READY is still to come; it will find the socket gone and send LEAVE
      pending_.erase(p.token);
      return;
    }
    shard_.send_to(p.home, [srv = &server_, match = p.match, id = p.id](Shard& s) { srv->on(s).leave(*match, id); });
    p.id = 0;
  }

  void ready(std::unique_ptr<Ready> r) {
    auto it = pending_.find(r->token);
    if (it == pending_.end()) {  // the socket closed meanwhile
      shard_.send_to(r->home, [srv = &server_, match = r->match, id = r->id](Shard& s) { srv->on(s).leave(*match, id); });
      return;
    }
    Socket& ws = *it->second.ws;
    const std::optional<Input> input = it->second.input;
    pending_.erase(it);
    Player& p = ws.data();
    p.match = r->match;
    p.id = r->id;
    std::string_view rest = r->messages;
    while (const size_t n = server_message_size(rest)) {
      ws.send(rest.substr(0, n), OpCode::binary);
      rest.remove_prefix(n);
    }
    ws.subscribe(r->room);
    shard_.send_to(p.home, [srv = &server_, match = p.match, id = p.id, input](Shard& s) {
      srv->on(s).confirm(*match, id, input);
    });
  }

  // ---- The home shard ----

  void join(std::unique_ptr<JoinRequest> j) {
    if (stopping_) return;  // the request gives its seat back
    auto it = matches_.find(j->match);
    if (it == matches_.end()) {
      auto m = std::make_unique<Match>(*this, j->match, tick_hz_, &GameShard::on_tick);
      log::debug("match {} opens on shard {}", m->name, shard_.id());
      it = matches_.emplace(m->name, std::move(m)).first;
    }
    Match& m = *it->second;
    m.waiting.push_back({std::move(j), 0});
    settle(m);
  }

  void confirm(Match& m, uint32_t id, const std::optional<Input>& input) {
    if (input) m.sim.apply(id, *input);
    if (m.joining != id) return;
    m.joining = 0;
    settle(m);
  }

  void input(Match& m, uint32_t id, const Input& in) { m.sim.apply(id, in); }

  void leave(Match& m, uint32_t id) {
    if (m.joining == id) {
      m.joining = 0;  // it left before (or instead of) confirming
    } else if (m.joining != 0) {
      m.waiting.push_back({nullptr, id});
      return;
    }
    remove(m, id);
    settle(m);
  }

  // The shard is stopping: no more ticks and no more joins (the players are being closed with 1001).
  void stop() {
    stopping_ = true;
    for (auto& [name, m] : matches_) shard_.timers().cancel(*m);
  }

 private:
  struct Pending {
    Socket* ws;
    std::optional<Input> input;  // the latest input sent before READY
  };

  // Applies waiting changes until a join is in progress, then drops the match if it is empty.
  void settle(Match& m) {
    while (m.joining == 0 && !m.waiting.empty()) {
      Match::Change c = std::move(m.waiting.front());
      m.waiting.pop_front();
      if (c.join) {
        admit(m, std::move(c.join));
      } else {
        remove(m, c.leaving);
      }
    }
    if (m.sim.empty() && m.waiting.empty() && m.joining == 0) {
      shard_.timers().cancel(m);
      log::debug("match {} closes on shard {}", m.name, shard_.id());
      matches_.erase(matches_.find(m.name));  // `m` is gone
    }
  }

  void admit(Match& m, std::unique_ptr<JoinRequest> j) {
    if (stopping_) return;
    // Ids are unique in the server's lifetime: each shard hands out its own residue class.
    const uint32_t id = ++serial_ * shard_.shard_count() + shard_.id() + 1;
    const uint8_t colour = m.sim.least_used_colour();
    std::uniform_real_distribution<float> ux(kSpawnMargin, kWorldWidth - kSpawnMargin);
    std::uniform_real_distribution<float> uy(kSpawnMargin, kWorldHeight - kSpawnMargin);
    const float x = ux(rng_);
    const float y = uy(rng_);
    m.sim.add(id, x, y, colour);
    m.roster.push_back({id, colour, j->name});
    j->seated = false;  // the match holds the seat now; remove() gives it back
    // The players already in the match learn the name before any snapshot lists the newcomer.
    scratch_.clear();
    append_player_joined(scratch_, id, colour, j->name);
    rooms_.publish(m.name, scratch_, OpCode::binary);

    auto r = std::make_unique<Ready>();
    r->match = &m;
    r->home = shard_.id();
    r->id = id;
    r->token = j->token;
    r->room = m.name;
    append_welcome(r->messages, static_cast<uint16_t>(tick_hz_), id);
    for (const Match::Member& member : m.roster) append_player_joined(r->messages, member.id, member.colour, member.name);
    if (m.sim.size() == 1) {  // the first player starts the clock
      m.start_ms = shard_.now_ms();
      m.ticks = 0;
      shard_.timers().schedule_at(m, due(m, 1));
    }
    m.joining = id;
    shard_.send_to(j->from, [srv = &server_, r = std::move(r)](Shard& s) mutable { srv->on(s).ready(std::move(r)); });
  }

  void remove(Match& m, uint32_t id) {
    if (!m.sim.remove(id)) return;
    for (auto it = m.roster.begin(); it != m.roster.end(); ++it) {
      if (it->id == id) {
        m.roster.erase(it);
        break;
      }
    }
    scratch_.clear();
    append_player_left(scratch_, id);
    rooms_.publish(m.name, scratch_, OpCode::binary);
    server_.admission().release(m.name);
    if (m.sim.empty()) shard_.timers().cancel(m);
  }

  uint64_t due(const Match& m, uint64_t tick) const noexcept { return m.start_ms + tick * 1000 / tick_hz_; }

  static void on_tick(Timer& t) {
    Match& m = static_cast<Match&>(t);
    m.shard->tick(m);
  }

  void tick(Match& m) {
    if (stopping_ || m.sim.empty()) return;
    const uint64_t now = shard_.now_ms();
    unsigned ran = 0;
    while (due(m, m.ticks + 1) <= now) {
      if (ran == kMaxCatchUpTicks) {  // far behind: a new schedule from now
        m.start_ms = now;
        m.ticks = 0;
        break;
      }
      m.sim.step();
      ++m.ticks;
      ++ran;
    }
    if (ran > 0) {
      m.sim.encode_snapshot(scratch_);
      rooms_.publish(m.name, scratch_, OpCode::binary);
    }
    shard_.timers().schedule_at(m, due(m, m.ticks + 1));
  }

  GameServer& server_;
  Shard& shard_;
  Rooms& rooms_;
  const unsigned tick_hz_;
  RoomNameMap<std::unique_ptr<Match>> matches_;      // home shard: the matches it runs
  std::unordered_map<uint32_t, Pending> pending_;   // player's shard: sockets awaiting READY
  uint32_t next_token_ = 0;
  uint32_t serial_ = 0;
  std::mt19937 rng_;
  std::string scratch_;  // messages being published (reused: no allocation per tick)
  bool stopping_ = false;
};

GameServer::GameServer(GameOptions options, unsigned shards)
    : options_(options), admission_(options.max_players, options.max_matches), shards_(shards) {}

GameServer::~GameServer() = default;

GameShard& GameServer::on(const Shard& shard) noexcept { return *shards_[shard.id()]; }

void GameServer::install(App& app) {
  app.get("/", [](Request&, Response& res) {
    res.header("Cache-Control", "no-cache").send(page_html(), "text/html; charset=utf-8");
  });
  app.on_shard_start([this, &app](Shard& s) {
    assert(s.id() < shards_.size());
    shards_[s.id()] = std::make_unique<GameShard>(*this, s, app.rooms());
    GameShard* g = shards_[s.id()].get();
    s.on_stop([g] { g->stop(); });
  });
  app.ws<Player>("/play", {
      .on_upgrade =
          [this](Request& req, Upgrade<Player>& up) {
            std::string match = req.query("match");
            std::string name = req.query("name");
            if (!valid_match_name(match)) {
              up.reject(400, "match: 1-32 characters from A-Z a-z 0-9 _ -");
              return;
            }
            if (!valid_player_name(name)) {
              up.reject(400, "name: 1-24 bytes of UTF-8, no control or bidirectional characters");
              return;
            }
            switch (admission_.reserve(match)) {
              case Seat::taken:
                break;
              case Seat::match_full:
                up.reject(403, "the match is full");
                return;
              case Seat::too_many_matches:
                up.reject(503, "too many matches are running: join one of them, or try again later");
                return;
            }
            Player p;
            p.join = std::make_unique<JoinRequest>(admission_, std::move(match), std::move(name));
            up.accept(std::move(p));
          },
      .on_open = [this](Socket& ws) { on(*Shard::current()).open(ws); },
      .on_message = [this](Socket& ws, std::string_view m, OpCode op) { on(*Shard::current()).message(ws, m, op); },
      .on_close = [this](Socket& ws, int, std::string_view) { on(*Shard::current()).closed(ws); },
      .limits = {
          // Inputs are 2 or 12 bytes; anything up to this size gets the protocol's 1008, larger 1009.
          .max_message_size = 4096,
          // About 8 s of 64-player snapshots: a reader further behind is closed (1008), not buffered.
          .max_backpressure = 256 << 10,
          // Players may watch without sending anything: liveness comes from heartbeats, not input.
          .idle_timeout = std::chrono::milliseconds(0),
          .ping_interval = std::chrono::seconds(30),
          .pong_timeout = std::chrono::seconds(15),
      },
  });
}

}  // namespace ringcast::game
