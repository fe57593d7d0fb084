// Hostile input, the upgrade request: heads that servers have choked on before a WebSocket exists —
// header counts around the limit and ten thousand header lines with Upgrade last (an array indexed
// past its end, a head buffered without bound), list headers of nothing but commas and spaces (a
// parse that went quadratic, or picked an empty token), content on the upgrade GET (bytes that a
// proxy forwards as a body and the server reads as frames), framing headers given twice and an empty
// Host. Each is refused with its status before any WebSocket opens, or opens one that agreed to
// nothing it was not offered; none reaches on_message.
#include <doctest/doctest.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <fmt/format.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/memory.hpp"
#include "tests/support/raw_http_client.hpp"
#include "tests/ws/hostile/hostile_support.hpp"

using namespace ringcast;
using namespace ringcast::test;
using namespace std::chrono_literals;

namespace {

// An upgrade request for "/" with `fields` after Host and before the other four the handshake needs.
std::string upgrade_with(std::string_view fields, std::string_view last = {}) {
  std::string out = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  out += fields;
  out += "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
  out += last.empty() ? std::string_view("Upgrade: websocket\r\n") : last;
  return out + "\r\n";
}

// `n` filler field lines.
std::string fillers(size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += "X-" + std::to_string(i) + ": v\r\n";
  return out;
}

// Sends `request` (the server may stop reading before its end) and reads the answer.
std::optional<HttpReply> answer_to(uint16_t port, std::string_view request, bool& closed) {
  RawHttpClient c(port);
  REQUIRE(c.connected());
  c.send(request);  // may fail part-way: the server refused at a limit and closed
  std::optional<HttpReply> r = c.read();
  closed = c.closed_by_server();
  return r;
}

// CPU time of this process so far (the server's shards serve in it), in seconds.
double process_cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  auto seconds = [](const timeval& t) { return double(t.tv_sec) + double(t.tv_usec) / 1e6; };
  return seconds(u.ru_utime) + seconds(u.ru_stime);
}

// "," and " " alternating, `n` bytes.
std::string commas_and_spaces(size_t n) {
  std::string s(n, ' ');
  for (size_t i = 0; i < n; i += 2) s[i] = ',';
  return s;
}

}  // namespace

TEST_SUITE("io") {

TEST_CASE("hostile upgrade: 99 and 100 header fields open the WebSocket, 101 are refused with 431 and open nothing") {
  EchoServer server(64 << 10);
  // The handshake's five fields (Host, Upgrade, Connection, the key, the version) and fillers.
  for (const size_t fields : {size_t{99}, size_t{100}}) {
    CAPTURE(fields);
    RawWsClient c(server.port());
    REQUIRE(c.connected());
    REQUIRE(c.handshake("/", fillers(fields - 5)));
    REQUIRE(c.send_text("at the limit"));
    expect_echo(c, op::kText, "at the limit");
  }
  RawWsClient c(server.port());
  REQUIRE(c.connected());
  CHECK_FALSE(c.handshake("/", fillers(101 - 5)));
  CHECK(c.status() == 431);
  CHECK(c.read_eof() == ReadStatus::eof);
  CHECK(server.messages() == 2);
  CHECK(server.opens() == 2);
}

TEST_CASE("hostile upgrade: 10,000 header lines with Upgrade last, on 20 connections, are each refused with 431, the server's heap growing by a fraction of the heads") {
  EchoServer server(64 << 10);
  const std::string request = upgrade_with(fillers(10'000 - 5));
  CHECK(request.size() > 100'000);
  // The first connections allocate what every later one reuses (slab chunks, buffers): not the attack.
  for (int i = 0; i < 4; ++i) {
    bool closed = false;
    CHECK(answer_to(server.port(), request, closed).value_or(HttpReply{}).status == 431);
  }
  const size_t heap_before = heap_in_use();
  const uint64_t connections_before = server.metric("connections");
  std::vector<std::unique_ptr<RawHttpClient>> clients;
  for (int i = 0; i < 20; ++i) {
    clients.push_back(std::make_unique<RawHttpClient>(server.port()));
    REQUIRE(clients.back()->connected());
    clients.back()->send(request);  // the server stops reading at the 101st line
  }
  for (auto& c : clients) {
    const std::optional<HttpReply> r = c->read();
    REQUIRE(r);
    CHECK(r->status == 431);
    CHECK(c->closed_by_server());
  }
  // Measured with the clients' sockets still open: what the server holds for them.
  const long heap_growth = static_cast<long>(heap_in_use()) - static_cast<long>(heap_before);
  MESSAGE("20 heads of ", request.size() / 1024, " KiB refused; server heap +", heap_growth, " B");
  CHECK(heap_growth < (512 << 10));  // 2 MiB of heads sent
  clients.clear();
  CHECK(eventually([&] { return server.metric("connections") <= connections_before; }, 10s));
  // Still serving.
  RawWsClient ok = open_client(server.port());
  REQUIRE(ok.send_text("still here"));
  expect_echo(ok, op::kText, "still here");
  CHECK(server.opens() == 1);
}

TEST_CASE("hostile upgrade: 64 KB of commas and spaces in Sec-WebSocket-Protocol or -Extensions is over the head limit: 431") {
  EchoServer server(64 << 10, deflate_on(), false, {.route = [](WebSocketBehavior<EchoPeer>& b) { b.protocols = {"echo.v1"}; }});
  for (const char* header : {"Sec-WebSocket-Protocol", "Sec-WebSocket-Extensions"}) {
    CAPTURE(header);
    const auto start = std::chrono::steady_clock::now();
    bool closed = false;
    const std::optional<HttpReply> r =
        answer_to(server.port(), upgrade_with(std::string(header) + ": " + commas_and_spaces(64'000) + "echo.v1\r\n"), closed);
    REQUIRE(r);
    CHECK(r->status == 431);
    CHECK(closed);
    CHECK(std::chrono::steady_clock::now() - start < 2s);
  }
  CHECK(server.opens() == 0);
}

TEST_CASE("hostile upgrade: 16,000 bytes of commas and spaces within the head limit open a WebSocket that picked only what was offered") {
  EchoServer server(64 << 10, deflate_on(), false, {.route = [](WebSocketBehavior<EchoPeer>& b) { b.protocols = {"echo.v1"}; }});
  const std::string nothing = commas_and_spaces(16'000);
  struct Case {
    const char* what;
    std::string fields;
    const char* protocol;  // the answer's Sec-WebSocket-Protocol ("": none)
    bool deflate;          // the answer agreed to permessage-deflate
  };
  const Case cases[] = {
      {"a protocol list of nothing", "Sec-WebSocket-Protocol: " + nothing + "\r\n", "", false},
      {"an extension list of nothing", "Sec-WebSocket-Extensions: " + nothing + "\r\n", "", false},
      {"a protocol list ending in ours", "Sec-WebSocket-Protocol: " + nothing + "echo.v1\r\n", "echo.v1", false},
      {"an extension list ending in permessage-deflate", "Sec-WebSocket-Extensions: " + nothing + "permessage-deflate\r\n", "", true},
      // RFC 9110 §5.6.1: empty elements are ignored, and no list element is taken for a token.
      {"a protocol list of semicolons", "Sec-WebSocket-Protocol: " + std::string(8000, ';') + "\r\n", "", false},
      {"an extension list of bare semicolons", "Sec-WebSocket-Extensions: " + std::string(8000, ';') + "\r\n", "", false},
  };
  for (const Case& k : cases) {
    CAPTURE(k.what);
    RawWsClient c(server.port());
    REQUIRE(c.connected());
    REQUIRE(c.handshake("/", k.fields));
    CHECK(c.header("Sec-WebSocket-Protocol") == k.protocol);
    CHECK(c.header("Sec-WebSocket-Extensions").empty() == !k.deflate);
    REQUIRE(c.send_text("works"));
    expect_echo(c, op::kText, "works");
  }
}

TEST_CASE("hostile upgrade: content on the upgrade GET is refused with 400 before it is read, and never taken as frames") {
  EchoServer server(64 << 10);
  RawWsClient framer(server.port());  // only its encoder is used
  const std::string frame = framer.encode({.opcode = op::kText, .payload = "smuggled"});
  const std::string chunk = fmt::format("{:x}\r\n", frame.size()) + frame + "\r\n0\r\n\r\n";
  struct Case {
    const char* what;
    std::string request;
  };
  const Case cases[] = {
      {"a Content-Length with a frame as its body", upgrade_with(fmt::format("Content-Length: {}\r\n", frame.size())) + frame},
      {"a Content-Length whose body never comes", upgrade_with("Content-Length: 1000000\r\n")},
      {"a chunked body holding a frame", upgrade_with("Transfer-Encoding: chunked\r\n") + chunk},
  };
  for (const Case& k : cases) {
    CAPTURE(k.what);
    bool closed = false;
    const std::optional<HttpReply> r = answer_to(server.port(), k.request, closed);
    REQUIRE(r);
    CHECK(r->status == 400);
    CHECK(r->header("Connection") == "close");
    CHECK(closed);
  }
  CHECK(server.opens() == 0);
  CHECK(server.messages() == 0);
  // Content-Length: 0 is no content: the upgrade goes ahead, and the frame behind it is the first.
  RawWsClient c(server.port());
  REQUIRE(c.connected());
  REQUIRE(c.handshake("/", "Content-Length: 0\r\n", frame));
  expect_echo(c, op::kText, "smuggled");
}

TEST_CASE("hostile upgrade: an empty Host, two Hosts, or a Content-Length given twice are 400, and open nothing") {
  EchoServer server(64 << 10);
  const std::string cases[] = {
      "GET / HTTP/1.1\r\nHost:\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
      "Sec-WebSocket-Version: 13\r\n\r\n",
      upgrade_with("Host: 127.0.0.2\r\n"),
      upgrade_with("Content-Length: 0\r\nContent-Length: 0\r\n"),
      upgrade_with("Content-Length: 0, 0\r\n"),
      upgrade_with("Content-Length: 0\r\nContent-Length: 4\r\n"),
  };
  for (const std::string& request : cases) {
    CAPTURE(request.substr(0, 80));
    bool closed = false;
    const std::optional<HttpReply> r = answer_to(server.port(), request, closed);
    REQUIRE(r);
    CHECK(r->status == 400);
    CHECK(closed);
  }
  CHECK(server.opens() == 0);
}

}  // TEST_SUITE("io")

TEST_SUITE("io_alone") {

TEST_CASE("hostile upgrade: 16,000 bytes of commas and spaces in a list header cost a handshake about what a plain field of that size does") {
  EchoServer server(64 << 10, deflate_on(), false, {.route = [](WebSocketBehavior<EchoPeer>& b) { b.protocols = {"echo.v1"}; }});
  const std::string nothing = commas_and_spaces(16'000);
  // 50 handshakes with 16,000 bytes in one field: the process's CPU, client and server.
  auto cost = [&](const std::string& field) {
    const double start = process_cpu_seconds();
    for (int i = 0; i < 50; ++i) {
      RawWsClient c(server.port());
      REQUIRE(c.connected());
      REQUIRE(c.handshake("/", field));
    }
    return process_cpu_seconds() - start;
  };
  cost("X-Warm-Up: " + std::string(16'000, 'w') + "\r\n");
  const double plain = cost("X-Fill: " + std::string(16'000, 'f') + "\r\n");
  const double protocols = cost("Sec-WebSocket-Protocol: " + nothing + "\r\n");
  const double extensions = cost("Sec-WebSocket-Extensions: " + nothing + "\r\n");
  MESSAGE("50 handshakes with 16,000 bytes of a plain field: ", plain * 1e3, " ms of CPU; of commas in Sec-WebSocket-Protocol: ",
          protocols * 1e3, " ms; in Sec-WebSocket-Extensions: ", extensions * 1e3, " ms");
  CHECK(protocols <= 3 * plain + 0.02);  // twice under ASan, whose checks the token loop pays
  CHECK(extensions <= 3 * plain + 0.02);
}

}  // TEST_SUITE("io_alone")
