// The limits before authentication (ringcast/ws/web_socket_limits.hpp): a connection accepted with
// Upgrade::accept_pending_auth, or PendingUpgrade::accept_pending_auth, is held to
// max_message_size_before_auth (1009, before any callback), may not subscribe or publish, and is closed
// with 1008 after auth_timeout, until WebSocket::authenticate() lifts all three; a connection accepted
// with accept() never meets them. Over real sockets against an EchoServer, on every backend.
#include <doctest/doctest.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "tests/ws/hostile/hostile_support.hpp"

using namespace ringcast;
using namespace ringcast::test;
using namespace std::chrono_literals;

namespace {

// The route's limits as an application that sets none has them, changed by `tune`; on_upgrade accepts
// "/open" with accept(), "/deferred" through a PendingUpgrade, anything else pending authentication.
// A text message is a command — "auth" (authenticate), "state", "subscribe", "publish" — answered with
// what it did; anything else is echoed.
EchoSetup pending_auth(std::function<void(WebSocketLimits&)> tune = {}) {
  return {.route = [tune](WebSocketBehavior<EchoPeer>& b) {
    b.limits = WebSocketLimits{};
    if (tune) tune(b.limits);
    b.on_upgrade = [](Request& req, Upgrade<EchoPeer>& up) {
      if (req.path() == "/open") {
        up.accept();
      } else if (req.path() == "/deferred") {
        up.defer().accept_pending_auth();  // decided on the shard itself: a deferred task
      } else {
        up.accept_pending_auth();
      }
    };
    b.on_message = [echo = std::move(b.on_message)](WebSocket<EchoPeer>& ws, std::string_view m, OpCode op) {
      if (op == OpCode::text && m == "auth") {
        ws.authenticate();
        ws.send("authenticated");
      } else if (op == OpCode::text && m == "state") {
        ws.send(ws.authenticated() ? "authenticated" : "pending");
      } else if (op == OpCode::text && m == "subscribe") {
        ws.send(ws.subscribe("room") ? "subscribed" : "refused");
      } else if (op == OpCode::text && m == "publish") {
        ws.send(ws.publish("room", "hello room") ? "published" : "refused");
      } else {
        echo(ws, m, op);
      }
    };
  }};
}

// Sends a command and checks the answer.
void ask(RawWsClient& c, std::string_view command, std::string_view answer) {
  REQUIRE(c.send_text(command));
  expect_frame(c, op::kText, answer);
}

std::string deflated(std::string_view message) {
  PeerDeflater z(15, false, 9);
  return z.compress(message);
}

}  // namespace

TEST_SUITE("io") {

TEST_CASE("pending auth: a message of max_message_size_before_auth is delivered, one byte more closes with 1009 before any callback") {
  constexpr size_t kBeforeAuth = 4 << 10;  // the default
  EchoServer server(64 << 10, DeflateOptions{.enabled = false}, false, pending_auth());
  const std::string at_limit(kBeforeAuth, 'a');
  RawWsClient c = open_client(server.port());
  ask(c, "state", "pending");
  REQUIRE(c.send_binary(at_limit));
  expect_echo(c, op::kBinary, at_limit);
  SUBCASE("whole") { REQUIRE(c.send_binary(at_limit + "b")); }
  SUBCASE("the frame that crosses it, of a fragmented message") {
    REQUIRE(c.send_binary(at_limit.substr(0, 4000), false));
    REQUIRE(c.send_continuation(at_limit.substr(4000), false));
    REQUIRE(c.send_continuation("b", true));
  }
  expect_fail(c, 1009);
  CHECK(server.messages() == 1);
  CHECK(server.metric("websocket_closed_too_big_total") == 1);
}

TEST_CASE("pending auth: a compressed message inflating past max_message_size_before_auth closes with 1009") {
  EchoServer server(64 << 10, deflate_on(), false, pending_auth());
  RawWsClient c = deflate_client(server.port());
  const std::string at_limit(4 << 10, 'a');
  REQUIRE(c.send_raw(message_frames(c, op::kBinary, deflated(at_limit), 1)));
  expect_echo(c, op::kBinary, at_limit);
  const std::string bomb = deflated(std::string(1 << 20, 'z'));  // 1 KiB inflating to 1 MiB
  REQUIRE(c.send_raw(message_frames(c, op::kBinary, bomb, 1)));
  expect_fail(c, 1009);
  CHECK(server.metric("websocket_inflated_bytes_total") <= (4 << 10) + (4 << 10) + 1);
  CHECK(server.messages() == 1);
}

TEST_CASE("pending auth: subscribe and publish return false until authenticate(), which lifts the message limit to max_message_size") {
  EchoServer server(64 << 10, DeflateOptions{.enabled = false}, false, pending_auth());
  RawWsClient c = open_client(server.port());
  ask(c, "subscribe", "refused");
  ask(c, "publish", "refused");
  CHECK(server.metric("room_subscriptions") == 0);
  CHECK(server.metric("room_published_total") == 0);
  ask(c, "auth", "authenticated");
  ask(c, "state", "authenticated");
  ask(c, "subscribe", "subscribed");
  CHECK(server.metric("room_subscriptions") == 1);
  ask(c, "publish", "published");
  const std::string large(64 << 10, 'L');  // the route's own limit now
  REQUIRE(c.send_binary(large));
  expect_echo(c, op::kBinary, large);
  ask(c, "auth", "authenticated");  // a second call changes nothing
  REQUIRE(c.send_close(1000));
  expect_close_echo(c, 1000);
  CHECK(server.close_codes() == std::vector<int>{1000});
}

TEST_CASE("pending auth: no authenticate() within auth_timeout closes with 1008, however busy the client; an authenticated one stays") {
  EchoServer server(64 << 10, DeflateOptions{.enabled = false}, false,
                    pending_auth([](WebSocketLimits& l) { l.auth_timeout = 300ms; }));
  RawWsClient late = open_client(server.port());
  const auto opened = std::chrono::steady_clock::now();
  RawWsClient prompt = open_client(server.port());
  ask(prompt, "auth", "authenticated");
  // Messages do not buy time: the deadline counts from the 101.
  RawFrame f;
  bool closed = false;
  for (int i = 0; i < 60 && !closed; ++i) {
    REQUIRE(late.send_binary("still here"));
    REQUIRE(late.read_frame(f, 2000) == ReadStatus::frame);  // the echo, or the server's Close
    closed = f.opcode == op::kClose;
    if (!closed) std::this_thread::sleep_for(50ms);
  }
  REQUIRE(closed);
  const auto took = std::chrono::steady_clock::now() - opened;
  MESSAGE("closed ", std::chrono::duration_cast<std::chrono::milliseconds>(took).count(), " ms after the 101");
  CHECK(f.close_code() == 1008);
  CHECK(took >= 250ms);
  CHECK(took < 2s);
  REQUIRE(late.send_close(1008));
  CHECK(late.read_eof() == ReadStatus::eof);
  CHECK(server.metric("websocket_closed_auth_timeout_total") == 1);
  // The authenticated one is past the deadline and open.
  std::this_thread::sleep_for(300ms);
  ask(prompt, "state", "authenticated");
  CHECK(server.close_codes() == std::vector<int>{1008});
}

TEST_CASE("pending auth: no heartbeat pings before authenticate(), then every ping_interval") {
  EchoServer server(64 << 10, DeflateOptions{.enabled = false}, false, pending_auth([](WebSocketLimits& l) {
                      l.ping_interval = 100ms;
                      l.auth_timeout = 5s;
                    }));
  RawWsClient c = open_client(server.port());
  RawFrame f;
  CHECK(c.read_frame(f, 400) == ReadStatus::timeout);
  ask(c, "auth", "authenticated");
  REQUIRE(c.read_frame(f, 1000) == ReadStatus::frame);
  CHECK(int{f.opcode} == int{op::kPing});
}

TEST_CASE("pending auth: a deferred upgrade accepted pending authentication is held the same way") {
  EchoServer server(64 << 10, DeflateOptions{.enabled = false}, false,
                    pending_auth([](WebSocketLimits& l) { l.auth_timeout = 300ms; }));
  RawWsClient c = open_client(server.port(), Delivery::whole(), "/deferred");
  ask(c, "state", "pending");
  ask(c, "subscribe", "refused");
  const CloseOutcome o = c.read_until_close(3000);
  CHECK(o.code == 1008);
  CHECK(server.metric("websocket_closed_auth_timeout_total") == 1);
}

TEST_CASE("pending auth: a connection accepted with accept() is authenticated from the start: full size, rooms, no deadline") {
  EchoServer server(64 << 10, DeflateOptions{.enabled = false}, false,
                    pending_auth([](WebSocketLimits& l) { l.auth_timeout = 200ms; }));
  RawWsClient c = open_client(server.port(), Delivery::whole(), "/open");
  ask(c, "state", "authenticated");
  const std::string large(64 << 10, 'L');
  REQUIRE(c.send_binary(large));
  expect_echo(c, op::kBinary, large);
  ask(c, "subscribe", "subscribed");
  ask(c, "publish", "published");
  std::this_thread::sleep_for(400ms);
  ask(c, "state", "authenticated");
  CHECK(server.metric("websocket_closed_auth_timeout_total") == 0);
}

}  // TEST_SUITE("io")
