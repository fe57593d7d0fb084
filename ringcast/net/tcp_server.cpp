#include <ringcast/net/tcp_server.hpp>

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <csignal>

#include <cstring>
#include <system_error>

#include <ringcast/core/log.hpp>
#include <ringcast/net/backend/detail/socket_ops.hpp>

namespace ringcast {

TcpServer::TcpServer(TcpServerOptions options, HandlerFactory make_handler)
    : options_(std::move(options)), make_handler_(std::move(make_handler)) {
  RuntimeOptions rt{.shards = options_.shards, .on_terminate = options_.on_terminate};
  rt.make_driver = [this](Shard& shard) -> std::unique_ptr<EventDriver> {
    LoopOptions lo = options_.loop;
    lo.stats = &stats_[shard.id()];
    return Loop::create(shard, lo);
  };
  rt.on_start = [this](Shard& shard) {
    Loop& loop = static_cast<Loop&>(shard.driver());
    handlers_[shard.id()] = make_handler_(loop);
    const int rc = loop.listen(bound_, *handlers_[shard.id()]);
    if (rc < 0) {
      throw std::system_error(-rc, std::generic_category(), "listen on " + bound_.to_string());
    }
    listeners_[shard.id()] = rc;
    if (options_.on_shard_start) options_.on_shard_start(shard);
  };
  if (options_.loop.tls) {
    rt.on_hangup = [this] {
      std::string error;
      reload_tls(error);
    };
  }
  runtime_ = std::make_unique<Runtime>(std::move(rt));
  stats_ = std::make_unique<NetStats[]>(runtime_->shard_count());
  handlers_.resize(runtime_->shard_count());
  listeners_.resize(runtime_->shard_count(), -1);
}

TcpServer::~TcpServer() {
  // Shards (and their loops, which call handlers one last time) end before the handlers go — and
  // before runtime_ changes: a shard's last callbacks may still reach the runtime through it.
  if (runtime_) {
    runtime_->stop();
    runtime_->join();
  }
  runtime_.reset();
  if (reserved_fd_ >= 0) ::close(reserved_fd_);
}

void TcpServer::bind() {
  // A bound, non-listening SO_REUSEPORT socket holds the port while every shard binds its own
  // listener to it, so port 0 becomes one port shared by all shards.
  reserved_fd_ = reserve_port(options_.address, bound_);
  if (reserved_fd_ < 0) {
    throw std::system_error(-reserved_fd_, std::generic_category(), "bind " + options_.address.to_string());
  }
}

void TcpServer::start() {
  if (started_) return;
  started_ = true;
  bind();
  runtime_->start();
  ::close(reserved_fd_);
  reserved_fd_ = -1;
  if (options_.loop.tls) {
    log::info("listening on {}://{}", options_.tls_scheme, bound_.to_string());
  } else {
    log::info("listening on {}", bound_.to_string());
  }
}

int TcpServer::run() {
  // Block the stop signals before any shard thread exists, so none can miss Runtime::run's signalfd.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  if (options_.loop.tls) sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  start();
  return runtime_->run();
}

void TcpServer::stop_accepting() {
  Shard* shard = Shard::current();
  if (!shard || &shard->runtime() != runtime_.get() || listeners_[shard->id()] < 0) return;
  loop(shard->id()).close_listener(listeners_[shard->id()]);
}

bool TcpServer::reload_tls(std::string& error) {
  std::lock_guard lock(tls_mutex_);
  if (!options_.loop.tls) {
    error = "TLS reload: the server does not speak TLS";
    return false;
  }
  std::shared_ptr<const TlsContext> next = options_.loop.tls->reloaded(error);
  if (!next) {
    log::error("TLS reload refused, the current certificates stay: {}", error);
    return false;
  }
  // Each shard switches its own pointer, by a task on its thread, rather than all of them reading one
  // shared pointer under a lock (or an atomic shared_ptr, a lock in libstdc++) on every accept: the
  // handshake path stays shard-local. The previous context lives on in the connections accepted
  // with it, and goes with the last of them.
  options_.loop.tls = next;
  if (started_) {
    struct Pending {
      std::mutex mutex;
      std::condition_variable done;
      unsigned left;
    };
    auto pending = std::make_shared<Pending>();
    pending->left = runtime_->shard_count();
    for (unsigned i = 0; i < runtime_->shard_count(); ++i) {
      runtime_->shard(i).post([next, pending](Shard& shard) {
        static_cast<Loop&>(shard.driver()).set_server_tls(next);
        std::lock_guard l(pending->mutex);
        if (--pending->left == 0) pending->done.notify_all();
      });
    }
    std::unique_lock l(pending->mutex);
    pending->done.wait_for(l, std::chrono::seconds(1), [&] { return pending->left == 0; });
  }
  std::string files;
  for (const auto& c : next->server_options().certificates) files += (files.empty() ? "" : ", ") + c.cert;
  log::info("TLS certificates reloaded: {}", files);
  return true;
}

void TcpServer::join() {
  runtime_->join();
}

uint64_t TcpServer::total(Counter NetStats::*counter) const noexcept {
  uint64_t sum = 0;
  for (unsigned i = 0; i < runtime_->shard_count(); ++i) sum += (stats_[i].*counter).get();
  return sum;
}

}  // namespace ringcast
