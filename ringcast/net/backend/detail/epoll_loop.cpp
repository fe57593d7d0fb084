#include <ringcast/net/backend/detail/epoll_loop.hpp>

#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <system_error>
#include <utility>

namespace ringcast {
namespace {

constexpr int kMaxEvents = 512;
constexpr int kAcceptsPerEvent = 64;  // then let the other events of this iteration run

}  // namespace

EpollLoop::EpollLoop(Shard& shard, const LoopOptions& options) : Loop(shard, options, Backend::epoll) {
  epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epfd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
  buffer_.resize(options.recv_buffer_size);
  events_.resize(kMaxEvents);
  epoll_event ev{.events = EPOLLIN, .data = {.u64 = tag(Kind::wake, 0, 0)}};
  ::epoll_ctl(epfd_, EPOLL_CTL_ADD, shard.wake_fd(), &ev);
}

EpollLoop::~EpollLoop() {
  // ~Loop closes connections and listeners; the epoll fd goes with them.
  ::close(epfd_);
}

void EpollLoop::wait(int64_t timeout_ns) {
  stats_.submits.add();
  timespec ts{};
  timespec* tsp = nullptr;
  if (timeout_ns >= 0) {
    ts.tv_sec = timeout_ns / 1'000'000'000;
    ts.tv_nsec = timeout_ns % 1'000'000'000;
    tsp = &ts;
  }
  int n = ::epoll_pwait2(epfd_, events_.data(), kMaxEvents, tsp, nullptr);
  if (n < 0 && errno == ENOSYS) {
    // Kernels before 5.11: millisecond precision, rounded up so timers never fire early.
    const int ms = timeout_ns < 0 ? -1 : static_cast<int>((timeout_ns + 999'999) / 1'000'000);
    n = ::epoll_wait(epfd_, events_.data(), kMaxEvents, ms);
  }
  collected_ = n > 0 ? n : 0;
}

void EpollLoop::dispatch() {
  const int n = std::exchange(collected_, 0);
  for (int i = 0; i < n; ++i) {
    const uint64_t t = events_[i].data.u64;
    const auto kind = static_cast<Kind>(t & 0xff);
    const auto index = static_cast<uint32_t>(t >> 32);
    const auto gen = static_cast<uint32_t>((t >> 8) & 0xffffff);
    if (kind == Kind::wake) {
      uint64_t count;
      [[maybe_unused]] ssize_t r = ::read(shard_.wake_fd(), &count, sizeof count);
    } else if (kind == Kind::listener) {
      Listener& l = *listeners_[index];
      if (!l.closed && l.armed) on_listener_ready(l);
    } else if (live(index) && (generation(index) & 0xffffff) == gen) {
      Connection& c = *connection(index, generation(index));
      if (!c.has(Connection::kFdClosed)) on_connection_event(c, events_[i].events);
    }
  }
}

// ---------------------------------------------------------------------------------------------

void EpollLoop::backend_listen(Listener& l) {
  epoll_event ev{.events = EPOLLIN, .data = {.u64 = tag(Kind::listener, static_cast<uint32_t>(l.id), 0)}};
  ::epoll_ctl(epfd_, EPOLL_CTL_ADD, l.fd, &ev);
  l.armed = true;
}

void EpollLoop::backend_stop_listen(Listener& l) {
  ::epoll_ctl(epfd_, EPOLL_CTL_DEL, l.fd, nullptr);
  l.armed = false;
}

void EpollLoop::on_listener_ready(Listener& l) {
  for (int i = 0; i < kAcceptsPerEvent && l.armed; ++i) {
    const int fd = ::accept4(l.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      accept_connection(l, fd);
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    if (errno == EINTR) continue;
    accept_failed(l, -errno);  // may pause the listener (EMFILE): l.armed turns false
  }
}

// ---------------------------------------------------------------------------------------------

void EpollLoop::update_interest(Connection& c) {
  if (registered_.size() <= c.index) registered_.resize(c.index + 1, 0);
  // Level-triggered: nothing may stay in the mask that we will not act on, or epoll_wait spins.
  // (EPOLLERR and EPOLLHUP are always reported; the event handler reads to learn which error.)
  uint32_t want = 0;
  if (c.has(Connection::kRecvArmed) && !c.has(Connection::kPeerEof)) want |= EPOLLIN | EPOLLRDHUP;
  if (c.has(Connection::kWantWrite) || c.has(Connection::kConnecting)) want |= EPOLLOUT;
  uint32_t& have = registered_[c.index];  // kRegistered | events
  constexpr uint32_t kRegistered = 1u << 31;
  if (have == (want | kRegistered)) return;
  epoll_event ev{.events = want, .data = {.u64 = tag(c)}};
  ::epoll_ctl(epfd_, have ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c.fd, &ev);
  have = want | kRegistered;
}

void EpollLoop::backend_start_reading(Connection& c) {
  c.flags |= Connection::kRecvArmed;
  update_interest(c);
}

void EpollLoop::backend_stop_reading(Connection& c) {
  c.flags &= ~Connection::kRecvArmed;
  update_interest(c);
}

void EpollLoop::backend_connect(Connection& c, const SocketAddress& to) {
  // Success or failure shows as writability; the outcome is read with SO_ERROR then.
  (void)::connect(c.fd, to.data(), to.size());
  update_interest(c);
}

void EpollLoop::on_connection_event(Connection& c, uint32_t events) {
  if (c.has(Connection::kConnecting)) {
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    c.flags &= ~Connection::kConnecting;
    update_interest(c);
    c.flags |= Connection::kConnecting;  // connected() clears it and decides what follows
    connected(c, -err);
    return;
  }
  if ((events & EPOLLOUT) && c.has(Connection::kWantWrite)) {
    c.flags &= ~Connection::kWantWrite;
    update_interest(c);
    write_now(c);
    if (c.has(Connection::kFdClosed)) return;
  }
  const bool readable = (events & (EPOLLIN | EPOLLRDHUP)) && c.has(Connection::kRecvArmed);
  if (readable || (events & (EPOLLERR | EPOLLHUP))) read_once(c);
}

void EpollLoop::read_once(Connection& c) {
  const ssize_t n = ::recv(c.fd, buffer_.data(), buffer_.size(), 0);
  stats_.reads.add();
  if (n > 0) {
    received(c, buffer_.data(), static_cast<size_t>(n));
  } else if (n == 0) {
    peer_closed(c);
  } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
    io_failed(c, -errno);
  }
}

void EpollLoop::backend_send(Connection& c) {
  if (c.has(Connection::kWantWrite)) return;  // EPOLLOUT will say when there is room
  write_now(c);
}

void EpollLoop::write_now(Connection& c) {
  if (!c.out || c.out->empty()) return;
  iovec iov[OutputQueue::kMaxIov];
  const size_t count = c.out->gather(iov, OutputQueue::kMaxIov, options_.max_send_bytes);
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = count;
  const ssize_t n = ::sendmsg(c.fd, &msg, MSG_NOSIGNAL);
  if (n > 0) {
    sent(c, static_cast<size_t>(n));
  } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    c.flags |= Connection::kWantWrite;
    update_interest(c);
  } else if (n < 0 && errno != EINTR) {
    io_failed(c, -errno);
  }
}

void EpollLoop::backend_close_fd(Connection& c) {
  if (registered_.size() > c.index) registered_[c.index] = 0;
  c.flags &= ~(Connection::kRecvArmed | Connection::kWantWrite);
  ::close(c.fd);  // also removes it from the epoll set
}

}  // namespace ringcast
