#pragma once
// EpollLoop: the readiness backend of Loop, for kernels (or sandboxes) without io_uring.
// Non-blocking sockets, level-triggered EPOLLIN, one recv per readiness event into a shard-owned
// buffer, writev of the whole output queue at the end of each iteration (EPOLLOUT only while a
// socket's send buffer is full), epoll_pwait2 for nanosecond timer precision.
#include <sys/epoll.h>

#include <vector>

#include <ringcast/net/backend/loop.hpp>

namespace ringcast {

class EpollLoop final : public Loop {
 public:
  // Throws std::system_error when epoll cannot be created.
  EpollLoop(Shard& shard, const LoopOptions& options);
  ~EpollLoop() override;

  std::string_view name() const noexcept override { return "epoll"; }
  void wait(int64_t timeout_ns) override;
  void dispatch() override;

 protected:
  bool nonblocking_sockets() const noexcept override { return true; }
  void backend_listen(Listener& l) override;
  void backend_stop_listen(Listener& l) override;
  void backend_start_reading(Connection& c) override;
  void backend_stop_reading(Connection& c) override;
  void backend_send(Connection& c) override;
  void backend_close_fd(Connection& c) override;
  void backend_connect(Connection& c, const SocketAddress& to) override;

 private:
  enum class Kind : uint8_t { wake = 1, listener, connection };
  static uint64_t tag(Kind kind, uint32_t index, uint32_t gen) noexcept {
    return (uint64_t{index} << 32) | (uint64_t{gen & 0xffffff} << 8) | static_cast<uint8_t>(kind);
  }
  uint64_t tag(const Connection& c) const noexcept { return tag(Kind::connection, c.index, generation(c.index)); }

  void update_interest(Connection& c);
  void on_listener_ready(Listener& l);
  void on_connection_event(Connection& c, uint32_t events);
  void read_once(Connection& c);
  void write_now(Connection& c);

  int epfd_ = -1;
  std::vector<uint8_t> buffer_;
  std::vector<epoll_event> events_;
  int collected_ = 0;  // events the last wait() filled in, for dispatch()
  std::vector<uint32_t> registered_;  // per connection slot: the events mask registered, 0 = none
};

}  // namespace ringcast
