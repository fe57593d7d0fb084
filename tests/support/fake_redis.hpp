#pragma once
// FakeRedis: a server on a loopback port that answers as a test says — with bytes no Redis would
// send, or with redirections on a schedule — to test what a client does with them. CommandReader
// reads the commands (arrays of bulk strings) a client sends it.
//
// Threads: the fake serves on its own thread; the test's thread constructs and destroys it.
#include <doctest/doctest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <ringcast/net/redis/detail/resp_parser.hpp>
#include "tests/support/net_test_support.hpp"

namespace ringcast::test {

// A server that speaks no real RESP: `serve(fd)` runs for the first connection on the fake's own
// thread; later connections are closed at once.
class FakeRedis {
 public:
  explicit FakeRedis(std::function<void(int fd)> serve) {
    listen_fd_ = listen_loopback(port_);
    REQUIRE(listen_fd_ >= 0);
    thread_ = std::thread([this, serve = std::move(serve)] {
      bool first = true;
      while (!stop_.load()) {
        pollfd p{.fd = listen_fd_, .events = POLLIN, .revents = 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) continue;
        if (first) {
          first = false;
          serve(fd);
        }
        ::close(fd);
      }
    });
  }
  ~FakeRedis() {
    stop_.store(true);
    thread_.join();
    ::close(listen_fd_);
  }
  uint16_t port() const noexcept { return port_; }
  bool stopping() const noexcept { return stop_.load(); }

 private:
  uint16_t port_ = 0;
  int listen_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Writes `bytes` in pieces until all are sent, the peer is gone, or `deadline`; returns what went.
inline size_t send_all(int fd, std::string_view bytes, size_t piece, std::chrono::steady_clock::time_point deadline,
                const FakeRedis* fake = nullptr) {
  size_t sent = 0;
  while (sent < bytes.size() && std::chrono::steady_clock::now() < deadline && !(fake && fake->stopping())) {
    pollfd p{.fd = fd, .events = POLLOUT, .revents = 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    if (p.revents & (POLLERR | POLLHUP)) break;
    const size_t n = std::min(piece, bytes.size() - sent);
    const ssize_t k = ::send(fd, bytes.data() + sent, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (k < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (k <= 0) break;
    sent += static_cast<size_t>(k);
  }
  return sent;
}


// Reads the commands a client sends on `fd`, one at a time.
class CommandReader {
 public:
  explicit CommandReader(int fd) : fd_(fd) {}
  // The next command's arguments; empty when the client went away or `limit` passed.
  std::vector<std::string> next(std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
      if (!in_.empty() && parser_.parse(in_) == RespParser::Status::complete) {
        std::vector<std::string> args;
        const RespValue& v = parser_.root();
        for (int64_t i = 0; v.type == RespType::array && i < v.integer; ++i) {
          args.emplace_back(parser_.child(v, static_cast<size_t>(i)).text);
        }
        in_.erase(0, parser_.consumed());
        return args;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return {};
      pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
      if (::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 50))) <= 0) continue;
      char buf[16384];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return {};
      in_.append(buf, static_cast<size_t>(n));
    }
  }

 private:
  int fd_;
  std::string in_;
  RespParser parser_;
};

}  // namespace ringcast::test
