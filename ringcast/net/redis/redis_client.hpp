#pragma once
// RedisClient: one RESP2 connection to a Redis server on a shard's Loop, which comes back by itself.
// Commands are written straight into the connection's output queue (RespWriter), so everything sent
// in one loop iteration leaves in one send: commands are pipelined and batched without asking.
// Replies are parsed in place (RespParser) and handed to `on_reply` in order.
//
// When the connection fails or Redis goes away the client reconnects with exponential backoff
// (min_backoff doubling up to max_backoff, with jitter), and tells its owner with on_disconnected /
// on_connected so that the owner can restore its state (resubscribe) — commands cannot be written
// while it is down (connection() is null): the owner decides what to drop and counts it. Nothing here
// blocks: connecting is the loop's non-blocking connect, and the address is numeric.
//
// Owned by one shard and used by its thread only. stop() (or the shard stopping) ends it for good;
// the owner must stop it before destroying it while the loop lives.
#include <chrono>
#include <cstdint>
#include <functional>

#include <ringcast/core/timer_wheel.hpp>
#include <ringcast/net/connection.hpp>
#include <ringcast/net/redis/detail/resp_parser.hpp>
#include <ringcast/net/socket_address.hpp>

namespace ringcast {

class Loop;

struct RedisClientOptions {
  SocketAddress address;
  std::chrono::milliseconds min_backoff{50};
  std::chrono::milliseconds max_backoff{2000};
  const char* name = "redis";  // in log lines: which connection this is
};

class RedisClient final : public ConnectionHandler {
 public:
  struct Events {
    std::function<void()> on_connected;                                 // (re)connected: restore state
    std::function<void(const RespParser&, const RespValue&)> on_reply;  // one reply, in order
    std::function<void(int error)> on_disconnected;                     // lost (-errno or 0)
  };

  RedisClient(Loop& loop, RedisClientOptions options, Events events);
  ~RedisClient() override;
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Connects (and keeps reconnecting until stop()).
  void start();
  // Closes the connection and stops reconnecting; harmless twice.
  void stop();

  // The open connection to write commands to, or nullptr while down.
  Connection* connection() const noexcept { return up_ ? conn_ : nullptr; }
  Loop& loop() noexcept { return loop_; }
  // Bytes written and not yet handed to the kernel.
  size_t buffered() const noexcept;
  uint64_t reconnects() const noexcept { return reconnects_; }
  const RedisClientOptions& options() const noexcept { return options_; }

  // ---- ConnectionHandler ----
  void on_open(Connection& c) override;
  size_t on_data(Connection& c, std::span<uint8_t> data) override;
  void on_shutdown(Connection& c) override;
  void on_close(Connection& c, int error) override;

 private:
  struct RetryTimer : Timer {
    explicit RetryTimer(RedisClient* client) noexcept : Timer(&fire), self(client) {}
    static void fire(Timer& t) { static_cast<RetryTimer&>(t).self->connect(); }
    RedisClient* self;
  };

  void connect();
  void schedule_retry();

  Loop& loop_;
  const RedisClientOptions options_;
  Events events_;
  RetryTimer retry_{this};
  RespParser parser_;
  Connection* conn_ = nullptr;   // connecting or open
  bool up_ = false;              // connected
  bool stopped_ = true;          // before start() and after stop()
  bool ever_up_ = false;
  unsigned attempts_ = 0;        // failed attempts since the last success
  uint64_t down_since_ms_ = 0;
  uint64_t reconnects_ = 0;
  uint32_t jitter_ = 0x9e3779b9;
};

}  // namespace ringcast
