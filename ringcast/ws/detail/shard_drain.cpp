#include <ringcast/ws/detail/shard_drain.hpp>

#include <algorithm>
#include <utility>

#include <ringcast/net/http/http_server.hpp>
#include <ringcast/net/tcp_server.hpp>
#include <ringcast/ws/detail/web_socket_context.hpp>

namespace ringcast {
namespace {

constexpr uint64_t kWatchMs = 10;  // once every socket has its Close frame: how often to look for the end

}  // namespace

void ShardDrain::start(const DrainOptions& options, TcpServer& server, HttpServerHandler& http,
                       std::vector<WebSocketContext*> contexts, std::function<void()> done) {
  if (started_) return;
  started_ = true;
  options_ = options;
  http_ = &http;
  contexts_ = std::move(contexts);
  done_ = std::move(done);
  start_ms_ = loop_.shard().now_ms();
  server.stop_accepting();
  http.drain();
  loop_.for_each_connection([this](Connection& c) {
    if (websocket(c)) sockets_.push_back(loop_.handle(c));
  });
  step();
}

void ShardDrain::cancel() noexcept {
  loop_.timers().cancel(tick_);
  finished_ = true;
}

void ShardDrain::on_tick(Timer& t) { static_cast<Tick&>(t).self->step(); }

bool ShardDrain::websocket(const Connection& c) const noexcept {
  return std::find(contexts_.begin(), contexts_.end(), c.handler) != contexts_.end();
}

bool ShardDrain::ours(const Connection& c) const noexcept {
  return c.handler == static_cast<const ConnectionHandler*>(http_) || websocket(c);
}

void ShardDrain::step() {
  if (finished_) return;
  const uint64_t now = loop_.shard().now_ms();
  const uint64_t elapsed = now - start_ms_;
  const uint64_t window = static_cast<uint64_t>(std::max<int64_t>(options_.window.count(), 0));
  const size_t n = sockets_.size();
  // The k-th of n is due at window·(k + phase)/n, the phase (shard + ½)/shards: each shard spreads its
  // own evenly, and the shards' schedules interleave rather than all closing their first at once.
  const double phase = (loop_.shard().id() + 0.5) / loop_.shard().shard_count();
  const auto due_at = [&](size_t k) { return static_cast<double>(window) * (static_cast<double>(k) + phase) / static_cast<double>(n); };
  size_t due = next_close_;
  if (window == 0 || elapsed >= window) {
    due = n;
  } else {
    while (due < n && due_at(due) <= static_cast<double>(elapsed)) ++due;
  }
  for (; next_close_ < due; ++next_close_) {
    Connection* c = loop_.find(sockets_[next_close_]);
    if (c && c->is_open() && websocket(*c)) close(*c);  // else gone by itself meanwhile
  }
  if (next_close_ == n && !connections_left()) {
    finish();
    return;
  }
  if (elapsed >= window + static_cast<uint64_t>(std::max<int64_t>(options_.grace.count(), 0))) {
    cut();
    finish();
    return;
  }
  uint64_t wait = kWatchMs;
  if (next_close_ < n) {
    const uint64_t next_due = start_ms_ + static_cast<uint64_t>(due_at(next_close_));
    wait = std::clamp<uint64_t>(next_due > now ? next_due - now : 1, 1, kWatchMs);
  }
  loop_.timers().schedule_in(tick_, wait);
}

bool ShardDrain::connections_left() {
  // Sockets are released about in the order they were closed: a cursor over the released ones costs
  // each look O(1) but for the sockets it passes.
  while (next_gone_ < sockets_.size() && !loop_.find(sockets_[next_gone_])) ++next_gone_;
  if (next_gone_ < sockets_.size() || http_->open_connections() > 0) return true;
  // A WebSocket whose upgrade was answered after the drain began (a deferred one) is not in sockets_:
  // it gets its Close frame now.
  bool left = false;
  loop_.for_each_connection([this, &left](Connection& c) {
    if (!websocket(c)) return;
    left = true;
    close(c);
  });
  return left;
}

void ShardDrain::close(Connection& c) {
  if (static_cast<WebSocketContext*>(c.handler)->go_away(c, options_.close_code, "server shutting down")) stats_.closed.add();
}

void ShardDrain::cut() {
  loop_.for_each_connection([this](Connection& c) {
    if (!ours(c)) return;
    stats_.cut.add();
    loop_.abort(c);
  });
}

void ShardDrain::finish() {
  finished_ = true;
  loop_.timers().cancel(tick_);
  if (done_) std::exchange(done_, nullptr)();
}

}  // namespace ringcast
