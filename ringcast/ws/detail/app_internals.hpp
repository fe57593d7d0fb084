#pragma once
// AppInternals: the net-layer TcpServer beneath an App, for tests that look below the public API (the
// network counters of every shard, a task run on a chosen shard). Applications use App alone.
#include <ringcast/net/tcp_server.hpp>
#include <ringcast/ws/app.hpp>

namespace ringcast::detail {

struct AppInternals {
  // The app's server: exists once start() or run() was called. The controlling thread; any thread
  // once the app has started (TcpServer says which of its parts which thread may use).
  static TcpServer& server(App& app) noexcept { return *app.server_; }
  // Shard `shard`'s open WebSockets and the bytes its messages in progress hold, as /metrics counts
  // them without formatting it (the whole-server fuzz target checks both after every input).
  static uint64_t open_web_sockets(const App& app, unsigned shard) noexcept {
    uint64_t open = 0;
    for (const auto& route : app.ws_routes_) open += route->per_shard[shard]->stats().open.get();
    return open;
  }
  static uint64_t partial_message_bytes(const App& app, unsigned shard) noexcept { return app.budgets_[shard]->held.get(); }
};

}  // namespace ringcast::detail
