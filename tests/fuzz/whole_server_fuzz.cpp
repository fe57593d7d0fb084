// libFuzzer target for the whole server: bytes go through the real connection state machine — the
// loop's flow control and closing, HTTP request parsing (pipelined, chunked bodies), the upgrade and
// its permessage-deflate negotiation, WebSocket frames, the application's callbacks and rooms — with
// the sockets replaced by a ScriptedLoop (tests/support/scripted_loop.hpp): no network, one shard,
// output taken as sent and dropped. As uWebSockets' targets mock the syscalls, the input is a script
// of socket events, one per loop iteration:
//
//   byte  b: op = b & 7, peer = (b >> 3) % peers
//   op 0     a client connects (at most 16)
//   op 1     lo hi, then that many bytes: the peer sends them (a u16, little-endian)
//   op 2     the peer sends FIN
//   op 3     the peer's connection is reset
//   op 4 / 5 the peer stops / starts reading what the server sends
//   op 6     the peer sends the rest of the input
//   op 7     the peer sends the next byte alone
//
// After the script the connections still open are reset; then nothing may be left: no connection,
// no queued output, no WebSocket and no byte of a message in progress (each checked, else abort).
// The app: / and POST /body (HTTP), /echo (echo, deflate with context takeover), /room/:name (joins
// NAME, publishes what it gets), /auth (pending authentication until the message "token").
// tests/fuzz/make_whole_server_corpus.py writes the seeds, from the hostile-input regression tests.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <ringcast/ws/app.hpp>
#include <ringcast/ws/detail/app_internals.hpp>
#include "tests/support/scripted_loop.hpp"

using namespace ringcast;
using ringcast::test::ScriptedLoop;

namespace {

constexpr size_t kMaxPeers = 16;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "whole_server_fuzz: %s\n", what);
    std::abort();
  }
}

struct Member {
  std::string room;
};
struct Client {};

// One app for the whole fuzzing run (started once: a start costs a shard thread).
class Harness {
 public:
  Harness() : app_(options()) {
    app_.get("/", [](Request&, Response& res) { res.send("ringcast"); });
    app_.post("/body", [](Request& req, Response& res) { res.send(req.body()); }, 64 << 10);
    const WebSocketLimits limits{.max_message_size = 64 << 10, .max_backpressure = 128 << 10};
    const DeflateOptions deflate{.enabled = true, .threshold = 64, .client_context_takeover = ClientContextTakeover::allow};
    app_.ws<Client>("/echo", {
        .on_message = [](WebSocket<Client>& ws, std::string_view m, OpCode op) { ws.send(m, op, true); },
        .limits = limits,
        .compression = deflate,
    });
    app_.ws<Member>("/room/:name", {
        .on_upgrade = [](Request& req, Upgrade<Member>& up) { up.accept(Member{std::string(req.param("name"))}); },
        .on_open = [](WebSocket<Member>& ws) { ws.subscribe(ws.data().room); },
        .on_message = [](WebSocket<Member>& ws, std::string_view m, OpCode op) { ws.publish(ws.data().room, m, op); },
        .limits = limits,
        .compression = DeflateOptions{.enabled = true, .threshold = 64},
    });
    app_.ws<Client>("/auth", {
        .on_upgrade = [](Request&, Upgrade<Client>& up) { up.accept_pending_auth(); },
        .on_message = [](WebSocket<Client>& ws, std::string_view m, OpCode op) {
          if (!ws.authenticated()) {
            if (m == "token") ws.authenticate();
            ws.subscribe("after-auth");
            return;
          }
          ws.send(m, op);
        },
        .limits = limits,
    });
    app_.start();
  }

  void run(const uint8_t* data, size_t size) {
    size_t at = 0;
    scripted_.run([data, size, at](ScriptedLoop& loop) mutable { return step(loop, data, size, at); });
    const NetStats& net = scripted_.loop().stats();
    check(net.connections_open.get() == 0, "a connection record outlived its script");
    check(net.output_bytes_queued.get() == 0, "output still counted as queued");
    check(detail::AppInternals::open_web_sockets(app_, 0) == 0, "a WebSocket still counted open");
    check(detail::AppInternals::partial_message_bytes(app_, 0) == 0, "bytes of a message in progress still counted");
  }

 private:
  AppOptions options() {
    return AppOptions{.host = "127.0.0.1", .port = 0, .shards = {.count = 1, .pin = false}, .loop = scripted_.loop_options()};
  }

  // One event of the script; false at its end.
  static bool step(ScriptedLoop& loop, const uint8_t* data, size_t size, size_t& at) {
    if (at >= size) return false;
    const uint8_t b = data[at++];
    const unsigned op = b & 7;
    if (op == 0 || loop.peers() == 0) {
      if (loop.peers() < kMaxPeers) loop.connect();
      if (op == 0 || loop.peers() == 0) return true;
    }
    const size_t peer = (b >> 3) % loop.peers();
    auto bytes = [&](size_t n) {
      n = std::min(n, size - at);
      const std::string_view s(reinterpret_cast<const char*>(data + at), n);
      at += n;
      return s;
    };
    switch (op) {
      case 1: {
        size_t n = 0;
        if (at + 2 <= size) n = data[at] | (size_t{data[at + 1]} << 8);
        at = std::min(at + 2, size);
        loop.send(peer, bytes(n));
        break;
      }
      case 2: loop.finish(peer); break;
      case 3: loop.reset(peer); break;
      case 4: loop.set_reading(peer, false); break;
      case 5: loop.set_reading(peer, true); break;
      case 6: loop.send(peer, bytes(size)); break;
      default: loop.send(peer, bytes(1)); break;
    }
    return true;
  }

  test::ScriptedShard scripted_;
  App app_;  // last: its shard stops before the loop's maker goes
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Harness* harness = new Harness();  // never destroyed: libFuzzer exits without stopping it
  harness->run(data, size);
  return 0;
}
