#pragma once
// TcpServer: a Runtime whose shards each own a Loop and listen on one shared port (SO_REUSEPORT),
// with one ConnectionHandler per shard. The building block of every server program; the WebSocket
// App is one of these with an HTTP handler.
//
//   TcpServer server({.address = SocketAddress::any(9001), .shards = {.count = 2}},
//                    [](Loop& loop) { return std::make_unique<EchoHandler>(loop); });
//   return server.run();  // until SIGINT/SIGTERM
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <ringcast/core/runtime.hpp>
#include <ringcast/net/backend/loop.hpp>
#include <ringcast/net/backend/loop_options.hpp>
#include <ringcast/net/backend/net_stats.hpp>
#include <ringcast/net/connection.hpp>
#include <ringcast/net/socket_address.hpp>

namespace ringcast {

struct TcpServerOptions {
  SocketAddress address = SocketAddress::any(9001);  // port 0: pick a free port (see port())
  ShardOptions shards;                               // how many, pinned or not, drain time (runtime.hpp)
  LoopOptions loop;
  // With loop.tls set, the start-up line says "listening on SCHEME://ADDRESS:PORT".
  const char* tls_scheme = "tls";
  // Runs on each shard after its handler exists and it listens (apps set up per-shard state here).
  std::function<void(Shard&)> on_shard_start;
  // RuntimeOptions::on_terminate: what the first SIGTERM starts instead of a stop (App: its drain).
  std::function<void()> on_terminate;
};

class TcpServer {
 public:
  // Makes the handler of one shard, on that shard's thread.
  using HandlerFactory = std::function<std::unique_ptr<ConnectionHandler>(Loop&)>;

  TcpServer(TcpServerOptions options, HandlerFactory make_handler);
  ~TcpServer();
  TcpServer(const TcpServer&) = delete;
  TcpServer& operator=(const TcpServer&) = delete;

  // Binds, starts every shard, and returns once all of them listen (at once when started already).
  // Throws on failure.
  void start();
  // start(), then serve until SIGINT/SIGTERM; returns 0 after a graceful stop. With TLS, SIGHUP
  // reloads the certificates (reload_tls).
  int run();
  // TLS: reads the certificate and key files again (renewed certificates). A pair that does not load
  // is refused — logged, and said in `error`, with the file and OpenSSL's reason — and the current one
  // stays. Otherwise each shard accepts with the new pair from its next iteration on; connections
  // already accepted keep theirs. Any thread but a shard's; once started, returns when every running
  // shard has switched (or after a second). False without TLS.
  bool reload_tls(std::string& error);
  void stop() noexcept { runtime_->stop(); }
  void join();
  // The calling shard's thread only: closes its listener on the server's port (SO_REUSEPORT: the
  // kernel sends new connections to the shards that still listen, and refuses them once none does;
  // those waiting in this listener's accept queue are reset). Open connections stay.
  void stop_accepting();

  uint16_t port() const noexcept { return bound_.port(); }
  const SocketAddress& address() const noexcept { return bound_; }
  Runtime& runtime() noexcept { return *runtime_; }
  // The loop of shard i; other threads may only read its stats().
  Loop& loop(unsigned shard) noexcept { return static_cast<Loop&>(runtime_->shard(shard).driver()); }
  // Shard i's network counters (any thread; they outlive the shard's loop).
  const NetStats& net_stats(unsigned shard) const noexcept { return stats_[shard]; }
  // A NetStats counter summed over every shard (any thread).
  uint64_t total(Counter NetStats::*counter) const noexcept;

 private:
  void bind();

  TcpServerOptions options_;
  HandlerFactory make_handler_;
  SocketAddress bound_;
  int reserved_fd_ = -1;
  bool started_ = false;
  std::unique_ptr<NetStats[]> stats_;                      // per shard; the loops count into them
  std::vector<std::unique_ptr<ConnectionHandler>> handlers_;  // outlive the loops (declared first)
  std::vector<int> listeners_;                                // per shard: its listener id on its loop
  std::mutex tls_mutex_;  // reloads only: one at a time
  std::unique_ptr<Runtime> runtime_;
};

}  // namespace ringcast
