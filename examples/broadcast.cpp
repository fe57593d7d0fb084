// broadcast: rooms. A client joins room NAME by opening /room/NAME, and every message a member sends
// goes to every member of that room, the sender included, whichever shard (core) holds them. This is
// the bench protocol ringcast-load's broadcast scenario speaks.
//
//   build/examples/broadcast --port 9001
//   build/bin/ringcast-load --scenario broadcast --url ws://127.0.0.1:9001 --connections 200 --rooms 2 --publishers 4
//
// The lesson: per-connection user data set at the upgrade, subscribe, and publish, which encodes a
// message once and hands each shard with members one reference to it. A socket leaves its rooms
// when it closes.
#include <fmt/core.h>

#include <string>

#include <ringcast/core/cli.hpp>
#include <ringcast/ws/app.hpp>

using namespace ringcast;

struct Member {
  std::string room;  // user data lives inline in the socket: 64 bytes + sizeof(Member) per connection
};

int main(int argc, char** argv) {
  Cli cli("broadcast", "rooms: a message sent on /room/NAME goes to every member of room NAME, sender included");
  auto& port = cli.flag("port", int64_t{9001}, "port to listen on (0: any free port)");
  cli.example("broadcast --port 9001");
  if (int rc = cli.parse(argc, argv); rc >= 0) return rc;
  if (port < 0 || port > 65535) {
    fmt::print(stderr, "broadcast: --port is 0 to 65535\n");
    return 2;
  }

  App app({.host = "127.0.0.1", .port = static_cast<uint16_t>(port)});
  app.ws<Member>("/room/:name", {
      .on_upgrade = [](Request& req, Upgrade<Member>& up) { up.accept(Member{std::string(req.param("name"))}); },
      .on_open = [](WebSocket<Member>& ws) { ws.subscribe(ws.data().room); },
      // To every member; ws.publish(room, message, op) would skip the sender.
      .on_message = [&app](WebSocket<Member>& ws, std::string_view message, OpCode op) {
        app.publish(ws.data().room, message, op);
      },
      // A member with more than max_backpressure bytes queued is closed with 1008 (app.room_options()
      // can skip it instead), so a client that never reads costs bounded memory.
      .limits = {.max_message_size = 16 << 10, .max_backpressure = 1 << 20},
  });
  return app.run();
}
