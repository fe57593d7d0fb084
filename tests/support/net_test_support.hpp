#pragma once
// Shared by the network tests: the loop options of the backend under test and
// plain-socket helpers (the clients are written with raw syscalls, independently of the server).
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

#include <ringcast/net/backend/loop_options.hpp>
#include <ringcast/net/redis/detail/resp_writer.hpp>
#include <ringcast/net/socket_address.hpp>
#include "tests/support/test_support.hpp"

namespace ringcast::test {

inline LoopOptions loop_options() {
  LoopOptions o;
  const std::string& b = backend_name();
  if (b == "epoll") {
    o.backend = Backend::epoll;
  } else if (b == "io_uring") {
    o.backend = Backend::io_uring;
  } else if (b == "io_uring-minimal") {
    o.backend = Backend::io_uring;
    o.io_uring_disable = kFeatureAll;
  } else {
    throw std::runtime_error("unknown test backend " + b);
  }
  return o;
}

// A blocking TCP connection to `host` (an IPv4 address):port with TCP_NODELAY; -1 on failure.
// `receive_buffer` > 0 sets SO_RCVBUF before connecting, so the window the peer sees stays that small
// (a slow reader).
inline int connect_blocking(const std::string& host, uint16_t port, int receive_buffer = 0) {
  const std::optional<SocketAddress> addr = SocketAddress::parse(host + ":" + std::to_string(port));
  if (!addr) return -1;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (receive_buffer > 0) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
  if (::connect(fd, addr->data(), addr->size()) < 0) {
    ::close(fd);
    return -1;
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}
// The same to 127.0.0.1:port.
inline int connect_blocking(uint16_t port, int receive_buffer = 0) { return connect_blocking("127.0.0.1", port, receive_buffer); }

// A listening socket on 127.0.0.1 at a free port (written to `port`); -1 on failure.
inline int listen_loopback(uint16_t& port, int backlog = 16) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  SocketAddress addr = SocketAddress::loopback(0);
  if (::bind(fd, addr.data(), addr.size()) < 0 || ::listen(fd, backlog) < 0) {
    ::close(fd);
    return -1;
  }
  sockaddr_in bound{};
  socklen_t len = sizeof bound;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
  port = ntohs(bound.sin_port);
  return fd;
}

inline void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

// Sets a receive timeout so a test never hangs on a silent server.
inline void set_recv_timeout(int fd, int ms) {
  timeval tv{.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

// Reads until `n` bytes are in `data`, the peer closes, or an error (a receive timeout set before);
// returns the bytes read.
inline size_t recv_exact(int fd, void* data, size_t n) {
  size_t got = 0;
  while (got < n) {
    const ssize_t r = ::recv(fd, static_cast<char*>(data) + got, n - got, 0);
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  return got;
}

// Sends `request` to 127.0.0.1:port and reads until the server closes, or until a whole 101 head
// (an upgrade keeps the connection open), or 5 s pass.
inline std::string http_exchange(int port, const std::string& request) {
  const int fd = connect_blocking(static_cast<uint16_t>(port));
  if (fd < 0) return {};
  set_recv_timeout(fd, 5000);
  std::string out;
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
    char buf[65536];
    ssize_t n;
    while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) {
      out.append(buf, static_cast<size_t>(n));
      if (out.find("101 Switching Protocols") != std::string::npos && out.find("\r\n\r\n") != std::string::npos) break;
    }
  }
  ::close(fd);
  return out;
}

// A client that pipelines `request` again and again, `total` bytes in all, with a 4 KiB receive
// buffer, and never reads (as a hostile client would): it sends for at most a second whatever the
// server's socket takes (a server that stops reading leaves the rest unsent). Returns the socket, or
// -1 when it could not connect.
inline int pipeline_without_reading(uint16_t port, std::string_view request, size_t total) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int small = 4096;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  const SocketAddress addr = SocketAddress::loopback(port);
  if (::connect(fd, addr.data(), addr.size()) < 0) {
    ::close(fd);
    return -1;
  }
  std::string burst;
  while (burst.size() + request.size() <= total) burst += request;
  size_t sent = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (sent < burst.size() && std::chrono::steady_clock::now() < deadline) {
    const ssize_t n = ::send(fd, burst.data() + sent, burst.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else {
      pollfd p{.fd = fd, .events = POLLOUT, .revents = 0};
      ::poll(&p, 1, 20);
    }
  }
  return fd;
}

// A Redis command (an array of bulk strings) as RespWriter writes it; throws if the writer's size
// helpers and what it wrote disagree.
template <typename Args>
std::string resp_command_of(const Args& args) {
  size_t n = RespWriter::array_size(args.size());
  for (std::string_view a : args) n += RespWriter::bulk_size(a.size());
  std::string out(n, '\0');
  RespWriter w(reinterpret_cast<uint8_t*>(out.data()));
  w.array(args.size());
  for (std::string_view a : args) w.bulk(a);
  if (w.written() != n) throw std::logic_error("RespWriter wrote " + std::to_string(w.written()) + " of " + std::to_string(n) + " bytes");
  return out;
}
inline std::string resp_command(std::initializer_list<std::string_view> args) { return resp_command_of(args); }

}  // namespace ringcast::test
