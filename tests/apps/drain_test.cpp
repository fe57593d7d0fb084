// The drain of a rolling restart, as an operator runs it: ringcast-echo (2 shards) with WebSockets
// open gets SIGTERM. GET /ready turns 503 at once, the port refuses new connections, every WebSocket
// gets the drain's close code, the closes spread over the window (not all at once: that is the
// reconnect storm the window is for), and the process exits 0 once they are gone. A second SIGTERM
// stops at once. The other half — clients moving to another node and missing nothing — is in
// chat_cluster_test.cpp.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/close_watch.hpp"
#include "tests/support/net_test_support.hpp"
#include "tests/support/raw_http_client.hpp"
#include "tests/support/raw_ws_client.hpp"
#include "tests/support/test_process.hpp"

using namespace ringcast;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

test::ServerProcess echo_node(std::vector<std::string> flags) {
  std::vector<std::string> argv = {test::binary_path("bin/ringcast-echo"), "--port", "0", "--shards", "2", "--host",
                                   "127.0.0.1", "--metrics-port", "0", "--log", "info"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  const std::vector<std::string> backend = test::backend_flags();
  argv.insert(argv.end(), backend.begin(), backend.end());
  return test::ServerProcess(argv);
}

// Connecting to `port` is refused within `within` (every shard has closed its listener).
bool refused_within(uint16_t port, std::chrono::milliseconds within) {
  const auto deadline = Clock::now() + within;
  while (Clock::now() < deadline) {
    const int fd = test::connect_blocking(port);
    if (fd < 0) return true;
    ::close(fd);
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

}  // namespace

TEST_SUITE("io") {

TEST_CASE("drain: SIGTERM with a 2 s window — /ready 503 at once, new connections refused, an idle keep-alive "
          "connection closed, every WebSocket gets 1001, the closes spread over the window, exit 0") {
  test::ServerProcess node = echo_node({"--drain-window", "2", "--drain-grace", "2"});
  const auto port = static_cast<uint16_t>(node.port());
  const auto metrics = static_cast<uint16_t>(node.metrics_port());
  REQUIRE(port > 0);
  REQUIRE(metrics > 0);
  CHECK(test::get(metrics, "/ready").status == 200);
  constexpr int kSockets = 40;
  auto sockets = test::open_sockets(port, kSockets, "/drain");
  test::RawHttpClient keep_alive(port);
  REQUIRE(keep_alive.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"));
  REQUIRE(keep_alive.read().has_value());

  const Clock::time_point t0 = Clock::now();
  node.signal(SIGTERM);
  CHECK(refused_within(port, 500ms));
  const test::HttpReply ready = test::get(metrics, "/ready");
  CHECK(ready.status == 503);
  CHECK(ready.body == "draining\n");
  CHECK(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count() < 500);
  CHECK_FALSE(keep_alive.read().has_value());  // the idle keep-alive connection was closed
  const std::string during = test::get(metrics, "/metrics").body;
  CHECK(during.find("ringcast_draining 1\n") != std::string::npos);
  CHECK(during.find("ringcast_ready 0\n") != std::string::npos);

  const std::vector<test::CloseSeen> seen = test::wait_closes(sockets, t0 + 6s);
  std::vector<double> at_ms;
  for (const test::CloseSeen& s : seen) {
    CHECK(s.code == 1001);
    at_ms.push_back(std::chrono::duration<double, std::milli>(s.at - t0).count());
  }
  std::sort(at_ms.begin(), at_ms.end());
  MESSAGE("closes from ", at_ms.front(), " ms to ", at_ms.back(), " ms after SIGTERM");
  CHECK(at_ms.back() - at_ms.front() >= 1000);  // spread: at least half the window apart
  CHECK(at_ms.back() <= 2000 + 2000);          // none after window + grace
  // Evenly: 4 in each tenth of the window; no tenth with a third of them (a shard held up for a moment
  // sends the closes it owes at once).
  for (double from = 0; from < 2000; from += 200) {
    const auto in = std::count_if(at_ms.begin(), at_ms.end(), [from](double t) { return t >= from && t < from + 200; });
    CHECK_MESSAGE(in <= kSockets / 3, in, " closes between ", from, " and ", from + 200, " ms");
  }
  const std::optional<int> status = node.wait(test::deadline_in(5s));
  REQUIRE(status.has_value());
  CHECK(*status == 0);
  CHECK(node.output().find(fmt::format("drained: {} WebSockets closed, 0 connections cut", kSockets)) != std::string::npos);
}

TEST_CASE("drain: --drain-close-code 1012 closes with 1012, and a second SIGTERM during the drain stops at once "
          "(the rest get 1001), exit 0") {
  test::ServerProcess node = echo_node({"--drain-window", "30", "--drain-close-code", "1012"});
  const auto port = static_cast<uint16_t>(node.port());
  REQUIRE(port > 0);
  constexpr int kSockets = 30;
  auto sockets = test::open_sockets(port, kSockets, "/drain");
  const Clock::time_point t0 = Clock::now();
  node.signal(SIGTERM);
  std::this_thread::sleep_for(1500ms);  // a 30 s window closes one a second: one or two by now
  node.signal(SIGTERM);
  const std::vector<test::CloseSeen> seen = test::wait_closes(sockets, t0 + 5s);
  int restart = 0, going_away = 0;
  for (const test::CloseSeen& s : seen) {
    restart += s.code == 1012;
    going_away += s.code == 1001;
  }
  CHECK(restart >= 1);
  CHECK(restart <= 3);
  CHECK(restart + going_away == kSockets);
  const std::optional<int> status = node.wait(test::deadline_in(3s));
  REQUIRE(status.has_value());
  CHECK(*status == 0);
  CHECK(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count() < 4000);
}

}  // TEST_SUITE
