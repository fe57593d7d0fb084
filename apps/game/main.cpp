// ringcast-game: a game-state broadcast demo. Players join a match at /play?match=NAME&name=NICK,
// send only their intent (keys held, or a point to walk to), and every player receives the whole
// match as one binary snapshot per tick. Protocol: apps/game/PROTOCOL.md; the page is served at /.
#include <fmt/core.h>

#include "apps/game/game_server.hpp"
#include <ringcast/core/cli.hpp>
#include <ringcast/core/log.hpp>
#include <ringcast/core/runtime.hpp>
#include <ringcast/ws/app_flags.hpp>

int main(int argc, char** argv) {
  using namespace ringcast;
  Cli cli("ringcast-game",
          "a game-state broadcast demo: players join a match over WebSocket (GET /play?match=NAME&name=NICK), "
          "send their inputs, and receive the whole match as one binary snapshot per tick; the browser "
          "client is served at GET /");
  const AppFlags flags = AppFlags::declare(cli, 8090);
  auto& tick_rate = cli.flag("tick-rate", int64_t{30}, "simulation ticks (and snapshots) per second, 1-1000");
  auto& max_players = cli.flag("max-players", int64_t{game::kDefaultMaxPlayers},
                               "players per match; a join beyond it is refused with 403 (1-65535)");
  auto& max_matches = cli.flag("max-matches", int64_t{game::kDefaultMaxMatches},
                               "matches open at once; a join that would open one more is refused with 503 (1-65535)");
  cli.example("ringcast-game --port 8090 --shards 2");
  cli.example("ringcast-game --tick-rate 60 --max-players 16 --backend epoll");
  cli.epilog(
      "Open http://HOST:PORT/ in a browser to play. GET /health answers \"ok\"; GET /metrics serves the\n"
      "counters. A match lives on one shard and ticks while it has players. Stops gracefully on\n"
      "SIGINT/SIGTERM: every player gets close code 1001, exit status 0.");
  if (int rc = cli.parse(argc, argv); rc >= 0) return rc;
  AppOptions options;
  std::string error;
  if (!flags.apply(options, error)) {
    fmt::print(stderr, "ringcast-game: {}\n", error);
    return 2;
  }
  if (tick_rate < 1 || tick_rate > 1000) {
    fmt::print(stderr, "ringcast-game: --tick-rate {} is out of range (1..1000)\n", tick_rate);
    return 2;
  }
  if (max_players < 1 || max_players > 65535) {
    fmt::print(stderr, "ringcast-game: --max-players {} is out of range (1..65535)\n", max_players);
    return 2;
  }
  if (max_matches < 1 || max_matches > 65535) {
    fmt::print(stderr, "ringcast-game: --max-matches {} is out of range (1..65535)\n", max_matches);
    return 2;
  }
  try {
    if (!options.shards.count) options.shards.count = static_cast<unsigned>(Runtime::allowed_cpus().size());
    // Declared before the App: the game's state outlives the shards that use it.
    game::GameServer game({.tick_hz = static_cast<unsigned>(tick_rate),
                           .max_players = static_cast<unsigned>(max_players),
                           .max_matches = static_cast<unsigned>(max_matches)},
                          options.shards.count);
    App app(options);
    game.install(app);
    log::info("game: {} ticks per second, at most {} players per match and {} matches", tick_rate, max_players,
              max_matches);
    return app.run();
  } catch (const std::exception& e) {
    log::error("{}", e.what());
    return 1;
  }
}
