// Hostile input, the end of a connection: bytes sent after a Close (a server once buffered them until it
// ran out of memory), a peer that never answers the server's Close, and a peer that never reads what it
// asked for. The first two cost the server nothing lasting and end within the close timeouts; the third
// costs it at most max_backpressure, plus the one message that crossed it.
#include <doctest/doctest.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "tests/support/memory.hpp"
#include "tests/ws/hostile/hostile_support.hpp"

using namespace ringcast;
using namespace ringcast::test;
using namespace std::chrono_literals;

TEST_SUITE("io_alone") {

TEST_CASE("hostile: a Close followed by 100 MB of garbage: reading stops, nothing buffered, the socket gone within the close timeout") {
  EchoServer server;
  RawWsClient c = open_client(server.port());
  REQUIRE(eventually([&] { return server.metric("websockets") == 1; }, 5s));
  const uint64_t connections_before = server.metric("connections");
  const uint64_t read_before = server.metric("bytes_in_total");
  const size_t heap_before = heap_in_use();
  const long rss_before = rss_kib();
  REQUIRE(c.send_close(1000));
  std::atomic<size_t> sent{0};
  std::thread garbage([&] {
    const std::string chunk(64 << 10, '\xff');  // as a frame header: FIN, every RSV bit, opcode 0xF
    while (sent < (100u << 20)) {
      const ssize_t n = ::send(c.fd(), chunk.data(), chunk.size(), MSG_NOSIGNAL);
      if (n <= 0) break;  // the server reset the connection
      sent += static_cast<size_t>(n);
    }
  });
  const auto start = std::chrono::steady_clock::now();
  const CloseOutcome o = c.read_until_close(10'000, false);
  CHECK(eventually([&] { return server.metric("connections") < connections_before; }, 10s));
  const auto ended = std::chrono::steady_clock::now() - start;  // the server's socket is gone
  garbage.join();
  const uint64_t read = server.metric("bytes_in_total") - read_before;
  const long heap_growth = static_cast<long>(heap_in_use()) - static_cast<long>(heap_before);
  const long rss_growth = rss_kib() - rss_before;
  const size_t sent_kib = sent.load() / 1024;
  MESSAGE(sent_kib, " KiB of garbage sent, ", read / 1024, " KiB of it read by the server; its socket gone after ",
          std::chrono::duration_cast<std::chrono::milliseconds>(ended).count(), " ms; heap +", heap_growth, " B, RSS +",
          rss_growth, " KiB");
  CHECK(o.close_received);
  CHECK(o.code == 1000);
  CHECK(o.end != ReadStatus::timeout);
  CHECK(ended < 5s);  // within the loop's close timeout (5 s)
  // Reading stops: what the server reads after the Close is what a closing connection may drop
  // (256 KiB) and the reads already under way when it crossed that (io_uring: up to 8 buffers of
  // 16 KiB a receive), not the 100 MB — each byte read, even into nothing, costs the shard its read.
  CHECK(read < (1u << 20));
  CHECK(server.metric("closing_resets_total") == 1);
  CHECK(heap_growth < (1 << 20));
  // RSS: at most the pages of the shards' receive buffers read into for the first time (io_uring: a
  // ring of 16 MiB a shard, of which a few buffers here), nothing of the garbage itself — under ASan
  // too, whose quarantine holds what the process frees (and counts in RSS, not in the heap).
  CHECK(rss_growth < 8 * 1024);
  CHECK(server.close_codes() == std::vector<int>{1000});
  CHECK(server.messages() == 0);
}

}  // TEST_SUITE("io_alone")

TEST_SUITE("io") {

TEST_CASE("hostile: a client that never answers the server's Close is dropped once the close timeout is over") {
  EchoServer server(64 << 10, DeflateOptions{.enabled = false}, false, {.route = [](WebSocketBehavior<EchoPeer>& b) {
                      b.limits.idle_timeout = 200ms;  // what makes the server close
                      b.limits.close_timeout = 300ms;
                    }});
  RawWsClient c = open_client(server.port());
  RawFrame f;
  REQUIRE(c.read_frame(f, 5000) == ReadStatus::frame);
  REQUIRE(f.opcode == op::kClose);
  CHECK(f.close_code() == 1001);
  const auto start = std::chrono::steady_clock::now();
  CHECK(c.read_eof(5000) == ReadStatus::eof);  // no answer from us; the server ends TCP on its own
  const auto took = std::chrono::steady_clock::now() - start;
  MESSAGE("TCP ended ", std::chrono::duration_cast<std::chrono::milliseconds>(took).count(), " ms after the server's Close");
  CHECK(took >= 250ms);
  CHECK(took < 1500ms);
  REQUIRE(server.wait_closes(1));
  CHECK(server.metric("websockets") == 0);
}

TEST_CASE("hostile: frames after the server's Close are skipped unread: nothing assembled, inflated or delivered, until the client's Close") {
  EchoServer server(kEchoMaxMessage, deflate_on(), false, {.route = [](WebSocketBehavior<EchoPeer>& b) {
                      b.limits = WebSocketLimits{};
                      b.limits.idle_timeout = 200ms;  // what makes the server close first
                    }});
  RawWsClient c = deflate_client(server.port());
  RawFrame f;
  REQUIRE(c.read_frame(f, 5000) == ReadStatus::frame);
  REQUIRE(f.opcode == op::kClose);
  // The server waits for our Close; meanwhile a bomb (16 KB inflating to 16 MiB) in fragments, a
  // fragmented plain message over the limit, and text that is not UTF-8: before its Close, each
  // would have been assembled, inflated or checked, and failed.
  PeerDeflater z(15, false, 9);
  const std::string bomb = z.compress(std::string(16 << 20, '\0'));
  REQUIRE(c.send_raw(message_frames(c, op::kBinary, bomb, 16)));
  REQUIRE(c.send_raw(message_frames(c, op::kBinary, std::string(256 << 10, 'p'), 8, 0)));
  REQUIRE(c.send_raw(c.encode({.opcode = op::kText, .payload = "\xff\xfe"})));
  REQUIRE(c.send_raw(c.encode({.opcode = op::kPing, .payload = "after close"})));  // not answered (§5.5.1)
  REQUIRE(eventually([&] { return server.metric("bytes_in_total") > bomb.size() + (256 << 10); }, 5s));
  CHECK(server.metric("websocket_inflated_bytes_total") == 0);
  CHECK(server.metric("websocket_partial_message_bytes") == 0);
  CHECK(server.metric("websocket_protocol_errors_total") == 0);
  CHECK(server.metric("websocket_closed_too_big_total") == 0);
  REQUIRE(c.send_close(1000));
  CHECK(c.read_frame(f, 5000) == ReadStatus::eof);  // nothing more from the server: no Pong, no second Close
  REQUIRE(server.wait_closes(1));
  CHECK(server.close_codes() == std::vector<int>{1001});
  CHECK(server.messages() == 0);
}

TEST_CASE("hostile: a client that never reads costs at most max_backpressure and the message that crossed it") {
  constexpr size_t kMessage = 32 << 10;
  constexpr size_t kBackpressure = 256 << 10;
  EchoServer server(64 << 10, DeflateOptions{.enabled = false}, false, {.route = [](WebSocketBehavior<EchoPeer>& b) {
                      b.limits.max_backpressure = kBackpressure;
                    }});
  // The small receive buffer is set before connecting: shrunk after, below the window already
  // advertised, it made the client drop in-window segments, the server's window updates among them, and
  // both ends waited on each other (about 1 run in 40 under load, on every backend: the server idle,
  // nothing queued, the client's 3.9 MB unsent for a window it never heard had opened).
  RawWsClient c(server.port(), Delivery::whole(), 4096);
  REQUIRE(c.connected());
  REQUIRE(c.handshake());
  const std::string frame = c.encode({.opcode = op::kBinary, .payload = std::string(kMessage, 'e')});
  // 1,000 echoes asked for (32 MB) and none read: the server drops what its budget cannot queue.
  std::thread writer([&] {
    for (int i = 0; i < 1000; ++i) {
      if (!c.send_raw(frame)) break;
    }
  });
  CHECK(eventually([&] { return server.metric("websocket_dropped_total") > 0; }, 10s));
  writer.join();
  REQUIRE(eventually([&] { return server.messages() == 1000; }, 10s));
  const uint64_t queued = server.metric("output_queued_bytes");
  MESSAGE(queued, " B queued for a client that reads nothing, ", server.metric("websocket_dropped_total"), " echoes dropped");
  CHECK(queued <= kBackpressure + kMessage + 64);
  CHECK(server.metric("websocket_dropped_total") >= 500);  // the kernel buffers hold the rest
}

}  // TEST_SUITE("io")
