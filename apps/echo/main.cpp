// ringcast-echo: a WebSocket echo server. Every message comes back as it came: text stays text,
// binary stays binary, a fragmented message comes back whole, in one frame.
#include <fmt/core.h>

#include <ringcast/core/cli.hpp>
#include <ringcast/core/log.hpp>
#include <ringcast/ws/app_flags.hpp>

namespace {
struct Peer {};  // the echo keeps nothing per connection
struct Member {
  std::string room;
};
}  // namespace

int main(int argc, char** argv) {
  using namespace ringcast;
  Cli cli("ringcast-echo",
          "a WebSocket echo server: every message comes back as it came, on any path; on /room/NAME every "
          "message a member sends goes to every member of room NAME, sender included (the bench protocol)");
  const AppFlags flags = AppFlags::declare(cli, 9001);
  auto& max_message = cli.flag("max-message", int64_t{64 << 10},
                               "largest message accepted, in bytes, counted after inflation (larger: close 1009)");
  auto& idle = cli.flag("idle-timeout", int64_t{120}, "seconds without a frame before the server closes (0: never)");
  auto& ping_interval = cli.flag("ping-interval", 0.0, "seconds between the server's pings to each client (0: none)");
  auto& pong_timeout = cli.flag("pong-timeout", 10.0, "seconds to wait for a pong before dropping the client");
  auto& deflate = cli.flag("deflate", false, "negotiate permessage-deflate (RFC 7692) and compress replies of 1 KiB or more");
  auto& inflate_rate = cli.flag("inflate-rate", int64_t{4 << 20},
                                "with --deflate: bytes a client's messages may inflate to per second, with a burst of "
                                "one second's worth or one message (beyond: close 1008; 0: no limit)");
  auto& room_backpressure = cli.flag("room-backpressure", int64_t{1 << 20},
                                     "bytes queued to a room member before it is closed as too slow (1008)");
  cli.example("ringcast-echo --port 9001 --shards 2");
  cli.example("ringcast-echo --backend epoll --max-message 16777216 --inflate-rate 0   # Autobahn's 16 MiB cases");
  const BrokerFlags broker = BrokerFlags::declare(
      cli, "redis[s]://[USER:PASSWORD@]HOST[:PORT][/PREFIX] (docs/redis.md): share /room/NAME rooms with other ringcast-echo processes "
           "through Redis pub/sub; empty: none");
  auto& durable = cli.flag("durable-rooms", false,
                           "/room/NAME rooms are durable: one order for every member on every node, numbered and kept "
                           "(the last 100 messages); members get messages as they were sent");
  cli.example("ringcast-echo --deflate");
  cli.example("ringcast-echo --ping-interval 10 --idle-timeout 0   # heartbeats keep idle clients, drop dead ones");
  cli.example("ringcast-echo --port 9002 --broker redis://127.0.0.1:6379   # one of several nodes");
  cli.epilog("GET /health answers \"ok\". Stops gracefully on SIGINT/SIGTERM (close 1001, exit status 0).");
  if (int rc = cli.parse(argc, argv); rc >= 0) return rc;
  AppOptions options;
  std::string error;
  if (!flags.apply(options, error) || !broker.apply(options, error)) {
    fmt::print(stderr, "ringcast-echo: {}\n", error);
    return 2;
  }
  if (max_message <= 0 || idle < 0 || ping_interval < 0 || pong_timeout <= 0 || inflate_rate < 0) {
    fmt::print(stderr, "ringcast-echo: --max-message and --pong-timeout must be positive, --idle-timeout, "
                       "--ping-interval and --inflate-rate not negative\n");
    return 2;
  }
  const auto ms = [](double seconds) { return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000)); };
  try {
    const WebSocketLimits limits = {
        .max_message_size = static_cast<size_t>(max_message),
        .max_backpressure = static_cast<size_t>(max_message) + (1 << 20),
        .idle_timeout = std::chrono::seconds(idle),
        .ping_interval = ms(ping_interval),
        .pong_timeout = ms(pong_timeout),
        .max_inflate_rate = static_cast<size_t>(inflate_rate),
    };
    WebSocketLimits room_limits = limits;
    room_limits.max_backpressure = static_cast<size_t>(room_backpressure);
    App app(options);
    if (durable) app.default_room_options({.kind = RoomKind::durable});
    app.ws<Peer>("/*", {
        .on_message = [](WebSocket<Peer>& ws, std::string_view message, OpCode op) { ws.send(message, op, true); },
        .limits = limits,
        .compression = DeflateOptions{.enabled = deflate},
    });
    app.ws<Member>("/room/:name", {
        .on_upgrade = [](Request& req, Upgrade<Member>& up) { up.accept(Member{std::string(req.param("name"))}); },
        .on_open = [](WebSocket<Member>& ws) { ws.subscribe(ws.data().room); },
        .on_message = [&app](WebSocket<Member>& ws, std::string_view message,
                             OpCode op) { app.rooms().publish(ws.data().room, message, op); },
        .limits = room_limits,
        .compression = DeflateOptions{.enabled = deflate},
    });
    return app.run();
  } catch (const std::exception& e) {
    log::error("{}", e.what());
    return 1;
  }
}
