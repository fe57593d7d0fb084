#pragma once
// EchoServer: an App in the test's process that echoes every message on any path, as ringcast-echo does,
// on two shards and the backend under test — what the conformance suite and the hostile-input tests
// talk to. It records what the application saw: every on_close (code, reason) and how many times
// on_open and on_message ran, so a test can prove that no callback ran for a message that had to fail,
// or that a refused upgrade opened nothing. A test that
// needs other limits tunes the route and the App before they start (EchoSetup).
#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <ringcast/ws/app.hpp>
#include "tests/support/net_test_support.hpp"
#include "tests/support/test_support.hpp"

namespace ringcast::test {

// The same behaviour as ringcast-echo: every message comes back as it came, up to 16 MiB.
inline constexpr size_t kEchoMaxMessage = 16 << 20;

struct EchoPeer {};

// Changes made to the route's behaviour and the App's options before the server starts.
struct EchoSetup {
  std::function<void(WebSocketBehavior<EchoPeer>&)> route;
  std::function<void(AppOptions&)> app;
};

class EchoServer {
 public:
  using Peer = EchoPeer;

  // `compression`: the route's permessage-deflate options (off by default); `compress_replies`: the
  // echoes are sent with send(..., compress = true), so they are compressed when the extension was
  // agreed and the message reaches the threshold.
  explicit EchoServer(size_t max_message = kEchoMaxMessage, DeflateOptions compression = DeflateOptions{.enabled = false},
                      bool compress_replies = false, const EchoSetup& setup = {})
      : app_(app_options(setup)) {
    WebSocketBehavior<Peer> behavior{
        .on_open = [this](WebSocket<Peer>&) { opens_.fetch_add(1); },
        .on_message = [this, compress_replies](WebSocket<Peer>& ws, std::string_view message, OpCode op) {
          messages_.fetch_add(1);
          ws.send(message, op, compress_replies);
        },
        .on_close = [this](WebSocket<Peer>&, int code, std::string_view reason) { record_close(code, reason); },
        // The cases send up to 16 MiB back to back: no inflate budget (the budgets have tests of their own).
        .limits = {.max_message_size = max_message, .max_backpressure = max_message + (1 << 20), .max_inflate_rate = 0},
        .compression = compression,
    };
    if (setup.route) setup.route(behavior);
    app_.ws<Peer>("/*", std::move(behavior));
    app_.start();
  }
  ~EchoServer() {
    app_.stop();
    app_.join();
  }
  EchoServer(const EchoServer&) = delete;
  EchoServer& operator=(const EchoServer&) = delete;

  uint16_t port() const { return app_.port(); }
  App& app() { return app_; }
  // Starts a graceful stop (every WebSocket gets a close frame 1001); the destructor joins.
  void stop() { app_.stop(); }

  // How many times on_open and on_message ran (any shard).
  size_t opens() const { return opens_.load(); }
  size_t messages() const { return messages_.load(); }
  // The codes and reasons on_close reported, in the order connections closed (any shard).
  std::vector<int> close_codes() {
    std::lock_guard lock(mutex_);
    return codes_;
  }
  std::vector<std::string> close_reasons() {
    std::lock_guard lock(mutex_);
    return reasons_;
  }
  // Waits until `n` connections have closed on the server side.
  bool wait_closes(size_t n, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    return eventually([&] { return closed_.load() >= n; }, limit);
  }
  // A figure of /metrics (without the "ringcast_" prefix), summed over the shards.
  uint64_t metric(std::string_view name) const {
    uint64_t sum = 0;
    for (uint64_t v : metric_by_shard(app_.metrics(), name)) sum += v;
    return sum;
  }

 private:
  static AppOptions app_options(const EchoSetup& setup) {
    AppOptions o{.host = "127.0.0.1", .port = 0, .shards = {.count = 2}, .loop = loop_options()};
    if (setup.app) setup.app(o);
    return o;
  }

  void record_close(int code, std::string_view reason) {
    std::lock_guard lock(mutex_);
    codes_.push_back(code);
    reasons_.emplace_back(reason);
    closed_.fetch_add(1);
  }

  std::atomic<size_t> opens_{0};
  std::atomic<size_t> messages_{0};
  std::mutex mutex_;
  std::vector<int> codes_;
  std::vector<std::string> reasons_;
  std::atomic<size_t> closed_{0};
  App app_;  // last: its shards stop before the record above goes
};

}  // namespace ringcast::test
