#pragma once
// ChatServer: ringcast-chat — a multi-room chat over WebSocket, on every core, built on the public
// API only (App, WebSocketBehavior, Rooms, the mesh).
//
// HTTP:       GET /        the page (apps/chat/web/index.html, compiled in; or from --web DIR)
//             POST /login  {"username","password"} → 200 {"otp"} | 401 {"error"} | 400 {"error"}
//                          | 429 {"error"} (too many failures from this address; Retry-After)
//                          | 503 {"error"} (every login thread busy and the queue full; Retry-After: 1)
//             GET /ws?otp= the WebSocket: 401 without a fresh token, 403 from a foreign Origin
//
// Logins: the JSON is read on the shard; the password is hashed (scrypt, about 0.1 s) on a small
// WorkerPool of its own threads, and the answer goes back to the connection's shard (a deferred
// HTTP answer, PendingResponse), so a login never stalls the shard's other connections.
// WebSocket:  JSON {"type","payload"} both ways; see ChatShard (apps/chat/chat_shard.hpp).
//
// Rooms are the library's durable rooms (chat_room_options): one order, history, recovery and
// presence on every shard and, with --broker, on every node. The one shared, locked structures are
// the token store and the login throttle (login and upgrade only).
//
// Threads: construct, start/run, stop and join from one controlling thread. Callbacks run on the
// shards, each with its own ChatShard.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "apps/chat/login_throttle.hpp"
#include "apps/chat/otp_store.hpp"
#include "apps/chat/user_store.hpp"
#include <ringcast/core/worker_pool.hpp>
#include <ringcast/net/http/static_files.hpp>
#include <ringcast/ws/app.hpp>

namespace ringcast::chat {

class ChatShard;

// Messages a joining connection gets when it does not recover from a position. A room keeps more
// (ChatOptions::history), so that a tab away for a while recovers; its replay comes in parts paced by
// the tab's output (Rooms), whose budget is sized for this many.
inline constexpr uint32_t kTail = 50;

struct ChatOptions {
  size_t max_message = 4096;                    // bytes of one WebSocket message; more: close 1009
  // Messages a room keeps (in Redis with a broker, and mirrored by each node): how far back a tab that
  // was away recovers from its position. A fresh join gets the last kTail of them.
  uint32_t history = 1000;
  std::chrono::milliseconds ping_interval{10'000};
  std::chrono::milliseconds pong_timeout{10'000};  // no pong this long after a ping: the connection is dropped
  std::chrono::milliseconds otp_ttl{5'000};
  // Origins allowed to open the WebSocket (e.g. "https://chat.example.com"); empty: the server's own
  // (own_origins). Requests without an Origin header (not from a browser) are let through.
  std::vector<std::string> allowed_origins;
  std::string web_root;  // serve the page from this directory instead of the compiled-in copy
  unsigned login_threads = 1;   // threads that hash passwords (each hash: 32 MiB, about 0.1 s)
  size_t login_queue = 64;      // logins waiting for a thread; beyond: 503
  unsigned login_failures = 10; // failed logins per client address in a burst (0: no limit); then
  std::chrono::milliseconds login_refill{6'000};  // one more attempt per this interval
};

// The origins of a server listening on `host`:`port`: http://localhost:PORT and
// http://127.0.0.1:PORT (and http://[::1]:PORT), plus http://HOST:PORT when HOST is a specific address;
// each also with https:// (the page served over TLS).
std::vector<std::string> own_origins(std::string_view host, uint16_t port);

// The URL to print for a person to open.
std::string page_url(std::string_view host, uint16_t port, bool tls = false);

class ChatServer {
 public:
  // Adds the routes to a new App. Throws std::invalid_argument for a --web root that cannot be opened.
  ChatServer(AppOptions app_options, ChatOptions options, UserStore users);
  ~ChatServer();
  ChatServer(const ChatServer&) = delete;
  ChatServer& operator=(const ChatServer&) = delete;

  // Starts every shard; returns once they listen.
  void start();
  // start(), then serves until SIGINT/SIGTERM (every client gets 1001); returns 0. `on_listening`
  // runs on this thread once the port is known (to print the URL).
  int run(const std::function<void(uint16_t port)>& on_listening = {});
  void stop() noexcept { app_->stop(); }
  void join() { app_->join(); }
  uint16_t port() const noexcept { return app_->port(); }

  // ---- For the shards ----
  ChatShard& shard(unsigned id) noexcept { return *shards_[id]; }
  const ChatOptions& options() const noexcept { return options_; }
  const UserStore& users() const noexcept { return users_; }
  OtpStore& otps() noexcept { return otps_; }
  LoginThrottle& throttle() noexcept { return throttle_; }
  WorkerPool& logins() noexcept { return *logins_; }
  const StaticFiles* web() const noexcept { return web_ ? &*web_ : nullptr; }
  const std::string& host() const noexcept { return host_; }
  App& app() noexcept { return *app_; }
  // Tokens live in Redis (with a broker: every node redeems them) rather than in the OtpStore.
  bool shared_tokens() const noexcept { return shared_tokens_; }
  // Rooms' logs are in Redis too (with a broker), which may refuse a message.
  bool has_broker() const noexcept { return shared_tokens_; }

 private:
  ChatShard& here() noexcept;

  ChatOptions options_;
  UserStore users_;
  OtpStore otps_;
  LoginThrottle throttle_;
  // Stopped first when the server goes: its jobs answer through the shards, which must still exist.
  std::unique_ptr<WorkerPool> logins_;
  std::optional<StaticFiles> web_;
  std::string host_;
  bool shared_tokens_ = false;
  std::vector<std::unique_ptr<ChatShard>> shards_;  // one per shard, made on that shard at start
  std::unique_ptr<App> app_;  // last: its shards end (closing every socket) before the state they use
};

}  // namespace ringcast::chat
