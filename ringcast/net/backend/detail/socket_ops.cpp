#include <ringcast/net/backend/detail/socket_ops.hpp>

#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>

namespace ringcast {
namespace {

int fail(int fd) noexcept {
  const int err = errno;
  if (fd >= 0) ::close(fd);
  return -err;
}

int reuse_socket(int family, bool nonblocking) noexcept {
  const int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
  if (fd < 0) return -errno;
  const int one = 1;
  if (::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
      ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) {
    return fail(fd);
  }
  return fd;
}

}  // namespace

int make_listener(const SocketAddress& addr, int backlog, bool nonblocking) noexcept {
  const int fd = reuse_socket(addr.family(), nonblocking);
  if (fd < 0) return fd;
  if (::bind(fd, addr.data(), addr.size()) < 0 || ::listen(fd, backlog) < 0) return fail(fd);
  return fd;
}

int reserve_port(const SocketAddress& addr, SocketAddress& bound) noexcept {
  const int fd = reuse_socket(addr.family(), false);
  if (fd < 0) return fd;
  if (::bind(fd, addr.data(), addr.size()) < 0) return fail(fd);
  bound = local_address(fd);
  return fd;
}

SocketAddress local_address(int fd) noexcept {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  return SocketAddress::from(reinterpret_cast<sockaddr*>(&ss), len);
}

SocketAddress peer_address(int fd) noexcept {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return {};
  return SocketAddress::from(reinterpret_cast<sockaddr*>(&ss), len);
}

void reset_connection(int fd) noexcept {
  const linger now{.l_onoff = 1, .l_linger = 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &now, sizeof now);
  ::close(fd);
}

void tune_connection(int fd) noexcept {
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

long raise_fd_limit() noexcept {
  static std::once_flag once;
  static long limit = 0;
  std::call_once(once, [] {
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) == 0) {
      if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &rl);
        ::getrlimit(RLIMIT_NOFILE, &rl);
      }
      limit = static_cast<long>(rl.rlim_cur);
    }
  });
  return limit;
}

}  // namespace ringcast
