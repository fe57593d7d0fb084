#pragma once
// Many concurrent TCP echo clients driven by one epoll loop on the test thread, written with raw
// syscalls so they share no code with the server they check. Each client sends messages of
// pseudo-random size and content, one at a time, and verifies every echoed byte.
#include <sys/epoll.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "tests/support/net_test_support.hpp"

namespace ringcast::test {

struct EchoPlan {
  size_t clients = 100;
  size_t messages = 10;      // per client
  size_t min_size = 1;
  size_t max_size = 65536;   // sizes are log-uniform between min and max
  uint64_t seed = 1;
  std::chrono::seconds limit{180};
};

struct EchoOutcome {
  size_t connected = 0;
  size_t finished = 0;       // clients that got every message back intact
  size_t corrupt = 0;        // clients that saw a wrong byte
  size_t failed = 0;         // connect or I/O errors, early EOF
  uint64_t bytes = 0;        // bytes echoed and checked
  bool timed_out = false;
};

// The byte at `offset` of message `msg` of client `client`: cheap, deterministic, position-dependent.
inline uint8_t echo_byte(uint64_t seed, size_t client, size_t msg, size_t offset) {
  uint64_t x = seed ^ (client * 0x9E3779B97F4A7C15ull) ^ (msg * 0xC2B2AE3D27D4EB4Full) ^ (offset / 8 * 0x165667B19E3779F9ull);
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  return static_cast<uint8_t>(x >> ((offset % 8) * 8));
}

inline EchoOutcome run_echo_clients(uint16_t port, const EchoPlan& plan) {
  struct Client {
    int fd = -1;
    size_t msg = 0;
    size_t size = 0;
    size_t sent = 0;
    size_t received = 0;
    bool done = false;
    std::vector<uint8_t> out;
  };
  EchoOutcome result;
  std::mt19937_64 rng(plan.seed);
  const double log_min = std::log(static_cast<double>(plan.min_size));
  const double log_max = std::log(static_cast<double>(plan.max_size) + 1);
  auto next_size = [&] {
    std::uniform_real_distribution<double> d(log_min, log_max);
    size_t s = static_cast<size_t>(std::exp(d(rng)));
    return s < plan.min_size ? plan.min_size : (s > plan.max_size ? plan.max_size : s);
  };

  const int ep = ::epoll_create1(EPOLL_CLOEXEC);
  std::vector<Client> clients(plan.clients);
  auto start_message = [&](size_t i) {
    Client& c = clients[i];
    c.size = next_size();
    c.sent = c.received = 0;
    c.out.resize(c.size);
    for (size_t k = 0; k < c.size; ++k) c.out[k] = echo_byte(plan.seed, i, c.msg, k);
  };
  auto finish = [&](size_t i, bool ok) {
    Client& c = clients[i];
    if (c.done) return;
    c.done = true;
    if (ok) ++result.finished;
    ::close(c.fd);
  };
  for (size_t i = 0; i < plan.clients; ++i) {
    Client& c = clients[i];
    c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    const SocketAddress addr = SocketAddress::loopback(port);
    ::connect(c.fd, addr.data(), addr.size());
    epoll_event ev{.events = EPOLLIN | EPOLLOUT, .data = {.u64 = i}};
    ::epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
    start_message(i);
  }
  std::vector<uint8_t> buf(256 * 1024);
  std::vector<epoll_event> events(1024);
  size_t remaining = plan.clients;
  const auto deadline = std::chrono::steady_clock::now() + plan.limit;
  while (remaining > 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      result.timed_out = true;
      break;
    }
    const int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), 100);
    for (int e = 0; e < n; ++e) {
      const size_t i = events[e].data.u64;
      Client& c = clients[i];
      if (c.done) continue;
      if (events[e].events & (EPOLLERR)) {
        ++result.failed;
        finish(i, false);
        --remaining;
        continue;
      }
      if ((events[e].events & EPOLLOUT) && c.sent < c.size) {
        if (c.msg == 0 && c.sent == 0) ++result.connected;
        const ssize_t w = ::send(c.fd, c.out.data() + c.sent, c.size - c.sent, MSG_NOSIGNAL);
        if (w > 0) c.sent += static_cast<size_t>(w);
        if (w < 0 && errno != EAGAIN) {
          ++result.failed;
          finish(i, false);
          --remaining;
          continue;
        }
        if (c.sent == c.size) {
          epoll_event ev{.events = EPOLLIN, .data = {.u64 = i}};
          ::epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
        }
      }
      if (events[e].events & (EPOLLIN | EPOLLHUP)) {
        const ssize_t r = ::recv(c.fd, buf.data(), buf.size(), 0);
        if (r <= 0) {
          if (r < 0 && errno == EAGAIN) continue;
          ++result.failed;  // EOF or reset before every message came back
          finish(i, false);
          --remaining;
          continue;
        }
        bool bad = static_cast<size_t>(r) > c.sent - c.received;
        for (ssize_t k = 0; k < r && !bad; ++k) bad = buf[k] != c.out[c.received + k];
        if (bad) {
          ++result.corrupt;
          finish(i, false);
          --remaining;
          continue;
        }
        c.received += static_cast<size_t>(r);
        result.bytes += static_cast<uint64_t>(r);
        if (c.received == c.size) {
          if (++c.msg == plan.messages) {
            finish(i, true);
            --remaining;
            continue;
          }
          start_message(i);
          epoll_event ev{.events = EPOLLIN | EPOLLOUT, .data = {.u64 = i}};
          ::epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
        }
      }
    }
  }
  for (size_t i = 0; i < clients.size(); ++i) {
    if (!clients[i].done) ::close(clients[i].fd);
  }
  ::close(ep);
  return result;
}

}  // namespace ringcast::test
