// ringcast-echo flooded with connections up to its descriptor limit (run under `prlimit --nofile`): past
// the limit it stops accepting for a while (the rest wait in the kernel's backlog), the WebSockets it
// already has keep being answered at once, and once the flood goes it accepts again. The real binary,
// real sockets; alone on the machine (suite "io_alone": it measures answer times).
#include <doctest/doctest.h>

#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

#include "tests/support/net_test_support.hpp"
#include "tests/support/raw_ws_checks.hpp"
#include "tests/support/raw_ws_client.hpp"
#include "tests/support/test_process.hpp"

using namespace ringcast;
using namespace ringcast::test;
using namespace std::chrono_literals;

TEST_SUITE("io_alone") {

TEST_CASE("echo under a connection flood to its descriptor limit: its WebSockets keep being answered, and it recovers") {
  constexpr int kDescriptors = 1024;
  constexpr int kClients = 50;
  constexpr int kFlood = 3000;  // three times what the server may hold, under this process's own limit
  std::vector<std::string> argv = {"/usr/bin/prlimit", "--nofile=" + std::to_string(kDescriptors),
                                   binary_path("bin/ringcast-echo"), "--port", "0", "--shards", "2", "--log", "info"};
  const std::vector<std::string> backend = backend_flags();
  argv.insert(argv.end(), backend.begin(), backend.end());
  ServerProcess server(argv);
  REQUIRE(server.port() > 0);
  const auto port = static_cast<uint16_t>(server.port());

  std::vector<RawWsClient> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(open_client(port));
    REQUIRE(clients.back().send_text("before"));
    expect_frame(clients.back(), op::kText, "before");
  }

  std::vector<int> flood;
  for (int i = 0; i < kFlood; ++i) {
    const int fd = connect_blocking(port);  // completes in the kernel's backlog once the server stops accepting
    if (fd < 0) break;
    flood.push_back(fd);
  }
  MESSAGE(flood.size(), " flood connections open against a limit of ", kDescriptors, " descriptors");
  CHECK(flood.size() > static_cast<size_t>(kDescriptors));

  // Every WebSocket the server holds still gets its echo, at once.
  std::chrono::steady_clock::duration slowest{};
  for (RawWsClient& c : clients) {
    const auto start = std::chrono::steady_clock::now();
    REQUIRE(c.send_text("during"));
    expect_frame(c, op::kText, "during", 2000);
    slowest = std::max(slowest, std::chrono::steady_clock::now() - start);
  }
  MESSAGE("slowest echo during the flood: ", std::chrono::duration_cast<std::chrono::microseconds>(slowest).count(), " µs");
  CHECK(slowest < 500ms);

  // The flood goes; the server takes new connections again.
  for (int fd : flood) ::close(fd);
  CHECK(eventually(
      [&] {
        RawWsClient late(port);
        if (!late.connected() || !late.handshake("/", {}, {})) return false;
        return late.send_text("after");
      },
      15s));
  RawWsClient after = open_client(port);
  REQUIRE(after.send_text("after"));
  expect_frame(after, op::kText, "after");
  CHECK(server.stop() == 0);
}

}  // TEST_SUITE("io_alone")
