// Conformance of what the server starts on its own: heartbeats (a ping every ping_interval; no pong
// within pong_timeout closes the connection), the idle timeout, and the closing handshake started
// by the server with ws.close() (RFC 6455 §7.1.2: the server sends its close frame, the client
// answers with one, and the server closes TCP; a client that never answers is cut off after
// close_timeout). Timers are short (tens of milliseconds) to keep the cases fast; bounds on what
// the client observes leave room for a loaded machine.
#include <doctest/doctest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "tests/ws/conformance/conformance_support.hpp"

using namespace ringcast;
using namespace ringcast::test;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

// One app with a route per timer behaviour; each route echoes, and "/closer" closes with 4000 when
// it receives the text "close".
class TimerServer {
 public:
  struct Peer {};
  using Socket = WebSocket<Peer>;

  static constexpr auto kPingInterval = 100ms;
  static constexpr auto kPongTimeout = 60ms;
  static constexpr auto kIdleTimeout = 300ms;
  static constexpr auto kCloseTimeout = 300ms;

  TimerServer() : app_({.host = "127.0.0.1", .port = 0, .shards = {.count = 2}, .loop = loop_options()}) {
    auto echo = [](Socket& ws, std::string_view msg, OpCode op) { ws.send(msg, op); };
    auto record = [this](Socket&, int code, std::string_view) {
      last_code_.store(code);
      closes_.fetch_add(1);
    };
    app_.ws<Peer>("/heartbeat", {.on_message = echo,
                                 .on_close = record,
                                 .limits = {.ping_interval = kPingInterval, .pong_timeout = kPongTimeout}});
    // A pong deadline longer than the interval: a prompt pong must not delay the next ping.
    app_.ws<Peer>("/heartbeat-long-pong",
                  {.on_message = echo,
                   .on_close = record,
                   .limits = {.ping_interval = kPingInterval, .pong_timeout = 3 * kPingInterval}});
    app_.ws<Peer>("/idle", {.on_message = echo, .on_close = record, .limits = {.idle_timeout = kIdleTimeout}});
    app_.ws<Peer>("/closer", {
        .on_message = [this](Socket& ws, std::string_view msg, OpCode op) {
          if (msg == "close") {
            ws.close(4000, "bye");
            late_send_dropped_.store(ws.send("after close", op) == SendStatus::dropped);
          } else if (msg == "close with a long reason") {
            ws.close(4001, long_reason());
          } else {
            ws.send(msg, op);
          }
        },
        .on_close = record,
        .limits = {.close_timeout = kCloseTimeout},
    });
    app_.start();
  }
  ~TimerServer() {
    app_.stop();
    app_.join();
  }

  // 199 bytes: "a", then "€" (3 bytes) repeated, so byte 123 falls inside a code point.
  static std::string long_reason() {
    std::string r = "a";
    while (r.size() + 3 <= 200) r += "\xe2\x82\xac";
    return r;
  }

  uint16_t port() const { return app_.port(); }
  bool wait_closes(int n) { return eventually([&] { return closes_.load() >= n; }, 5s); }
  int last_code() const { return last_code_.load(); }
  // Whether a send() right after ws.close() was dropped (RFC 6455 §5.5.1: no data after a close frame).
  bool late_send_dropped() const { return late_send_dropped_.load(); }

 private:
  std::atomic<bool> late_send_dropped_{false};
  std::atomic<int> closes_{0};
  std::atomic<int> last_code_{0};
  App app_;
};

template <typename D>
long long ms(D d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

}  // namespace

TEST_SUITE("io") {

TEST_CASE("conformance heartbeats: the server pings every ping_interval and a client that answers stays open") {
  TimerServer server;
  for (const std::string_view path : {"/heartbeat", "/heartbeat-long-pong"}) {
    CAPTURE(path);
    RawWsClient c = open_client(server.port(), Delivery::whole(), path);
    const auto start = Clock::now();
    std::vector<Clock::time_point> pings;
    while (Clock::now() - start < 700ms) {
      RawFrame f;
      const ReadStatus s = c.read_frame(f, 50);
      if (s == ReadStatus::timeout) continue;
      REQUIRE(s == ReadStatus::frame);
      check_server_frame(f);
      REQUIRE(int{f.opcode} == int{op::kPing});
      pings.push_back(Clock::now());
      REQUIRE(c.send_pong(f.payload));  // §5.5.3: the pong carries the ping's payload
    }
    REQUIRE(pings.size() >= 3);
    CHECK(pings.size() <= 8);
    // Spaced by ping_interval on average (a loaded machine only makes gaps longer).
    const auto mean = (pings.back() - pings.front()) / static_cast<int>(pings.size() - 1);
    CHECK(ms(mean) >= ms(TimerServer::kPingInterval) - 15);
    CHECK(ms(mean) <= ms(TimerServer::kPingInterval) + 50);
    REQUIRE(c.send_text("alive"));
    RawFrame f;
    do {
      REQUIRE(c.read_frame(f) == ReadStatus::frame);
    } while (f.opcode == op::kPing);
    CHECK(int{f.opcode} == int{op::kText});
    CHECK(f.payload == "alive");
  }
}

TEST_CASE("conformance heartbeats: a client that does not answer the ping is closed with 1001 after pong_timeout") {
  TimerServer server;
  const auto start = Clock::now();  // before the handshake: the server's clock starts at the upgrade
  RawWsClient c = open_client(server.port(), Delivery::whole(), "/heartbeat");
  const CloseOutcome o = c.read_until_close();
  const auto elapsed = Clock::now() - start;
  REQUIRE(o.close_received);
  CHECK(o.code == 1001);
  REQUIRE(o.before.size() == 1);  // the one ping that went unanswered
  CHECK(int{o.before[0].opcode} == int{op::kPing});
  CHECK(o.server_frames_ok);
  CHECK(o.clean());
  CHECK(ms(elapsed) >= ms(TimerServer::kPingInterval + TimerServer::kPongTimeout) - 5);
  CHECK(ms(elapsed) < 2000);
  REQUIRE(server.wait_closes(1));
  CHECK(server.last_code() == 1001);
}

TEST_CASE("conformance idle timeout: a silent client is closed with 1001 after idle_timeout, and the handshake completes") {
  TimerServer server;
  for (const Delivery d : kBothDeliveries) {
    CAPTURE(d.name());
    const auto start = Clock::now();  // before the handshake: the server's clock starts at the upgrade
    RawWsClient c = open_client(server.port(), d, "/idle");
    const CloseOutcome o = c.read_until_close();  // answers the server's close frame
    const auto elapsed = Clock::now() - start;
    check_closed(o, 1001);
    CHECK(ms(elapsed) >= ms(TimerServer::kIdleTimeout) - 5);
    CHECK(ms(elapsed) < 2000);
  }
  REQUIRE(server.wait_closes(2));
  CHECK(server.last_code() == 1001);
}

TEST_CASE("conformance idle timeout: frames from the client keep the connection open past idle_timeout") {
  TimerServer server;
  RawWsClient c = open_client(server.port(), Delivery::whole(), "/idle");
  const auto start = Clock::now();
  int i = 0;
  while (Clock::now() - start < 3 * TimerServer::kIdleTimeout) {
    std::this_thread::sleep_for(TimerServer::kIdleTimeout / 4);
    if (i % 2) {
      REQUIRE(c.send_ping("keep"));
      expect_frame(c, op::kPong, "keep");
    } else {
      REQUIRE(c.send_text("keep"));
      expect_echo(c, op::kText, "keep");
    }
    ++i;
  }
  // Then silence: the timeout comes.
  check_closed(c.read_until_close(), 1001);
}

TEST_CASE("conformance server close: ws.close sends the code and reason, the client answers, and the server closes TCP") {
  TimerServer server;
  for (const Delivery d : kBothDeliveries) {
    CAPTURE(d.name());
    RawWsClient c = open_client(server.port(), d, "/closer");
    REQUIRE(c.send_text("echo first"));
    expect_echo(c, op::kText, "echo first");
    REQUIRE(c.send_text("close"));
    RawFrame f;
    REQUIRE(c.read_frame(f) == ReadStatus::frame);
    check_server_frame(f);
    REQUIRE(int{f.opcode} == int{op::kClose});
    CHECK(f.close_code() == 4000);
    CHECK(f.close_reason() == "bye");
    // A peer may still send before it answers: data is not echoed any more, then the close completes
    // the handshake and the server closes TCP at once (not after close_timeout).
    REQUIRE(c.send_text("late message"));
    const auto start = Clock::now();
    REQUIRE(c.send_close(4000));
    CHECK(c.read_frame(f) == ReadStatus::eof);
    CHECK(ms(Clock::now() - start) < ms(TimerServer::kCloseTimeout));
  }
  REQUIRE(server.wait_closes(2));
  CHECK(server.last_code() == 4000);
  CHECK(server.late_send_dropped());
}

TEST_CASE("conformance server close: a reason too long for a close frame is cut to at most 123 bytes on a code point boundary") {
  TimerServer server;
  RawWsClient c = open_client(server.port(), Delivery::whole(), "/closer");
  REQUIRE(c.send_text("close with a long reason"));
  RawFrame f;
  REQUIRE(c.read_frame(f) == ReadStatus::frame);
  REQUIRE(int{f.opcode} == int{op::kClose});
  CHECK(f.payload.size() <= 125);  // RFC 6455 §5.5
  CHECK(f.close_code() == 4001);
  const std::string_view reason = f.close_reason();
  CHECK(reason.size() == 121);  // "a" and 40 whole "€": the most that fits in 123 bytes
  CHECK(TimerServer::long_reason().compare(0, reason.size(), reason) == 0);
  REQUIRE(c.send_close(4001));
  CHECK(c.read_frame(f) == ReadStatus::eof);
}

TEST_CASE("conformance server close: a server that stops sends 1001 to every WebSocket, completes each handshake, and closes TCP") {
  EchoServer server;
  std::vector<RawWsClient> clients;
  for (int i = 0; i < 6; ++i) {
    clients.push_back(open_client(server.port()));
    REQUIRE(clients.back().send_text("hello"));
    expect_echo(clients.back(), op::kText, "hello");
  }
  server.stop();
  for (RawWsClient& c : clients) {
    const CloseOutcome o = c.read_until_close();  // answers with 1001
    check_closed(o, 1001);
  }
  REQUIRE(server.wait_closes(6));
  for (const int code : server.close_codes()) CHECK(code == 1001);
}

TEST_CASE("conformance server close: a client that never answers the close frame is cut off after close_timeout") {
  TimerServer server;
  RawWsClient c = open_client(server.port(), Delivery::whole(), "/closer");
  const auto start = Clock::now();  // before the server can have sent its close frame
  REQUIRE(c.send_text("close"));
  const CloseOutcome o = c.read_until_close(RawWsClient::kDefaultTimeoutMs, false);
  const auto elapsed = Clock::now() - start;
  REQUIRE(o.close_received);
  CHECK(o.code == 4000);
  CHECK(o.end == ReadStatus::eof);
  CHECK(ms(elapsed) >= ms(TimerServer::kCloseTimeout) - 5);
  CHECK(ms(elapsed) < 3000);
}

}  // TEST_SUITE("io")
