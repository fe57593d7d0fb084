#pragma once
// RedisClient: one RESP2 connection to a Redis server on a shard's Loop, which comes back by itself.
// Commands are written straight into the connection's output queue (RespWriter), so everything sent
// in one loop iteration leaves in one send: commands are pipelined and batched without asking.
// Replies are parsed in place (RespParser, incremental and bounded) and handed to `on_reply` in order.
//
// Coming up: TCP connect, then the TLS handshake when `tls` is set (the server's certificate checked
// against `server_name`), then AUTH when a user or password is set; only then is the connection up
// (connection() non-null, on_connected). A step that fails, or does not finish within
// connect_timeout, ends the attempt (on_connect_failed); a refused AUTH is logged with Redis' reason
// and the user's name, never the password. Attempts are repeated with exponential backoff
// (min_backoff doubling up to max_backoff, with jitter) until one succeeds or stop().
//
// Once up, a lost connection (the server went away, or sent bytes that are not RESP2 or break the
// parser's limits: counted in protocol_errors) tells the owner with on_disconnected and reconnects,
// so that the owner can restore its state (resubscribe). Commands cannot be written while it is
// down (connection() is null): the owner decides what to drop and counts it. Nothing here blocks:
// connecting is the loop's non-blocking connect, and the address is numeric.
//
// Owned by one shard and used by its thread only. stop() (or the shard stopping) ends it for good;
// the owner must stop it before destroying it while the loop lives, and must not destroy it from
// inside one of its callbacks.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <ringcast/core/timer_wheel.hpp>
#include <ringcast/net/connection.hpp>
#include <ringcast/net/redis/detail/resp_parser.hpp>
#include <ringcast/net/socket_address.hpp>
#include <ringcast/net/tls/tls_context.hpp>

namespace ringcast {

class Loop;
struct RedisEndpoint;

struct RedisClientOptions {
  SocketAddress address;
  std::string user;                       // AUTH [user] password, when either is set
  std::string password;
  std::shared_ptr<const TlsContext> tls;  // TLS when set (a client context)
  std::string server_name;                // TLS: sent as SNI, and the name the certificate must carry
  RespParser::Limits limits;              // on replies; a reply beyond them drops the connection
  std::chrono::milliseconds connect_timeout{2000};  // TCP + TLS + AUTH
  std::chrono::milliseconds min_backoff{50};
  std::chrono::milliseconds max_backoff{2000};
  const char* name = "redis";  // in log lines: which connection this is

  // The address, credentials and TLS settings of `endpoint`.
  static RedisClientOptions from(const RedisEndpoint& endpoint, const char* name);
};

class RedisClient final : public ConnectionHandler {
 public:
  struct Events {
    std::function<void()> on_connected;                                 // (re)connected: restore state
    std::function<void(const RespParser&, const RespValue&)> on_reply;  // one reply, in order
    std::function<void(int error)> on_disconnected;                     // was up, lost (-errno or 0)
    std::function<void(int error)> on_connect_failed;                   // an attempt failed (-errno)
  };

  RedisClient(Loop& loop, RedisClientOptions options, Events events);
  ~RedisClient() override;
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Connects (and keeps reconnecting until stop()).
  void start();
  // Closes the connection and stops reconnecting; harmless twice.
  void stop();
  // Drops the connection now (a reply never came, say) and reconnects after the backoff.
  void abort(int error);

  // The open connection to write commands to, or nullptr while down.
  Connection* connection() const noexcept { return up_ ? conn_ : nullptr; }
  bool up() const noexcept { return up_; }
  Loop& loop() noexcept { return loop_; }
  // Bytes written and not yet handed to the kernel.
  size_t buffered() const noexcept;
  uint64_t reconnects() const noexcept { return reconnects_; }
  uint64_t protocol_errors() const noexcept { return protocol_errors_; }
  uint64_t auth_failures() const noexcept { return auth_failures_; }
  const RedisClientOptions& options() const noexcept { return options_; }
  // "name address", for log lines.
  std::string describe() const;

  // ---- ConnectionHandler ----
  void on_open(Connection& c) override;
  size_t on_data(Connection& c, std::span<uint8_t> data) override;
  void on_shutdown(Connection& c) override;
  void on_close(Connection& c, int error) override;

 private:
  struct ClientTimer : Timer {
    ClientTimer(RedisClient* client, Callback cb) noexcept : Timer(cb), self(client) {}
    RedisClient* self;
  };
  static void on_retry(Timer& t) { static_cast<ClientTimer&>(t).self->connect(); }
  static void on_connect_timeout(Timer& t);

  void connect();
  void schedule_retry();
  void became_up();
  // The first reply after AUTH: true when it let us in.
  bool auth_reply(const RespValue& reply);

  Loop& loop_;
  const RedisClientOptions options_;
  Events events_;
  ClientTimer retry_{this, &on_retry};
  ClientTimer connect_timer_{this, &on_connect_timeout};
  RespParser parser_;
  Connection* conn_ = nullptr;   // connecting or open
  bool up_ = false;              // connected (and logged in)
  bool authenticating_ = false;  // AUTH sent, its reply awaited
  bool stopped_ = true;          // before start() and after stop()
  bool ever_up_ = false;
  bool reported_down_ = false;   // the first failed attempt of an outage was logged
  unsigned attempts_ = 0;        // failed attempts since the last success
  uint64_t down_since_ms_ = 0;
  uint64_t reconnects_ = 0;
  uint64_t protocol_errors_ = 0;
  uint64_t auth_failures_ = 0;
  uint32_t jitter_ = 0x9e3779b9;
};

}  // namespace ringcast
