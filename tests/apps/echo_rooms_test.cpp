// ringcast-echo's rooms under a reader that never reads: it is closed with 1008 once over its limit,
// the server's memory stays bounded while far more is published than it could hold, and the other
// members miss nothing. The real binary, real sockets (suite "io": once per backend).
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <future>

#include <ringcast/core/runtime.hpp>
#include <ringcast/net/backend/loop.hpp>
#include <ringcast/ws/web_socket_client.hpp>
#include "tests/support/net_test_support.hpp"
#include "tests/support/raw_ws_client.hpp"
#include "tests/support/test_process.hpp"

using namespace ringcast;
using namespace std::chrono_literals;

namespace {

// A member's budget counts the frame about to be queued, and on io_uring the bytes of a send stay counted
// until its completion is handled: a live member a window of 8 messages (512 KiB) behind was seen with
// 15 frames (960 KiB) queued on a loaded machine. 2 MiB keeps the live members clear of the limit.
std::vector<std::string> echo_command() {
  std::vector<std::string> argv = {test::binary_path("bin/ringcast-echo"), "--port", "0", "--shards", "2",
                                   "--room-backpressure", "2097152", "--log", "info"};
  const std::vector<std::string> backend = test::backend_flags();
  argv.insert(argv.end(), backend.begin(), backend.end());
  return argv;
}

// A member that completes the handshake and then never reads, with a small receive buffer.
test::RawWsClient stalled_member(uint16_t port, const char* path) {
  test::RawWsClient c(port, test::Delivery::whole(), 64 * 1024);
  REQUIRE(c.connected());
  REQUIRE(c.handshake(path));
  return c;
}

// Members the server has closed for being too slow, from GET /metrics.
uint64_t closed_as_slow(int port) {
  const std::string reply = test::http_exchange(port, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  uint64_t n = 0;
  for (uint64_t v : test::metric_by_shard(reply, "room_closed_slow_total")) n += v;
  return n;
}

// Reads every frame the stalled member was sent, to the close frame; returns its code (or -1).
int drain_until_close(test::RawWsClient& c, uint64_t& data_frames) {
  test::RawFrame f;
  while (c.read_frame(f, 10'000) == test::ReadStatus::frame) {
    if (f.opcode == test::op::kClose) return f.close_code();
    ++data_frames;
  }
  return -1;
}

}  // namespace

TEST_SUITE("io") {

TEST_CASE("echo rooms: a member that never reads is closed with 1008, memory stays bounded, others miss nothing") {
  test::shrink_sanitizer_quarantine();
  test::ServerProcess server(echo_command());
  REQUIRE(server.port() > 0);
  const long rss_before = server.rss_kib();
  test::RawWsClient stalled = stalled_member(static_cast<uint16_t>(server.port()), "/room/busy");

  constexpr int kMembers = 5, kMessages = 1600, kWindow = 8;
  constexpr size_t kSize = 64 * 1024;  // 100 MiB published in all
  struct Peer {
    int id = 0;
  };
  struct State {
    std::vector<WebSocket<Peer>*> sockets = std::vector<WebSocket<Peer>*>(kMembers, nullptr);
    std::vector<int> next = std::vector<int>(kMembers, 1);  // next data message expected
    std::vector<bool> probed = std::vector<bool>(kMembers, false);
    std::array<std::atomic<int>, kMembers> close_codes{};
    std::atomic<int> opened{0}, probed_count{0}, finished{0}, disorder{0};
    int sent = 0;
    bool started = false;
    std::string payload = std::string(kSize, 'x');
  } st;
  auto send_next = [&st] {
    ++st.sent;
    std::memcpy(st.payload.data(), &st.sent, sizeof st.sent);
    st.sockets[0]->send(st.payload, OpCode::binary);
  };
  std::unique_ptr<WebSocketClient<Peer>> client;
  struct Probe : Timer {
    std::function<void()> fn;
    Probe() : Timer(&fire) {}
    static void fire(Timer& t) { static_cast<Probe&>(t).fn(); }
  } probe;
  Runtime rt({.shards = {.count = 1},
              .make_driver = [](Shard& s) -> std::unique_ptr<EventDriver> { return Loop::create(s, test::loop_options()); },
              .on_start = [&](Shard&) {
                client = std::make_unique<WebSocketClient<Peer>>(
                    Loop::current(),
                    ClientBehavior<Peer>{
                        .on_open = [&](WebSocket<Peer>& ws) {
                          st.sockets[ws.data().id] = &ws;
                          ++st.opened;
                        },
                        .on_message =
                            [&](WebSocket<Peer>& ws, std::string_view m, OpCode op) {
                              const int me = ws.data().id;
                              if (op == OpCode::text) {  // a probe: joins have reached every shard
                                if (!st.probed[me]) {
                                  st.probed[me] = true;
                                  ++st.probed_count;
                                }
                                return;
                              }
                              int seq = 0;
                              std::memcpy(&seq, m.data(), sizeof seq);
                              if (seq != st.next[me] || m.size() != kSize) ++st.disorder;
                              st.next[me] = seq + 1;
                              if (seq == kMessages) ++st.finished;
                              // Paced by the slowest member, so no live member ever lags by more than
                              // the window: only the stalled one goes over the room's limit.
                              int slowest = kMessages + 1;
                              for (int n : st.next) slowest = std::min(slowest, n);
                              while (st.started && st.sent < kMessages && st.sent < slowest - 1 + kWindow) send_next();
                            },
                        .on_close = [&](WebSocket<Peer>& ws, int code,
                                        std::string_view) { st.close_codes[ws.data().id] = code; },
                    });
              }});
  rt.start();
  rt.shard(0).post([&](Shard&) {
    std::string error;
    auto url = WebSocketUrl::parse(fmt::format("ws://127.0.0.1:{}/room/busy", server.port()), error);
    for (int i = 0; i < kMembers; ++i) REQUIRE(client->connect(*url, Peer{i}));
  });
  REQUIRE(test::eventually([&] { return st.opened.load() == kMembers; }, 10s));
  // Probe until every member has heard the publisher: membership has spread to every shard.
  rt.shard(0).post([&](Shard& s) {
    probe.fn = [&] {
      if (st.probed_count.load() < kMembers) {
        st.sockets[0]->send("probe");
        s.timers().schedule_in(probe, 10);
      } else if (!st.started) {
        st.started = true;
        for (int k = 0; k < kWindow; ++k) send_next();
      }
    };
    probe.fn();
  });
  // Once the server has closed the stalled member, it is drained at once: its close frame waits behind
  // what was queued for it, and the server drops the connection when no reply comes in close_timeout.
  long rss_peak = rss_before;
  std::future<int> close_code;
  uint64_t frames = 0;
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  while ((st.finished.load() < kMembers || !close_code.valid()) && std::chrono::steady_clock::now() < deadline) {
    rss_peak = std::max(rss_peak, server.rss_kib());
    if (!close_code.valid() && closed_as_slow(server.port()) > 0) {
      close_code = std::async(std::launch::async, [&] { return drain_until_close(stalled, frames); });
    }
    std::this_thread::sleep_for(20ms);
  }
  CHECK(st.finished.load() == kMembers);
  for (int i = 0; i < kMembers; ++i) {
    CAPTURE(i);
    const int closed_with = st.close_codes[i];
    CHECK(closed_with == 0);  // no member was closed (as too slow, say)
  }
  REQUIRE(close_code.valid());
  const int code = close_code.get();
  CHECK(code == 1008);
  CHECK(frames < kMessages);  // it was cut off, not fed everything
  const long growth_mib = (rss_peak - rss_before) / 1024;
  MESSAGE("server RSS grew by ", growth_mib, " MiB while 100 MiB were published; the stalled member got ", frames,
          " frames before 1008");
  CHECK(growth_mib < 64);  // fixed costs (receive buffer rings, output block pool) plus one member's limit
  rt.shard(0).post([&](Shard&) {
    for (auto* ws : st.sockets) ws->close();
  });
  REQUIRE(test::eventually(
      [&] { return std::all_of(st.close_codes.begin(), st.close_codes.end(), [](auto& c) { return c.load() != 0; }); },
      10s));
  rt.stop();
  rt.join();
  const int status = server.stop();
  CHECK(status == 0);
  if (status != 0) MESSAGE("server output:\n", server.output());
}

}  // TEST_SUITE
