// App::drain() called from another thread (what SIGTERM does in App::run, see tests/apps/drain_test.cpp
// for the programs): ready() says "draining" at once, a second drain() is refused, an idle keep-alive
// connection closes, a request in progress gets its answer with `Connection: close` and then the end
// of the connection, an upgrade whose head was still arriving is refused with 503, every WebSocket gets
// the drain's code, and the app stops by itself once they are gone, counting them in /metrics.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <chrono>
#include <string>
#include <thread>

#include <ringcast/ws/app.hpp>
#include "tests/support/close_watch.hpp"
#include "tests/support/net_test_support.hpp"
#include "tests/support/raw_http_client.hpp"

using namespace ringcast;
using namespace std::chrono_literals;

namespace {

struct Nobody {};

}  // namespace

TEST_SUITE("io") {

TEST_CASE("app drain: drain() from another thread — not ready, idle keep-alive closed, an answer in progress "
          "closes after it, a late upgrade gets 503, every WebSocket gets 1012, the app stops by itself") {
  App app({.host = "127.0.0.1", .port = 0, .shards = {.count = 2}, .loop = test::loop_options(),
           .drain = {.window = 600ms, .grace = 2s, .close_code = 1012}});
  std::thread answerer;
  app.get("/slow", [&answerer](Request&, Response& res) {
    answerer = std::thread([pending = res.defer()] {
      std::this_thread::sleep_for(600ms);
      pending.send(200, "slow\n");
    });
  });
  app.ws<Nobody>("/ws", {});
  app.start();
  const uint16_t port = app.port();
  std::string why;
  CHECK(app.ready(why));
  constexpr int kSockets = 12;
  auto sockets = test::open_sockets(port, kSockets, "/ws");
  test::RawHttpClient idle(port), busy(port), late(port);
  REQUIRE(idle.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"));  // answered before the drain
  REQUIRE(idle.read().has_value());
  answerer.join();
  REQUIRE(busy.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"));  // answered during it
  // An upgrade whose head is half here when the drain begins.
  REQUIRE(late.send("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"));
  // The answer to `busy` is on the way, and the server has read the half of `late`'s head (else the
  // drain finds `late` idle and closes it, as it would an idle keep-alive connection).
  std::this_thread::sleep_for(200ms);

  const auto t0 = std::chrono::steady_clock::now();
  CHECK(app.drain());
  CHECK_FALSE(app.drain());
  CHECK(app.draining());
  CHECK_FALSE(app.ready(why));
  CHECK(why == "draining");
  CHECK_FALSE(idle.read().has_value());  // closed, unasked
  const auto answer = busy.read();
  REQUIRE(answer.has_value());
  CHECK(answer->status == 200);
  CHECK(answer->header("Connection") == "close");
  CHECK_FALSE(busy.read().has_value());
  REQUIRE(late.send("Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                    "Sec-WebSocket-Version: 13\r\n\r\n"));
  const auto refused = late.read();
  REQUIRE(refused.has_value());
  CHECK(refused->status == 503);
  CHECK(refused->header("Retry-After") == "1");
  CHECK(refused->header("Connection") == "close");

  const std::vector<test::CloseSeen> seen = test::wait_closes(sockets, t0 + 3s);
  for (const test::CloseSeen& s : seen) CHECK(s.code == 1012);
  const std::string metrics = app.metrics();
  CHECK(metrics.find("ringcast_draining 1\n") != std::string::npos);
  CHECK(metrics.find("ringcast_ready 0\n") != std::string::npos);
  CHECK(metrics.find("# TYPE ringcast_drain_closed_total counter") != std::string::npos);
  app.join();  // returns: the app stopped once its connections were gone
  // The window, then the stop's wait for the FIN of the HTTP connections this test still holds (2 s).
  CHECK(std::chrono::steady_clock::now() - t0 < 5s);
  if (answerer.joinable()) answerer.join();
}

}  // TEST_SUITE

TEST_SUITE("io") {

TEST_CASE("app drain: WebSockets that never answer the Close frame are cut at window + grace, counted, and the app "
          "stops then") {
  App app({.host = "127.0.0.1", .port = 0, .shards = {.count = 2}, .loop = test::loop_options(),
           .drain = {.window = 200ms, .grace = 300ms}});
  app.ws<Nobody>("/ws", {});  // close_timeout 2 s: longer than the grace
  app.start();
  constexpr int kSockets = 6;
  auto sockets = test::open_sockets(app.port(), kSockets, "/ws");  // never read: no Close goes back
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE(app.drain());
  app.join();
  const auto took = std::chrono::steady_clock::now() - t0;
  CHECK(took >= 450ms);
  CHECK(took < 3s);  // not the 4 s their close timeout (2 s) and the wait for their FIN (2 s) would take
  const std::string metrics = app.metrics();
  uint64_t closed = 0, cut = 0;
  for (unsigned shard = 0; shard < 2; ++shard) {
    auto value = [&](const std::string& name) {
      const std::string key = fmt::format("ringcast_{}{{shard=\"{}\"}} ", name, shard);
      const size_t at = metrics.find(key);
      REQUIRE(at != std::string::npos);
      return std::stoull(metrics.substr(at + key.size()));
    };
    closed += value("drain_closed_total");
    cut += value("drain_cut_total");
  }
  CHECK(closed == kSockets);
  CHECK(cut == kSockets);
}

}  // TEST_SUITE
