// echo_server: the smallest WebSocket server. Every message comes back as it came (text stays text,
// binary stays binary), on any path.
//
//   build/examples/echo_server --port 9001
//   build/examples/client --url ws://127.0.0.1:9001/ --message hello  # prints: hello
//   build/bin/ringcast-load --scenario echo --url ws://127.0.0.1:9001 --connections 100 --duration 5
//
// The lesson: an App, one route and its behaviour (callbacks and limits, by designated initializers),
// and run(), which serves on every core until SIGINT or SIGTERM.
#include <fmt/core.h>

#include <ringcast/core/cli.hpp>
#include <ringcast/ws/app.hpp>

using namespace ringcast;

struct Peer {};  // what the server keeps for each connection: nothing, here

int main(int argc, char** argv) {
  Cli cli("echo_server", "a WebSocket echo: every message comes back as it came, on any path");
  auto& port = cli.flag("port", int64_t{9001}, "port to listen on (0: any free port)");
  cli.example("echo_server --port 9001");
  if (int rc = cli.parse(argc, argv); rc >= 0) return rc;  // --help, or a bad flag
  if (port < 0 || port > 65535) {
    fmt::print(stderr, "echo_server: --port is 0 to 65535\n");
    return 2;
  }

  App app({.host = "127.0.0.1", .port = static_cast<uint16_t>(port)});  // one shard per CPU
  app.ws<Peer>("/*", {
      // Runs on the connection's shard; every shard runs it at once, each for its own connections.
      .on_message = [](WebSocket<Peer>& ws, std::string_view message, OpCode op) { ws.send(message, op); },
      // Also: on_upgrade, on_open, on_drain, on_ping, on_pong, on_close (ringcast/ws/web_socket_route.hpp).
      .limits = {.max_message_size = 64 << 10, .idle_timeout = std::chrono::seconds(60)},
  });
  // Logs "listening on 127.0.0.1:PORT"; on SIGINT every client gets 1001, on SIGTERM they get it spread
  // over AppOptions::drain's window (a rolling restart); then run() returns 0.
  return app.run();
}
