// publish_from_thread: a thread of the program's own (a market feed, a game clock, a queue's
// consumer) publishes into a room; members on every shard get it. Clients open /ticks and receive
// "tick N" ten times a second.
//
//   build/examples/publish_from_thread --port 9001
//   build/examples/client --url ws://127.0.0.1:9001/ticks  # prints the first tick it gets
//
// The lesson: app.publish is safe from any thread (the message goes to the room's home shard, which
// fans it out; one thread's messages to one room keep their order), and it returns false, sending
// nothing, before the app starts and after it stops. Sockets belong to their shard: reach them
// through a room, never directly from another thread.
#include <fmt/core.h>
#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <thread>

#include <ringcast/core/cli.hpp>
#include <ringcast/ws/app.hpp>

using namespace ringcast;

struct Viewer {};

int main(int argc, char** argv) {
  Cli cli("publish_from_thread", "a thread of the program's own publishes \"tick N\" to every client of /ticks");
  auto& port = cli.flag("port", int64_t{9001}, "port to listen on (0: any free port)");
  auto& interval_ms = cli.flag("interval-ms", int64_t{100}, "milliseconds between ticks");
  cli.example("publish_from_thread --port 9001 --interval-ms 1000");
  if (int rc = cli.parse(argc, argv); rc >= 0) return rc;
  if (port < 0 || port > 65535 || interval_ms <= 0) {
    fmt::print(stderr, "publish_from_thread: --port is 0 to 65535, --interval-ms above 0\n");
    return 2;
  }

  App app({.host = "127.0.0.1", .port = static_cast<uint16_t>(port)});
  app.ws<Viewer>("/ticks", {.on_open = [](WebSocket<Viewer>& ws) { ws.subscribe("ticks"); }});

  // run() takes SIGINT and SIGTERM through a signalfd, so no other thread may receive them: block
  // them here, and the thread started below inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  std::jthread ticker([&app, interval = std::chrono::milliseconds(interval_ms)](std::stop_token stop) {
    for (uint64_t n = 1; !stop.stop_requested(); ++n) {
      app.publish("ticks", fmt::format("tick {}", n));  // false (nothing sent) before start, after stop
      std::this_thread::sleep_for(interval);
    }
  });
  return app.run();  // then the ticker is asked to stop and joined, before the app goes
}
