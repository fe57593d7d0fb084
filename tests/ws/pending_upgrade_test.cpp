// Integration tests of deferred WebSocket upgrades (ringcast/ws/pending_upgrade.hpp, Upgrade::defer)
// through an App over real sockets, run once per backend: a decision from another thread or from the
// connection's shard, a rejection, a client gone before the decision, no decision at all, frames
// pipelined behind the request, permessage-deflate settled at the deferral, and two decisions.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <ringcast/core/shard.hpp>
#include <ringcast/ws/app.hpp>
#include <ringcast/ws/detail/app_internals.hpp>
#include "tests/support/deflate_test_support.hpp"
#include "tests/support/handoffs.hpp"
#include "tests/support/net_test_support.hpp"
#include "tests/support/raw_http_client.hpp"
#include "tests/support/raw_ws_client.hpp"

using namespace ringcast;
using namespace std::chrono_literals;
using test::RawFrame;
using test::RawHttpClient;
using test::RawWsClient;
using test::ReadStatus;

namespace {

constexpr const char* kKey = "dGhlIHNhbXBsZSBub25jZQ==";      // RFC 6455 §1.3's example
constexpr const char* kAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";  // ... and its answer
constexpr int kNotYet = -1;    // Member::ended_on before the member's end
constexpr int kOffShard = -2;  // ... when it ended on a thread that is no shard

// Move-only user data that says where it ended: the holder of the last move stores the id of the
// shard it is destroyed on (kOffShard elsewhere) in `ended_on`.
struct Member {
  Member() = default;
  Member(std::string n, std::shared_ptr<std::atomic<int>> e) : name(std::move(n)), ended_on(std::move(e)) {}
  Member(Member&&) noexcept = default;
  Member& operator=(Member&&) noexcept = default;
  ~Member() {
    if (ended_on) ended_on->store(Shard::current() ? static_cast<int>(Shard::current()->id()) : kOffShard);
  }
  std::string name;
  std::shared_ptr<std::atomic<int>> ended_on;
};

// A deferred upgrade as on_upgrade hands it on: the handle, and what it copied from the Request.
struct Deferred {
  PendingUpgrade<Member> handle;
  std::string name;  // the query's name=
};

// The deferred upgrades, in arrival order, passed from the shards to the test's thread.
using DeferredUpgrades = test::Handoffs<Deferred>;

// An App whose WebSocket routes defer their upgrades: /later to the test, /at-once and /on-shard to
// the connection's shard itself (accepted in on_upgrade right after defer(), or from a deferred
// task), /fickle to the test after deciding synchronously too (ignored once deferred). Every
// WebSocket greets its client with "hello NAME" in on_open and echoes messages (compressed when
// permessage-deflate was agreed, subprotocols chat.v2 then chat.v1).
struct DeferApp {
  explicit DeferApp(HttpServerOptions http = {})
      : app({.host = "127.0.0.1", .port = 0, .shards = {.count = 2}, .loop = test::loop_options(), .http = http}) {
    auto behavior = [this](std::function<void(Request&, Upgrade<Member>&)> on_upgrade) {
      return WebSocketBehavior<Member>{
          .on_upgrade = std::move(on_upgrade),
          .on_open =
              [this](WebSocket<Member>& ws) {
                opened_on = static_cast<int>(Shard::current()->id());
                ++opened;
                ws.send("hello " + ws.data().name);
              },
          .on_message = [](WebSocket<Member>& ws, std::string_view m, OpCode op) { ws.send(m, op, true); },
          .protocols = {"chat.v2", "chat.v1"},
          .compression = DeflateOptions{.enabled = true},
      };
    };
    app.ws<Member>("/later", behavior([this](Request& req, Upgrade<Member>& up) {
      deferred.add({up.defer(), req.query("name")});
    }));
    app.ws<Member>("/at-once", behavior([this](Request& req, Upgrade<Member>& up) {
      up.defer().accept(Member(req.query("name"), ended));
    }));
    app.ws<Member>("/on-shard", behavior([](Request&, Upgrade<Member>& up) {
      Shard::current()->defer([pending = up.defer()](Shard&) { pending.accept(Member("on-shard", nullptr)); });
    }));
    app.ws<Member>("/fickle", behavior([this](Request& req, Upgrade<Member>& up) {
      up.accept(Member("synchronous", nullptr));
      const PendingUpgrade<Member> first = up.defer();
      up.reject(403, "too late: deferred");
      deferred.add({up.defer(), req.query("name")});  // the same handle as `first`
      CHECK(first);
    }));
  }
  ~DeferApp() {
    app.stop();
    app.join();
  }
  uint16_t start() {
    app.start();
    return app.port();
  }
  uint64_t closed() { return detail::AppInternals::server(app).total(&NetStats::connections_closed); }

  App app;
  DeferredUpgrades deferred;
  std::atomic<int> opened{0};
  std::atomic<int> opened_on{-1};
  std::shared_ptr<std::atomic<int>> ended = std::make_shared<std::atomic<int>>(kNotYet);
};

// An upgrade request for `path` with RFC 6455's example key and the `extra` header lines.
std::string upgrade_request(std::string_view path, std::string_view extra = {}) {
  return "GET " + std::string(path) +
         " HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + kKey +
         "\r\nSec-WebSocket-Version: 13\r\n" + std::string(extra) + "\r\n";
}

// Runs `decide` on a new thread (no shard) and waits for it.
template <typename Fn>
void from_another_thread(Fn decide) {
  std::thread([&decide] {
    CHECK(Shard::current() == nullptr);
    decide();
  }).join();
}

// Reads one text frame; its payload, or "<STATUS>" when none came.
std::string read_text(RawWsClient& c) {
  RawFrame f;
  const ReadStatus s = c.read_frame(f);
  if (s != ReadStatus::frame) return std::string("<") + test::to_string(s) + ">";
  return f.payload;
}

}  // namespace

TEST_SUITE("io") {

TEST_CASE("deferred upgrade: accepted from another thread, the 101 goes out with the settled terms, on_open runs on the connection's shard with the user data, and messages flow") {
  DeferApp t;
  RawWsClient c(t.start());
  REQUIRE(c.send_raw(upgrade_request("/later?name=ada", "Origin: https://app.example\r\n"
                                                        "Sec-WebSocket-Protocol: chat.v1, chat.v2\r\n")));
  const Deferred d = t.deferred.wait(0);
  REQUIRE(d.handle);
  CHECK(d.name == "ada");               // copied from the Request in on_upgrade
  CHECK_FALSE(c.read_http_head(200));   // nothing until the decision
  from_another_thread([&] {
    CHECK(d.handle.origin() == "https://app.example");
    CHECK(d.handle.protocol() == "chat.v2");
    d.handle.accept(Member(d.name, t.ended));
  });
  REQUIRE(c.read_http_head());
  CHECK(c.status() == 101);
  CHECK(c.header("sec-websocket-accept") == kAccept);
  CHECK(c.header("sec-websocket-protocol") == "chat.v2");
  CHECK(c.header("sec-websocket-extensions").empty());  // not offered
  CHECK(read_text(c) == "hello ada");
  CHECK(t.opened_on.load() == static_cast<int>(d.handle.shard()));
  REQUIRE(c.send_text("over a deferred upgrade"));
  CHECK(read_text(c) == "over a deferred upgrade");
  // The user data lives with the WebSocket, and ends with it, on its shard.
  CHECK(t.ended->load() == kNotYet);
  REQUIRE(c.send_close(1000));
  CHECK(test::eventually([&] { return t.ended->load() != kNotYet; }, 5s));
  CHECK(t.ended->load() == static_cast<int>(d.handle.shard()));
}

TEST_CASE("deferred upgrade: accepted with another subprotocol than the one picked") {
  DeferApp t;
  RawWsClient c(t.start());
  REQUIRE(c.send_raw(upgrade_request("/later?name=bo", "Sec-WebSocket-Protocol: chat.v1, chat.v2\r\n")));
  const Deferred d = t.deferred.wait(0);
  REQUIRE(d.handle);
  from_another_thread([&] { d.handle.accept(Member(d.name, t.ended), "chat.v1"); });
  REQUIRE(c.read_http_head());
  CHECK(c.status() == 101);
  CHECK(c.header("sec-websocket-protocol") == "chat.v1");
  CHECK(read_text(c) == "hello bo");
}

TEST_CASE("deferred upgrade: rejected later, the client gets the status and body, then the connection closes; a frame sent behind the request is never read") {
  DeferApp t;
  const uint16_t port = t.start();
  RawHttpClient c(port);
  std::mt19937 rng(1);
  REQUIRE(c.send(upgrade_request("/later?name=eve") + test::encode_frame({.opcode = test::op::kText, .payload = "sneaked in"}, rng)));
  const Deferred d = t.deferred.wait(0);
  REQUIRE(d.handle);
  CHECK(c.quiet_for(200));
  from_another_thread([&] { d.handle.reject(401, "who are you?"); });
  const auto r = c.read();
  REQUIRE(r);
  CHECK(r->status == 401);
  CHECK(r->body == "who are you?");
  CHECK(r->header("Connection") == "close");
  CHECK(c.closed_by_server());  // and nothing else: the frame was not taken for a request
  CHECK(t.opened.load() == 0);
}

TEST_CASE("deferred upgrade: decided on the connection's shard itself, within on_upgrade or from a deferred task") {
  DeferApp t;
  const uint16_t port = t.start();
  for (const char* path : {"/at-once?name=now", "/on-shard"}) {
    CAPTURE(path);
    RawWsClient c(port);
    REQUIRE(c.handshake(path));
    CHECK(read_text(c) == (std::string(path) == "/on-shard" ? "hello on-shard" : "hello now"));
    REQUIRE(c.send_text("echo"));
    CHECK(read_text(c) == "echo");
  }
  CHECK(t.opened.load() == 2);
}

TEST_CASE("deferred upgrade: once deferred, the Upgrade's own decision is ignored and defer() again gives the same handle") {
  DeferApp t;
  RawWsClient c(t.start());
  REQUIRE(c.send_raw(upgrade_request("/fickle?name=later")));
  const Deferred d = t.deferred.wait(0);
  REQUIRE(d.handle);
  CHECK_FALSE(c.read_http_head(200));
  from_another_thread([&] { d.handle.accept(Member(d.name, t.ended)); });
  REQUIRE(c.read_http_head());
  CHECK(c.status() == 101);
  CHECK(read_text(c) == "hello later");
}

TEST_CASE("deferred upgrade: a client gone before the decision opens nothing; the late decision's user data ends on the shard") {
  DeferApp t;
  const uint16_t port = t.start();
  Deferred gone;
  {
    RawHttpClient a(port);
    REQUIRE(a.send(upgrade_request("/later?name=gone")));
    gone = t.deferred.wait(0);
    REQUIRE(gone.handle);
  }  // the client hangs up before the decision
  REQUIRE(test::eventually([&] { return t.closed() >= 1; }, 5s));
  from_another_thread([&] { gone.handle.accept(Member(gone.name, t.ended)); });
  REQUIRE(test::eventually([&] { return t.ended->load() != kNotYet; }, 5s));
  CHECK(t.ended->load() == static_cast<int>(gone.handle.shard()));  // destroyed there, unopened
  from_another_thread([&] { gone.handle.reject(500, "later still"); });  // harmless too
  std::this_thread::sleep_for(100ms);
  CHECK(t.opened.load() == 0);
  // The server is fine: the next deferred upgrade opens.
  RawWsClient c(port);
  REQUIRE(c.send_raw(upgrade_request("/later?name=next")));
  const Deferred next = t.deferred.wait(1);
  REQUIRE(next.handle);
  from_another_thread([&] { next.handle.accept(Member(next.name, nullptr)); });
  REQUIRE(c.read_http_head());
  CHECK(c.status() == 101);
  CHECK(read_text(c) == "hello next");
}

TEST_CASE("deferred upgrade: no decision within answer_timeout_ms is 503 and close; a decision after it is dropped") {
  DeferApp t({.answer_timeout_ms = 300});
  RawHttpClient c(t.start());
  REQUIRE(c.send(upgrade_request("/later?name=slow")));
  const Deferred d = t.deferred.wait(0);
  REQUIRE(d.handle);
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = c.read();
  REQUIRE(r);
  CHECK(r->status == 503);
  CHECK(std::chrono::steady_clock::now() - t0 < 3s);
  CHECK(c.closed_by_server());
  from_another_thread([&] { d.handle.accept(Member(d.name, t.ended)); });
  REQUIRE(test::eventually([&] { return t.ended->load() != kNotYet; }, 5s));
  CHECK(t.ended->load() == static_cast<int>(d.handle.shard()));
  CHECK(t.opened.load() == 0);
}

TEST_CASE("deferred upgrade: frames pipelined behind the request wait unparsed and arrive as messages after the accept") {
  DeferApp t;
  RawWsClient c(t.start());
  std::vector<std::string> messages;
  SUBCASE("one frame") { messages.push_back("sent before the 101"); }
  SUBCASE("more than 16 KiB of frames: reading stops meanwhile, and resumes after the accept") {
    for (int i = 0; i < 300; ++i) messages.push_back(std::to_string(i) + ": " + std::string(100, 'x'));
  }
  std::string early;
  for (const std::string& m : messages) early += c.encode({.opcode = test::op::kText, .payload = m});
  REQUIRE(c.send_raw(upgrade_request("/later?name=eager") + early));
  const Deferred d = t.deferred.wait(0);
  REQUIRE(d.handle);
  CHECK_FALSE(c.read_http_head(200));
  from_another_thread([&] { d.handle.accept(Member(d.name, t.ended)); });
  REQUIRE(c.read_http_head());
  CHECK(c.status() == 101);
  CHECK(read_text(c) == "hello eager");
  size_t echoed = 0;
  while (echoed < messages.size() && read_text(c) == messages[echoed]) ++echoed;
  CHECK(echoed == messages.size());
}

TEST_CASE("deferred upgrade: permessage-deflate negotiated at the deferral is in force after the accept, both ways compressed") {
  DeferApp t;
  RawWsClient c(t.start());
  std::string message;
  while (message.size() < 4000) message += "a compressible message, well over the threshold; ";
  test::PeerDeflater deflater(15, false);
  const std::string compressed = deflater.compress(message);
  // The first compressed message goes right behind the request: it is read with the agreement.
  REQUIRE(c.send_raw(upgrade_request("/later?name=zip", "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n") +
                     c.encode({.opcode = test::op::kText, .payload = compressed, .rsv = test::kRsv1Bit})));
  const Deferred d = t.deferred.wait(0);
  REQUIRE(d.handle);
  from_another_thread([&] { d.handle.accept(Member(d.name, t.ended)); });
  REQUIRE(c.read_http_head());
  CHECK(c.status() == 101);
  CHECK(c.header("sec-websocket-extensions").find("permessage-deflate") != std::string::npos);
  CHECK(read_text(c) == "hello zip");  // under the threshold: plain
  test::PeerInflater inflater(15, false);
  for (int i = 0; i < 2; ++i) {
    CAPTURE(i);
    if (i == 1) REQUIRE(c.send_frame({.opcode = test::op::kText, .payload = deflater.compress(message), .rsv = test::kRsv1Bit}));
    RawFrame f;
    REQUIRE(c.read_frame(f) == ReadStatus::frame);
    CHECK(f.rsv == test::kRsv1Bit);  // compressed (RFC 7692 §6.1)
    std::string inflated;
    REQUIRE(inflater.inflate_message(f.payload, inflated));
    CHECK(inflated == message);
  }
}

TEST_CASE("deferred upgrade: of two decisions the first wins, the second is dropped") {
  DeferApp t;
  const uint16_t port = t.start();
  SUBCASE("accept, then reject") {
    RawWsClient c(port);
    REQUIRE(c.send_raw(upgrade_request("/later?name=first")));
    const Deferred d = t.deferred.wait(0);
    REQUIRE(d.handle);
    from_another_thread([&] {
      d.handle.accept(Member(d.name, t.ended));
      const PendingUpgrade<Member> copy = d.handle;  // copies name the same upgrade
      copy.reject(401, "second");
    });
    REQUIRE(c.read_http_head());
    CHECK(c.status() == 101);
    CHECK(read_text(c) == "hello first");
    REQUIRE(c.send_text("still open"));
    CHECK(read_text(c) == "still open");
  }
  SUBCASE("reject, then accept: the accepted user data ends on the shard, unopened") {
    RawHttpClient c(port);
    REQUIRE(c.send(upgrade_request("/later?name=second")));
    const Deferred d = t.deferred.wait(0);
    REQUIRE(d.handle);
    from_another_thread([&] {
      d.handle.reject(401, "first");
      d.handle.accept(Member(d.name, t.ended));
    });
    const auto r = c.read();
    REQUIRE(r);
    CHECK(r->status == 401);
    CHECK(r->body == "first");
    CHECK(c.closed_by_server());
    REQUIRE(test::eventually([&] { return t.ended->load() != kNotYet; }, 5s));
    CHECK(t.ended->load() == static_cast<int>(d.handle.shard()));
    CHECK(t.opened.load() == 0);
  }
}

}  // TEST_SUITE("io")
