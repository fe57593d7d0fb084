// uWebSockets peer server: the bench protocol (bench/peers/README.md) on uWS::App.
//
//   GET /health      plain HTTP, answers "ok"
//   GET /room/NAME   WebSocket; every message a member sends goes to every member of NAME, sender
//                    included, same opcode, in the order the server received them
//   GET /any/other   WebSocket echo, same opcode
//
//   uws_server [--port P] [--threads N] [--deflate]
//     --port P      TCP port on 0.0.0.0 (default 9001; 0 picks a free one)
//     --threads N   N threads, each an App with its own loop on the port (SO_REUSEPORT: the kernel
//                   spreads connections), uWebSockets' way to use several cores (default 1). Echo
//                   only: a topic lives in one App, so with N > 1 a room request is refused with 501
//                   rather than served by a room that misses the other threads' members
//     --deflate     negotiate permessage-deflate (shared compressor; default off)
//   example: uws_server --port 9001
//
// Prints "listening on PORT" once every thread accepts; SIGINT/SIGTERM exit 0.
//
// Written as uWebSockets' own examples recommend: rooms are topics (subscribe in open(), which runs
// right after the handshake response is written; App::publish reaches every subscriber, the sender
// included, with the frame encoded once), and backpressure is uWebSockets' own: a member with more
// than kMaxBufferedBytes unsent is closed (maxBackpressure + closeOnBackpressureLimit).

#include "App.h"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <latch>
#include <string>
#include <string_view>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

constexpr unsigned kMaxMessageBytes = 16u << 20;
constexpr unsigned kMaxBufferedBytes = 16u << 20;
constexpr std::string_view kRoomPrefix = "/room/";

struct Options {
  int port = 9001;
  int threads = 1;
  bool deflate = false;
};

struct Member {
  std::string room;  // empty: an echo connection
};

void usage(std::FILE* to) {
  std::fputs("usage: uws_server [--port P] [--threads N] [--deflate]\n"
             "  --port P      TCP port on 0.0.0.0 (default 9001; 0 picks a free one)\n"
             "  --threads N   N threads with a loop each on the port, echo only (default 1)\n"
             "  --deflate     negotiate permessage-deflate (default off)\n",
             to);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    bool has_value = i + 1 < argc;
    if (a == "--port" && has_value) {
      o.port = std::atoi(argv[++i]);
    } else if (a == "--threads" && has_value) {
      o.threads = std::atoi(argv[++i]);
    } else if (a == "--deflate") {
      o.deflate = true;
    } else if (a == "-h" || a == "--help") {
      usage(stdout);
      std::exit(0);
    } else {
      usage(stderr);
      std::exit(2);
    }
  }
  if (o.port < 0 || o.port > 65535 || o.threads < 1 || o.threads > 64) {
    usage(stderr);
    std::exit(2);
  }
  return o;
}

// Runs one App on `port` until the process ends; `port` 0 picks one and reports it through `bound`.
void serve(const Options& o, int port, int* bound, std::latch& listening) {
  uWS::App app;
  uWS::App* self = &app;
  bool rooms = o.threads == 1;
  app.get("/health", [](auto* res, auto*) { res->end("ok"); })
      .ws<Member>("/*", {
          .compression = o.deflate ? uWS::SHARED_COMPRESSOR : uWS::DISABLED,
          .maxPayloadLength = kMaxMessageBytes,
          .maxBackpressure = kMaxBufferedBytes,
          .closeOnBackpressureLimit = true,
          .upgrade =
              [rooms](auto* res, auto* req, auto* context) {
                std::string_view url = req->getUrl();
                std::string room;
                if (url.starts_with(kRoomPrefix)) {
                  if (!rooms) {
                    res->writeStatus("501 Not Implemented")
                        ->end("rooms need --threads 1: a topic lives in one App\n");
                    return;
                  }
                  room = url.substr(kRoomPrefix.size());
                }
                res->template upgrade<Member>({std::move(room)}, req->getHeader("sec-websocket-key"),
                                              req->getHeader("sec-websocket-protocol"),
                                              req->getHeader("sec-websocket-extensions"), context);
              },
          .open =
              [](auto* ws) {
                Member* m = ws->getUserData();
                if (!m->room.empty()) ws->subscribe(m->room);
              },
          .message =
              [self](auto* ws, std::string_view message, uWS::OpCode op) {
                Member* m = ws->getUserData();
                if (m->room.empty()) {
                  ws->send(message, op, true);
                } else {
                  self->publish(m->room, message, op, true);
                }
              },
      })
      .listen("0.0.0.0", port, [&](auto* socket) {
        if (!socket) {
          std::fprintf(stderr, "uws_server: cannot listen on port %d\n", port);
          std::_Exit(1);
        }
        if (bound) *bound = us_socket_local_port(0, reinterpret_cast<us_socket_t*>(socket));
        listening.count_down();
      })
      .run();
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  // The loops never return on their own: a signal ends the process, which is all a peer needs.
  std::signal(SIGINT, [](int) { _exit(0); });
  std::signal(SIGTERM, [](int) { _exit(0); });

  // The first App binds (port 0 picks one); the others join its port.
  int port = o.port;
  std::latch first(1);
  std::vector<std::thread> threads;
  threads.emplace_back([&] { serve(o, o.port, &port, first); });
  first.wait();
  std::latch others(o.threads - 1);
  for (int i = 1; i < o.threads; ++i) threads.emplace_back([&] { serve(o, port, nullptr, others); });
  others.wait();
  std::printf("listening on %d\n", port);
  std::fflush(stdout);
  for (auto& t : threads) t.join();
}
