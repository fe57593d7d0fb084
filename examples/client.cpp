// client: a WebSocket client on ringcast's own loop. It connects to --url, sends --message, prints
// the first message it receives, closes with 1000 and exits 0; without a message it exits 1.
//
//   build/examples/echo_server --port 9001 &
//   build/examples/client --url ws://127.0.0.1:9001/ --message hello  # prints: hello
//   build/examples/client --url wss://HOST/PATH                       # TLS, checked against the system's CAs
//
// The lesson: a client is a Runtime of one shard whose driver is a Loop; WebSocketClient lives on
// that shard and speaks through the same callbacks and codec as a server route (its frames are
// masked). Each connection ends in on_error (connect or handshake failed) or on_open ... on_close.
#include <fmt/core.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <string>

#include <ringcast/core/cli.hpp>
#include <ringcast/core/runtime.hpp>
#include <ringcast/net/backend/loop.hpp>
#include <ringcast/ws/web_socket_client.hpp>

using namespace ringcast;

struct Peer {};

int main(int argc, char** argv) {
  Cli cli("client", "connects, sends one message, prints the first message that comes back, and closes");
  auto& url_text = cli.flag("url", std::string("ws://127.0.0.1:9001/"), "ws:// or wss:// URL to connect to");
  auto& message = cli.flag("message", std::string("hello"), "the text message to send once open");
  cli.example("client --url ws://127.0.0.1:9001/ --message hello");
  if (int rc = cli.parse(argc, argv); rc >= 0) return rc;
  std::string error;
  const std::optional<WebSocketUrl> url = WebSocketUrl::parse(url_text, error);
  if (!url) {
    fmt::print(stderr, "client: {}\n", error);
    return 2;
  }

  int status = 1;
  std::unique_ptr<WebSocketClient<Peer>> client;  // declared first: the loop that calls it ends before it goes
  const auto done = [] { Shard::current()->runtime().stop(); };
  Runtime runtime({
      .shards = {.count = 1, .pin = false},
      .make_driver = [](Shard& shard) -> std::unique_ptr<EventDriver> { return Loop::create(shard, LoopOptions{}); },
      .on_start = [&](Shard&) {  // on the shard's thread, its loop ready
        client = std::make_unique<WebSocketClient<Peer>>(Loop::current(), ClientBehavior<Peer>{
            .on_open = [&](WebSocket<Peer>& ws) { ws.send(message); },
            .on_message = [&](WebSocket<Peer>& ws, std::string_view reply, OpCode) {
              fmt::print("{}\n", reply);
              status = 0;
              ws.close(1000, "done");
            },
            .on_close = [&](WebSocket<Peer>&, int, std::string_view) { done(); },
            .on_error = [&](WebSocket<Peer>&, std::string_view why) {
              fmt::print(stderr, "client: {}\n", why);
              done();
            },
        });
        if (!client->connect(*url)) {  // no socket at all (the descriptor limit, say): nothing else is called
          fmt::print(stderr, "client: cannot connect: {}\n", std::strerror(errno));
          done();
        }
      },
  });
  runtime.run();  // until done() (or SIGINT/SIGTERM)
  return status;
}
