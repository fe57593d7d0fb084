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
};

}  // namespace ringcast::detail
