#include "apps/chat/chat_server.hpp"

#include <fmt/format.h>
#include <pthread.h>

#include <csignal>
#include <stdexcept>

#include "apps/chat/chat_shard.hpp"
#include <ringcast/core/runtime.hpp>

namespace ringcast::chat {
namespace {

bool is_wildcard(std::string_view host) { return host.empty() || host == "0.0.0.0" || host == "::"; }

std::string origin_of(std::string_view host, uint16_t port, std::string_view scheme = "http") {
  const bool v6 = host.find(':') != std::string_view::npos;
  return v6 ? fmt::format("{}://[{}]:{}", scheme, host, port) : fmt::format("{}://{}:{}", scheme, host, port);
}

}  // namespace

std::vector<std::string> own_origins(std::string_view host, uint16_t port) {
  std::vector<std::string> out;
  // The page may have come over http:// or https:// (a server started with --tls-cert).
  for (std::string_view scheme : {"http", "https"}) {
    for (std::string_view h : {"localhost", "127.0.0.1", "::1"}) out.push_back(origin_of(h, port, scheme));
    if (!is_wildcard(host) && host != "127.0.0.1" && host != "::1") out.push_back(origin_of(host, port, scheme));
  }
  return out;
}

std::string page_url(std::string_view host, uint16_t port, bool tls) {
  return origin_of(is_wildcard(host) ? std::string_view("127.0.0.1") : host, port, tls ? "https" : "http") + "/";
}

ChatServer::ChatServer(AppOptions app_options, ChatOptions options, UserStore users)
    : options_(std::move(options)),
      users_(std::move(users)),
      otps_(options_.otp_ttl),
      throttle_(options_.login_failures, options_.login_refill),
      host_(app_options.host),
      shared_tokens_(!app_options.broker.empty()) {
  if (!options_.web_root.empty()) {
    web_.emplace(StaticFilesOptions{.root = options_.web_root});
    if (!web_->ok()) throw std::invalid_argument("--web: cannot open directory " + options_.web_root);
  }
  const unsigned shards =
      app_options.shards.count ? app_options.shards.count : static_cast<unsigned>(Runtime::allowed_cpus().size());
  shards_.resize(shards);
  // Below the shards' priority: when both want a core, the event loops win and logins wait.
  logins_ = std::make_unique<WorkerPool>(WorkerPoolOptions{
      .threads = options_.login_threads, .queue_capacity = options_.login_queue, .nice = 5, .name = "login"});
  app_ = std::make_unique<App>(std::move(app_options));
  App& app = *app_;
  app.default_room_options(chat_room_options(options_.history));
  app.on_shard_start([this](Shard& shard) {
    if (shard.shard_count() != shards_.size()) throw std::logic_error("chat: unexpected shard count");
    shards_[shard.id()] = std::make_unique<ChatShard>(*this, shard, app_->rooms(), app_->port());
  });
  app.get("/", [this](Request& req, Response& res) { here().page(req, res); });
  app.post("/login", [this](Request& req, Response& res) { here().login(req, res); }, 4096);
  app.ws<ChatClient>("/ws", {
      .on_upgrade = [this](Request& req, Upgrade<ChatClient>& up) { here().upgrade(req, up); },
      .on_open = [this](ChatSocket& ws) { here().open(ws); },
      .on_message = [this](ChatSocket& ws, std::string_view text, OpCode op) { here().message(ws, text, op); },
      .on_close = [this](ChatSocket& ws, int, std::string_view) { here().closed(ws); },
      .on_subscribed = [this](ChatSocket& ws, std::string_view room, const SubscribeResult& result) {
        here().subscribed(ws, room, result);
      },
      .limits = {
          .max_message_size = options_.max_message,
          // Room for a join's tail even if every character of it needed escaping (\u00XX: 6 bytes),
          // plus 1 MiB of publications behind it; beyond that a reader is too slow and the room closes
          // it (1008). A longer replay (a recovery from far back) comes in parts within half of it.
          .max_backpressure = kTail * (6 * options_.max_message + 256) + (1 << 20),
          .idle_timeout = std::chrono::milliseconds(0),  // liveness is the heartbeat's job
          .ping_interval = options_.ping_interval,
          .pong_timeout = options_.pong_timeout,
      },
  });
}

ChatServer::~ChatServer() {
  logins_->stop();  // hashes under way finish and post their answers to shards that still exist
  app_.reset();
}

ChatShard& ChatServer::here() noexcept { return *shards_[Shard::current()->id()]; }

void ChatServer::start() { app_->start(); }

int ChatServer::run(const std::function<void(uint16_t)>& on_listening) {
  // Block the stop signals before any thread exists, so that only Runtime::run's signalfd sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  app_->start();
  if (on_listening) on_listening(app_->port());
  // Until SIGINT/SIGTERM: then every WebSocket gets 1001 and the shards drain.
  return app_->run();
}

}  // namespace ringcast::chat
