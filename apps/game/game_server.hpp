#pragma once
// GameServer: the game demo on an App — GET / serves the page, and GET /play?match=NAME&name=NICK
// upgrades to the binary protocol of apps/game/PROTOCOL.md. Built on the public API only.
//
// Where things live:
//  - A player's socket lives on the shard that accepted it (its shard). Its inputs are checked there
//    (text → 1003; malformed, or more than 60 in a second → 1008) and travel to the match's home
//    shard over the mesh, without allocating.
//  - A match lives on its home shard, Rooms::home_of(name): the Simulation, the players' names, and
//    a Timer on that shard's wheel that runs at tick_hz while the match has players, on a schedule
//    anchored at the first tick (tick k is due at start + k·1000/tick_hz ms, so late wake-ups do not
//    add up). Each firing runs every tick that is due (up to 8; further behind, after a stall, the
//    schedule restarts from now) and publishes one SNAPSHOT, of the newest, to the room named after
//    the match: the frame is encoded once and each shard fans it out to its own members. A match with
//    no players stops ticking and is dropped.
//
// Memory per player: 32 bytes of user data next to its WebSocket, on its shard; on the home shard
// 28 bytes of simulation state and a roster entry with the name.
//
// Joining keeps the protocol's promises (WELCOME first; a player's PLAYER_JOINED before any snapshot
// that lists it; PLAYER_LEFT after the last one) across shards:
//  1. The upgrade checks the names (400) and takes a seat (Admission; 403 when the match is full, 503
//     when it would open a match beyond max_matches).
//  2. On open, the player's shard sends JOIN to the home shard.
//  3. The home shard adds the player, publishes PLAYER_JOINED to the room, and sends READY — WELCOME
//     and a PLAYER_JOINED for everyone in the match, the newcomer last — to the player's shard.
//  4. The player's shard sends those, subscribes the socket to the room, and sends CONFIRM back.
// The mesh is FIFO per pair of shards, so what the home shard publishes after READY reaches the
// player's shard after READY, as soon as the home shard knows that shard has members — which it does
// when CONFIRM arrives, because Rooms announce a shard's first member before CONFIRM leaves. Until
// CONFIRM, the home shard holds every other change to the roster (joins and leaves wait, in order):
// whatever snapshots the newcomer misses list exactly the players it was told about.
//
// Threads: construct and install() on the main thread before the app starts; everything after runs
// on the shards. The GameServer must outlive the App's shards (declare it before the App).
#include <memory>
#include <vector>

#include "apps/game/admission.hpp"
#include "apps/game/protocol.hpp"
#include <ringcast/ws/app.hpp>

namespace ringcast::game {

class GameShard;

struct GameOptions {
  unsigned tick_hz = 30;                       // simulation ticks (and snapshots) per second, 1–1000
  unsigned max_players = kDefaultMaxPlayers;   // per match; more get 403
  // Matches open at once; a join that would open one more gets 503. A match ticks at tick_hz while it
  // has a player: 2,048 one-player matches took 44 % of a core at 30 Hz, so 256 cost about 6 %.
  unsigned max_matches = kDefaultMaxMatches;
};

class GameServer {
 public:
  // `shards`: the number of shards the App will run (its AppOptions::shards, resolved).
  GameServer(GameOptions options, unsigned shards);
  ~GameServer();
  GameServer(const GameServer&) = delete;
  GameServer& operator=(const GameServer&) = delete;

  // Adds GET /, the /play WebSocket route and the per-shard game state to `app` (before it starts).
  void install(App& app);

  const GameOptions& options() const noexcept { return options_; }
  Admission& admission() noexcept { return admission_; }
  // The calling shard's game state (shard threads only).
  GameShard& on(const Shard& shard) noexcept;

 private:
  GameOptions options_;
  Admission admission_;
  std::vector<std::unique_ptr<GameShard>> shards_;  // slot i written once by shard i as it starts
};

}  // namespace ringcast::game
