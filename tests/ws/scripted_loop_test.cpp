// The seam the whole-server fuzz target drives (tests/support/scripted_loop.hpp): an App on a
// ScriptedLoop serves scripted connections with its real HTTP server, upgrades, WebSockets and rooms,
// so what the fuzzer feeds reaches the application — and what the server answers is what it would
// have written to a socket.
#include <doctest/doctest.h>

#include <random>
#include <string>

#include <ringcast/ws/app.hpp>
#include "tests/support/raw_ws_client.hpp"
#include "tests/support/scripted_loop.hpp"

using namespace ringcast;
using namespace ringcast::test;

namespace {

struct Member {
  std::string room;
};

// An App of one shard on a ScriptedLoop: /echo echoes, /room/:name joins NAME and publishes to it.
class ScriptedApp {
 public:
  ScriptedApp() : app_(options()) {
    app_.ws<Member>("/echo", {.on_message = [](WebSocket<Member>& ws, std::string_view m, OpCode op) { ws.send(m, op); }});
    app_.ws<Member>("/room/:name", {
        .on_upgrade = [](Request& req, Upgrade<Member>& up) { up.accept(Member{std::string(req.param("name"))}); },
        .on_open = [](WebSocket<Member>& ws) { ws.subscribe(ws.data().room); },
        .on_message = [](WebSocket<Member>& ws, std::string_view m, OpCode op) { ws.publish(ws.data().room, m, op); },
    });
    app_.start();
  }
  void run(std::function<bool(ScriptedLoop&)> step) { scripted_.run(std::move(step)); }
  std::string metrics() const { return app_.metrics(); }

 private:
  AppOptions options() {
    return AppOptions{.host = "127.0.0.1", .port = 0, .shards = {.count = 1, .pin = false}, .loop = scripted_.loop_options()};
  }
  ScriptedShard scripted_;
  App app_;
};

std::string upgrade(std::string_view path) {
  return "GET " + std::string(path) +
         " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
}

std::string masked_text(std::string_view payload) {
  std::mt19937 rng(1);
  return encode_frame({.opcode = op::kText, .payload = payload}, rng);
}

// The last frame of `out`, a server's unmasked text frame of under 126 bytes.
std::string last_text(const std::string& out, size_t size) {
  if (out.size() < size + 2) return {};
  const std::string frame = out.substr(out.size() - size - 2);
  return frame[0] == '\x81' && static_cast<size_t>(frame[1]) == size ? frame.substr(2) : std::string();
}

}  // namespace

TEST_CASE("scripted loop: an upgrade and a message reach the application, and the echo is what a socket would carry") {
  ScriptedApp app;
  std::string out;
  int step = 0;
  app.run([&](ScriptedLoop& loop) {
    switch (step++) {
      case 0: return loop.connect(true);
      case 1: loop.send(0, upgrade("/echo") + masked_text("hello")); return true;
      default: out = loop.output(0); return false;  // then the connection is reset
    }
  });
  CHECK(out.rfind("HTTP/1.1 101 Switching Protocols\r\n", 0) == 0);
  CHECK(last_text(out, 5) == "hello");
  // Reset at the script's end: nothing is left open or queued.
  CHECK(app.metrics().find("ringcast_websockets{shard=\"0\"} 0\n") != std::string::npos);
  CHECK(app.metrics().find("ringcast_output_queued_bytes{shard=\"0\"} 0\n") != std::string::npos);
}

TEST_CASE("scripted loop: a member that does not read gets a room's message once it reads again") {
  ScriptedApp app;
  std::string publisher, reader;
  int step = 0;
  app.run([&](ScriptedLoop& loop) {
    switch (step++) {
      case 0: return loop.connect(true);
      case 1: return loop.connect(true);
      case 2: loop.send(0, upgrade("/room/a")); return true;
      case 3: loop.send(1, upgrade("/room/a")); return true;
      case 4: loop.set_reading(1, false); return true;
      case 5: loop.send(0, masked_text("to everyone")); return true;
      case 6: reader = loop.output(1); loop.set_reading(1, true); return true;
      default:
        CHECK(last_text(reader, 11).empty());  // held back while the member did not read
        publisher = loop.output(0);
        reader = loop.output(1);
        return false;
    }
  });
  CHECK(last_text(publisher, 11).empty());  // ws.publish skips its sender
  CHECK(last_text(reader, 11) == "to everyone");
}
