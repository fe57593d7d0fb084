// Cross-shard backpressure: a publisher on one shard floods a room whose member sits on another shard
// that is busy. The publisher's shard must not queue the hand-offs without bound: once its queue to
// the busy shard is full it stops reading from the publisher (the bytes wait in the socket), and
// resumes when the busy shard catches up; the member then gets every message, in order. Real sockets,
// every backend (suite "io").
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <atomic>
#include <charconv>
#include <thread>
#include <vector>

#include <ringcast/ws/app.hpp>
#include <ringcast/ws/detail/app_internals.hpp>
#include "tests/support/net_test_support.hpp"
#include "tests/support/raw_ws_client.hpp"
#include "tests/support/test_support.hpp"

using namespace ringcast;
using namespace std::chrono_literals;

namespace {

struct Member {
  std::string room;
};

// One shard's figure from the server's /metrics text.
uint64_t metric(const App& app, std::string_view name, unsigned shard) {
  const std::vector<uint64_t> values = test::metric_by_shard(app.metrics(), name);
  REQUIRE(shard < values.size());
  return values[shard];
}

// Connects until a client lands on `shard` (the server says which in its first message).
test::RawWsClient client_on(uint16_t port, std::string_view path, unsigned shard) {
  for (int attempt = 0; attempt < 200; ++attempt) {
    test::RawWsClient c(port);
    REQUIRE(c.handshake(path));
    test::RawFrame hello;
    REQUIRE(c.read_frame(hello) == test::ReadStatus::frame);
    if (hello.payload == std::to_string(shard)) return c;
    c.send_close(1000);
  }
  FAIL("no connection landed on shard ", shard);
  return test::RawWsClient(port);
}

}  // namespace

TEST_SUITE("io") {
TEST_CASE("rooms: a publisher's shard stops reading from it while a busy shard cannot take its hand-offs") {
  // 10 MB: more than the kernel buffers between the two ends hold, so a shard that kept reading would
  // end with most of it in its backlog. One that stops keeps only what it had received by then.
  constexpr int kMessages = 50'000;
  constexpr size_t kFrameBytes = 200 + 8;  // a 200-byte payload, its 16-bit length and mask key
  // A small receive buffer ring: with io_uring's multishot receive it bounds what arrives after the
  // pause (below).
  LoopOptions loop = test::loop_options();
  loop.recv_buffers = 8;
  const AppOptions options{.host = "127.0.0.1", .port = 0, .shards = {.count = 2}, .loop = loop};
  // What the publisher's shard may hold back for shard 1: the hand-offs made from what it had received
  // when its queue to shard 1 filled (an App's queues hold ShardOptions' mesh_capacity). Reading stops
  // after the read that overflowed it, and a read carries one receive buffer of frames (one more
  // completes a frame left over from the read before). With multishot receive, the completions of
  // the same batch are handed on too: at most every buffer of the ring, and the ring's buffers once
  // more, given back at the batch's end, before the cancel lands. A shard that kept reading would hold
  // tens of thousands.
  const size_t frames_per_read = loop.recv_buffer_size / kFrameBytes + 1;
  const size_t reads = test::backend_name() == "io_uring" ? 2 * size_t{loop.recv_buffers} : 1;
  const uint64_t backlog_bound = reads * frames_per_read;
  App app(options);
  App* a = &app;
  auto hello = [](WebSocketBase& ws) { ws.send(std::to_string(Shard::current()->id()), OpCode::text); };
  auto join = [](Request& req, Upgrade<Member>& up) { up.accept(Member{std::string(req.param("name"))}); };
  app.ws<Member>("/room/:name", {
      .on_upgrade = join,
      .on_open = [hello](WebSocket<Member>& ws) {
        hello(ws);
        ws.subscribe(ws.data().room);
      },
      .limits = {.max_backpressure = 16 << 20},  // this test is about the hand-offs, not slow members
  });
  app.ws<Member>("/pub/:name", {
      .on_upgrade = join,
      .on_open = [hello](WebSocket<Member>& ws) { hello(ws); },
      .on_message = [a](WebSocket<Member>& ws, std::string_view m, OpCode op) { a->rooms().publish(ws.data().room, m, op); },
  });
  app.start();
  const uint16_t port = app.port();

  test::RawWsClient member = client_on(port, "/room/busy", 1);
  test::RawWsClient publisher = client_on(port, "/pub/busy", 0);
  REQUIRE(test::eventually([&] { return metric(app, "rooms", 0) == 1; }, 5s));

  // Shard 1 is busy (a long task) while the publisher writes everything as fast as it can.
  std::atomic<bool> busy{false}, release{false};
  detail::AppInternals::server(app).runtime().shard(1).post([&](Shard&) {
    busy = true;
    const auto limit = std::chrono::steady_clock::now() + 20s;
    while (!release && std::chrono::steady_clock::now() < limit) std::this_thread::sleep_for(1ms);
  });
  REQUIRE(test::eventually([&] { return busy.load(); }, 5s));
  std::string frames;
  for (int i = 1; i <= kMessages; ++i) frames += publisher.encode({.opcode = test::op::kText, .payload = fmt::format("{:0200}", i)});
  std::atomic<bool> written{false};
  std::thread writer([&] { written = publisher.send_raw(frames); });

  // The publisher's shard pauses it, and its backlog for shard 1 stays bounded while shard 1 is busy
  // (what the socket had already delivered is handed on, never dropped).
  CHECK(test::eventually([&] { return metric(app, "mesh_pauses_total", 0) >= 1; }, 5s));
  std::this_thread::sleep_for(300ms);
  const uint64_t backlog = metric(app, "mesh_backlog", 0);
  INFO("backlog of shard 0 for shard 1: ", backlog, " tasks (bound ", backlog_bound, ")");
  CHECK(backlog >= 1);  // the queue did overflow
  CHECK(backlog <= backlog_bound);
  // Each publish is one hand-off to shard 1: in the queue or in the backlog. The rest waits in the socket.
  CHECK(metric(app, "room_published_total", 0) <= ShardOptions{}.mesh_capacity + backlog_bound);

  // Shard 1 catches up: the member gets every message, in order, and the publisher's writes all land.
  release = true;
  int next = 1;
  test::RawFrame f;
  while (next <= kMessages && member.read_frame(f, 10'000) == test::ReadStatus::frame) {
    int n = 0;
    std::from_chars(f.payload.data(), f.payload.data() + f.payload.size(), n);
    if (n != next) break;
    ++next;
  }
  CHECK(next == kMessages + 1);
  writer.join();
  CHECK(written);
  CHECK(metric(app, "mesh_backlog", 0) == 0);
  app.stop();
}
}  // TEST_SUITE
