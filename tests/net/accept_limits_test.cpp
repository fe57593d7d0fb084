// AcceptLimits (ringcast/net/backend/loop_options.hpp) on a real TCP echo server: an address over its
// rate has its connections reset at once while other addresses come in; a server over its own rate
// takes a reconnect storm at that pace — every connection in, none refused — while the connections it
// already has are served as usual.
#include <doctest/doctest.h>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>
#include <vector>

#include <ringcast/net/tcp_echo_handler.hpp>
#include <ringcast/net/tcp_server.hpp>
#include "tests/support/net_test_support.hpp"

using namespace ringcast;
using namespace std::chrono_literals;

namespace {

std::unique_ptr<TcpServer> echo_server(const AcceptLimits& limits) {
  TcpServerOptions o;
  o.address = SocketAddress::loopback(0);
  o.shards.count = 1;  // one shard: its share is the whole figure
  o.loop = test::loop_options();
  o.loop.accept_limits = limits;
  auto server = std::make_unique<TcpServer>(o, [](Loop& l) { return std::make_unique<TcpEchoHandler>(l); });
  server->start();
  return server;
}

// A connection to 127.0.0.1:port from `from` (another loopback address), or -1.
int connect_from(uint16_t port, const char* from) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const SocketAddress local = *SocketAddress::parse(std::string(from) + ":0");
  const SocketAddress to = SocketAddress::loopback(port);
  if (::bind(fd, local.data(), local.size()) < 0 || ::connect(fd, to.data(), to.size()) < 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Whether the server echoes one byte on `fd` within `ms` (false: reset, closed, or silent).
bool echoes(int fd, int ms) {
  if (::send(fd, "x", 1, MSG_NOSIGNAL) != 1) return false;
  pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
  if (::poll(&p, 1, ms) <= 0) return false;
  char c = 0;
  return ::recv(fd, &c, 1, 0) == 1 && c == 'x';
}

}  // namespace

TEST_SUITE("io") {

TEST_CASE("accept limits: an address over its rate has its connections reset at once; other addresses come in") {
  auto server = echo_server({.per_address_per_second = 5, .per_address_burst = 5});
  std::vector<int> fds;
  for (int i = 0; i < 20; ++i) fds.push_back(connect_from(server->port(), "127.0.0.1"));
  int admitted = 0;
  for (int fd : fds) {
    REQUIRE(fd >= 0);
    if (echoes(fd, 1000)) ++admitted;
  }
  MESSAGE(admitted, " of 20 connections from one address admitted (burst 5, 5 a second)");
  CHECK(admitted >= 5);
  CHECK(admitted <= 7);  // the burst, and what refilled while the 20 arrived
  CHECK(server->total(&NetStats::accepts_refused) == static_cast<uint64_t>(20 - admitted));
  const int other = connect_from(server->port(), "127.0.0.2");
  REQUIRE(other >= 0);
  CHECK(echoes(other, 1000));
  ::close(other);
  for (int fd : fds) ::close(fd);
}

}  // TEST_SUITE("io")

TEST_SUITE("io_alone") {

TEST_CASE("accept limits: a reconnect storm is taken at the server's rate, none refused, and its connections keep being served") {
  constexpr int kStorm = 300;
  constexpr double kRate = 200;
  auto server = echo_server({.per_second = kRate, .burst = 20});
  const int old = test::connect_blocking(server->port());
  REQUIRE(old >= 0);
  REQUIRE(echoes(old, 1000));
  std::this_thread::sleep_for(200ms);  // the burst is whole again
  const auto start = std::chrono::steady_clock::now();
  std::vector<int> storm;
  for (int i = 0; i < kStorm; ++i) {
    storm.push_back(test::connect_blocking(server->port()));  // completes in the kernel's backlog
    REQUIRE(storm.back() >= 0);
  }
  // While the storm waits in the backlog, the connection the server has answers at once.
  const auto ping = std::chrono::steady_clock::now();
  CHECK(echoes(old, 1000));
  CHECK(std::chrono::steady_clock::now() - ping < 200ms);
  int served = 0;
  for (int fd : storm) served += echoes(fd, 5000) ? 1 : 0;
  const auto took = std::chrono::steady_clock::now() - start;
  MESSAGE(served, " of ", kStorm, " connections served in ", std::chrono::duration_cast<std::chrono::milliseconds>(took).count(),
          " ms at ", kRate, " accepts a second; ", server->total(&NetStats::accept_pauses), " pauses");
  CHECK(served == kStorm);
  CHECK(took >= std::chrono::milliseconds(static_cast<int>((kStorm - 20) / kRate * 1000 * 0.8)));
  CHECK(server->total(&NetStats::accepts_refused) == 0);
  CHECK(server->total(&NetStats::accept_pauses) > 0);
  for (int fd : storm) ::close(fd);
  ::close(old);
}

}  // TEST_SUITE("io_alone")
