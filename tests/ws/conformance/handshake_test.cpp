// Conformance of the opening handshake (RFC 6455 §4.2): what the server accepts, what it answers, and
// how it refuses a request that is not a valid upgrade. Autobahn does not test this; a browser does.
#include <doctest/doctest.h>

#include <string>

#include "tests/ws/conformance/conformance_support.hpp"

using namespace ringcast::test;

namespace {

constexpr std::string_view kKey = "dGhlIHNhbXBsZSBub25jZQ==";  // RFC 6455 §1.3

// A request with the usual fields; `replace` swaps a whole header line for another (or removes it).
std::string request(std::string_view method_line = "GET / HTTP/1.1",
                    std::vector<std::pair<std::string, std::string>> replace = {}) {
  std::vector<std::pair<std::string, std::string>> fields = {
      {"Host", "127.0.0.1"},
      {"Upgrade", "websocket"},
      {"Connection", "Upgrade"},
      {"Sec-WebSocket-Key", std::string(kKey)},
      {"Sec-WebSocket-Version", "13"},
  };
  for (auto& [name, value] : replace) {
    bool found = false;
    for (auto& f : fields) {
      if (f.first == name) {
        f.second = value;
        found = true;
      }
    }
    if (!found) fields.emplace_back(name, value);
  }
  std::string out(method_line);
  out += "\r\n";
  for (auto& [name, value] : fields) {
    if (value == "<none>") continue;
    out += name + ": " + value + "\r\n";
  }
  return out + "\r\n";
}

// Sends `req` on a new connection and returns the client holding the answer's head.
RawWsClient exchange(uint16_t port, const std::string& req) {
  RawWsClient c(port);
  REQUIRE(c.connected());
  REQUIRE(c.send_raw(req));
  REQUIRE(c.read_http_head());
  return c;
}

}  // namespace

TEST_SUITE("io") {

TEST_CASE("conformance handshake: a valid upgrade gets 101 with the accept value of RFC 6455 §1.3, and no subprotocol or extension it did not pick") {
  EchoServer server;
  RawWsClient c = exchange(server.port(), request("GET / HTTP/1.1", {{"Sec-WebSocket-Protocol", "chat, superchat"},
                                                                     {"Sec-WebSocket-Extensions", "x-unknown-extension"}}));
  CHECK(c.status() == 101);
  CHECK(c.header("Sec-WebSocket-Accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  CHECK(RawWsClient::accept_for(kKey) == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  CHECK(c.header("Upgrade") == "websocket");
  // §4.2.2: a subprotocol or extension is named only when the server picked it.
  CHECK(c.header("Sec-WebSocket-Protocol").empty());
  CHECK(c.header("Sec-WebSocket-Extensions").empty());
  REQUIRE(c.send_text("open"));
  expect_echo(c, op::kText, "open");
}

TEST_CASE("conformance handshake: a request and the frames behind it, delivered byte by byte, open the connection and are served") {
  EchoServer server;
  RawWsClient c(server.port(), Delivery::bytewise());
  REQUIRE(c.connected());
  std::string bytes = request();
  bytes += c.encode({.opcode = op::kText, .payload = "right behind the request"});
  REQUIRE(c.send_raw(bytes));
  REQUIRE(c.read_http_head());
  CHECK(c.status() == 101);
  CHECK(c.header("Sec-WebSocket-Accept") == RawWsClient::accept_for(kKey));
  expect_echo(c, op::kText, "right behind the request");
}

TEST_CASE("conformance handshake: header names and the upgrade tokens are case-insensitive, and Connection may list other tokens") {
  EchoServer server;
  std::string req = "GET /any/path?x=1 HTTP/1.1\r\nhost: 127.0.0.1\r\nupgrade: WebSocket\r\n"
                    "connection: keep-alive, UPGRADE\r\nsec-websocket-key: " + std::string(kKey) +
                    "\r\nsec-websocket-version: 13\r\norigin: http://example.com\r\n\r\n";
  RawWsClient c = exchange(server.port(), req);
  CHECK(c.status() == 101);
  CHECK(c.header("sec-websocket-accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST_CASE("conformance handshake: a version other than 13 gets 426 naming version 13 (RFC 6455 §4.4)") {
  EchoServer server;
  for (const std::string version : {"8", "12", "14", "<none>"}) {
    CAPTURE(version);
    RawWsClient c = exchange(server.port(), request("GET / HTTP/1.1", {{"Sec-WebSocket-Version", version}}));
    CHECK(c.status() == 426);
    CHECK(c.header("Sec-WebSocket-Version") == "13");
    CHECK(c.read_eof() == ReadStatus::eof);
  }
}

TEST_CASE("conformance handshake: requests that are not a valid upgrade are refused with 400, and no frames are served") {
  EchoServer server;
  struct Bad {
    std::string_view what;
    std::string req;
  };
  const Bad bad[] = {
      {"no key", request("GET / HTTP/1.1", {{"Sec-WebSocket-Key", "<none>"}})},
      {"a key of 15 bytes", request("GET / HTTP/1.1", {{"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25j"}})},
      {"a key that is not base64", request("GET / HTTP/1.1", {{"Sec-WebSocket-Key", "not base64 at all!!!!!=="}})},
      {"Upgrade is not websocket", request("GET / HTTP/1.1", {{"Upgrade", "h2c"}})},
      {"Connection without upgrade", request("GET / HTTP/1.1", {{"Connection", "keep-alive"}})},
      {"HTTP/1.0", request("GET / HTTP/1.0")},
  };
  for (const Bad& b : bad) {
    CAPTURE(b.what);
    RawWsClient c = exchange(server.port(), b.req);
    CHECK(c.status() == 400);
    CHECK(c.header("Sec-WebSocket-Accept").empty());
    CHECK(c.read_eof() == ReadStatus::eof);  // the server closes after refusing
  }
}

TEST_CASE("conformance handshake: an upgrade pipelined behind a plain request on a keep-alive connection is served after it") {
  EchoServer server;
  for (const Delivery d : kBothDeliveries) {
    CAPTURE(d.name());
    RawWsClient c(server.port(), d);
    REQUIRE(c.connected());
    std::string bytes = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" + request();
    bytes += c.encode({.opcode = op::kText, .payload = "after two requests"});
    REQUIRE(c.send_raw(bytes));
    REQUIRE(c.read_http_head());
    CHECK(c.status() == 200);
    REQUIRE(c.header("Content-Length") == "2");
    std::string body;
    REQUIRE(c.read_bytes(2, body));
    CHECK(body == "ok");
    REQUIRE(c.read_http_head());
    CHECK(c.status() == 101);
    CHECK(c.header("Sec-WebSocket-Accept") == RawWsClient::accept_for(kKey));
    expect_echo(c, op::kText, "after two requests");
  }
}

TEST_CASE("conformance handshake: a plain GET to a WebSocket route gets 426 Upgrade Required") {
  EchoServer server;
  RawWsClient c = exchange(server.port(), "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  CHECK(c.status() == 426);
}

}  // TEST_SUITE("io")
