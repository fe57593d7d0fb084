// auth_upgrade: decide at the upgrade who may open a WebSocket, and keep who they are. A client
// opens /ws?token=TOKEN; an unknown token is refused with HTTP 401 before any WebSocket exists, a
// known one opens a socket that carries its user's name.
//
//   build/examples/auth_upgrade --port 9001
//   build/examples/client --url 'ws://127.0.0.1:9001/ws?token=alice-token' --message hi  # hello alice
//   build/examples/client --url 'ws://127.0.0.1:9001/ws?token=nope'                      # refused: 401 Unauthorized
//
// The lesson: on_upgrade sees the request (path, query, headers, Origin) and calls accept(user data)
// or reject(status, body); the user data is then ws.data() in every callback. Browsers cannot set
// headers on a WebSocket, so the token comes in the query (or a cookie: req.header("Cookie")).
#include <fmt/core.h>

#include <map>
#include <string>

#include <ringcast/core/cli.hpp>
#include <ringcast/ws/app.hpp>

using namespace ringcast;

struct User {
  std::string name;
};

// Tokens and their users. A real server asks its session store (a lookup that blocks belongs on a
// WorkerPool, see deferred_http.cpp; on_upgrade must decide at once).
const std::map<std::string, std::string, std::less<>> kTokens = {{"alice-token", "alice"}, {"bob-token", "bob"}};

int main(int argc, char** argv) {
  Cli cli("auth_upgrade",
          "a WebSocket at /ws?token=TOKEN: 401 for an unknown token, else a socket that knows its user's name");
  auto& port = cli.flag("port", int64_t{9001}, "port to listen on (0: any free port)");
  cli.example("auth_upgrade --port 9001");
  if (int rc = cli.parse(argc, argv); rc >= 0) return rc;
  if (port < 0 || port > 65535) {
    fmt::print(stderr, "auth_upgrade: --port is 0 to 65535\n");
    return 2;
  }

  App app({.host = "127.0.0.1", .port = static_cast<uint16_t>(port)});
  app.ws<User>("/ws", {
      .on_upgrade = [](Request& req, Upgrade<User>& up) {
        const auto user = kTokens.find(req.query("token"));
        if (user == kTokens.end()) {
          up.reject(401, "unknown token\n");  // the client gets an HTTP answer, never a WebSocket
          return;
        }
        up.accept(User{user->second});
      },
      .on_open = [](WebSocket<User>& ws) { ws.send("hello " + ws.data().name); },
      .on_message = [](WebSocket<User>& ws, std::string_view message, OpCode) {
        ws.send(fmt::format("{} said: {}", ws.data().name, message));
      },
  });
  return app.run();
}
