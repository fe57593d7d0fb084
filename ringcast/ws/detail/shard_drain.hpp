#pragma once
// ShardDrain: one shard's part of an App's drain (ringcast/ws/drain_options.hpp). start() closes the
// shard's listener and its idle HTTP keep-alive connections (HttpServerHandler::drain), then closes the
// WebSockets it holds at that moment, the k-th of n at window·(k + phase)/n with a phase of
// (shard + ½)/shards, so the shards together close theirs evenly over the window. `done` runs once, on this shard, when none of the app's connections is left
// here — or at window + grace, after cutting (aborting) those that are.
//
// Threads: the shard's own, from start() on; other threads read stats() only. One timer, re-armed for
// the next close (at least 1 ms apart: several closes share a tick when n is large), then every 10 ms
// until the connections are gone. The WebSockets are named by Loop::Handle, so one that closed by
// itself meanwhile is skipped and never mistaken for a newer connection in its slot.
#include <cstdint>
#include <functional>
#include <vector>

#include <ringcast/core/counter.hpp>
#include <ringcast/core/timer_wheel.hpp>
#include <ringcast/net/backend/loop.hpp>
#include <ringcast/ws/drain_options.hpp>

namespace ringcast {

class HttpServerHandler;
class TcpServer;
class WebSocketContext;

struct DrainStats {
  Counter closed;  // WebSockets sent the drain's Close frame
  Counter cut;     // connections still open at window + grace, aborted
};

class ShardDrain {
 public:
  // Call cancel() before the shard's loop ends (a stop hook): the destructor does not touch the loop.
  ShardDrain(Loop& loop, DrainStats& stats) : loop_(loop), stats_(stats) { tick_.self = this; }
  ShardDrain(const ShardDrain&) = delete;
  ShardDrain& operator=(const ShardDrain&) = delete;

  // `contexts`: the app's WebSocket routes on this shard. A second call does nothing.
  void start(const DrainOptions& options, TcpServer& server, HttpServerHandler& http,
             std::vector<WebSocketContext*> contexts, std::function<void()> done);
  // The shard stops (its loop ends): no more ticks, `done` is not called.
  void cancel() noexcept;
  bool active() const noexcept { return started_; }

 private:
  struct Tick : Timer {
    Tick() : Timer(&ShardDrain::on_tick) {}
    ShardDrain* self = nullptr;
  };
  static void on_tick(Timer& t);
  void step();
  bool ours(const Connection& c) const noexcept;
  bool websocket(const Connection& c) const noexcept;
  bool connections_left();
  void close(Connection& c);  // the drain's Close frame, when c is still open
  void cut();
  void finish();

  Loop& loop_;
  DrainStats& stats_;
  DrainOptions options_;
  HttpServerHandler* http_ = nullptr;
  std::vector<WebSocketContext*> contexts_;
  std::vector<Loop::Handle> sockets_;  // the WebSockets open at start, in the order they are closed
  size_t next_close_ = 0;              // sockets_[next_close_] is the next to close
  size_t next_gone_ = 0;               // sockets_ before this one are released
  uint64_t start_ms_ = 0;
  std::function<void()> done_;
  Tick tick_;
  bool started_ = false;
  bool finished_ = false;
};

}  // namespace ringcast
