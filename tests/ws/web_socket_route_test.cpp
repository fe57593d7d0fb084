// Integration tests of the WebSocket upgrade (ringcast/ws/web_socket_route.hpp, RFC 6455 §4.2) through
// an App over real sockets, run once per backend: which requests are refused with which status and
// headers, the on_upgrade hook, Origin and subprotocol choice, and a working connection after 101.
#include <doctest/doctest.h>

#include <sys/socket.h>

#include <atomic>
#include <string>
#include <vector>

#include <ringcast/ws/app.hpp>
#include "tests/support/net_test_support.hpp"
#include "tests/support/raw_http_client.hpp"

using namespace ringcast;
using test::ask_once;
using test::HttpReply;
using test::RawHttpClient;

namespace {

constexpr const char* kKey = "dGhlIHNhbXBsZSBub25jZQ==";      // RFC 6455 §1.3's example
constexpr const char* kAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";  // ... and its answer

struct User {
  std::string name;
};

// An App with WebSocket routes: /ws (any origin, subprotocols chat.v2 then chat.v1), /strict (one
// allowed origin) and /auth (on_upgrade wants "Authorization: Bearer good"), which echo messages, and
// /whoami, which greets each client with the address it sees it at.
struct TestApp {
  TestApp() : app({.host = "127.0.0.1", .port = 0, .shards = {.count = 2}, .loop = test::loop_options()}) {
    auto echo = [](WebSocket<User>& ws, std::string_view message, OpCode op) { ws.send(message, op); };
    app.ws<User>("/ws", {.on_message = echo, .protocols = {"chat.v2", "chat.v1"}});
    app.ws<User>("/strict", {.on_message = echo, .allowed_origins = {"https://good.example"}});
    app.ws<User>("/auth", {
        .on_upgrade = [](Request& req, Upgrade<User>& up) {
          if (req.header("Authorization") == "Bearer good") {
            up.accept(User{"good"});
          } else {
            up.reject(401, "who are you?");
          }
        },
        .on_open = [](WebSocket<User>& ws) { ws.send("hello " + ws.data().name); },
    });
    app.ws<User>("/whoami", {.on_open = [](WebSocket<User>& ws) { ws.send(ws.remote_address().to_string()); }});
  }
  ~TestApp() {
    app.stop();
    app.join();
  }
  uint16_t start() {
    app.start();
    return app.port();
  }
  App app;
};

// An upgrade request for `path`: `fields` replace the default fields of the same name ("<none>"
// leaves one out) or are added.
std::string upgrade_request(std::string_view path, std::vector<std::pair<std::string, std::string>> fields = {},
                            std::string_view version = "HTTP/1.1") {
  std::vector<std::pair<std::string, std::string>> all = {
      {"Host", "test"},
      {"Upgrade", "websocket"},
      {"Connection", "Upgrade"},
      {"Sec-WebSocket-Key", kKey},
      {"Sec-WebSocket-Version", "13"},
  };
  for (auto& [name, value] : fields) {
    bool replaced = false;
    for (auto& f : all) {
      if (f.first == name && !replaced) {
        f.second = value;
        replaced = true;
      }
    }
    if (!replaced) all.emplace_back(name, value);
  }
  std::string out = "GET " + std::string(path) + " " + std::string(version) + "\r\n";
  for (const auto& [name, value] : all) {
    if (value != "<none>") out += name + ": " + value + "\r\n";
  }
  return out + "\r\n";
}

// A masked client frame (RFC 6455 §5.2) with one payload of at most 125 bytes.
std::string client_frame(uint8_t opcode, std::string_view payload) {
  const uint8_t mask[4] = {0x12, 0x34, 0x56, 0x78};
  std::string f;
  f += char(0x80 | opcode);
  f += char(0x80 | payload.size());
  f.append(reinterpret_cast<const char*>(mask), 4);
  for (size_t i = 0; i < payload.size(); ++i) f += char(payload[i] ^ mask[i % 4]);
  return f;
}

// Reads one unmasked server frame with a payload under 126 bytes: {opcode, payload}.
std::pair<int, std::string> read_server_frame(RawHttpClient& c) {
  std::string bytes = c.pending();
  char buf[256];
  while (bytes.size() < 2 || bytes.size() < 2 + size_t(uint8_t(bytes[1]) & 0x7f)) {
    const ssize_t n = ::recv(c.fd(), buf, sizeof buf, 0);
    if (n <= 0) return {-1, {}};
    bytes.append(buf, size_t(n));
  }
  const size_t len = uint8_t(bytes[1]) & 0x7f;
  if (uint8_t(bytes[1]) & 0x80 || len > 125) return {-1, {}};  // servers never mask (§5.1)
  return {uint8_t(bytes[0]) & 0x0f, bytes.substr(2, len)};
}

// Sends `request` on a new connection: the reply, and whether the server then closed.
struct Refusal {
  HttpReply reply;
  bool closed = false;
};
Refusal refusal(uint16_t port, const std::string& request) {
  RawHttpClient c(port);
  REQUIRE(c.connected());
  REQUIRE(c.send(request));
  Refusal r;
  r.reply = c.read().value_or(HttpReply{});
  r.closed = c.closed_by_server();
  return r;
}

}  // namespace

TEST_SUITE("io") {

TEST_CASE("websocket upgrade: a valid request gets 101 with the RFC's accept value, then frames flow") {
  TestApp t;
  const uint16_t port = t.start();
  RawHttpClient c(port);
  REQUIRE(c.send(upgrade_request("/ws")));
  const auto r = c.read();
  REQUIRE(r);
  CHECK(r->status == 101);
  CHECK(HttpReply::iequals(r->header("Upgrade"), "websocket"));
  CHECK(HttpReply::iequals(r->header("Connection"), "upgrade"));
  CHECK(r->header("Sec-WebSocket-Accept") == kAccept);
  CHECK(r->count("Sec-WebSocket-Protocol") == 0);  // none offered: none chosen (§4.2.2)
  CHECK(r->count("Sec-WebSocket-Extensions") == 0);
  REQUIRE(c.send(client_frame(0x1, "over the upgrade")));
  const auto [op, payload] = read_server_frame(c);
  CHECK(op == 0x1);
  CHECK(payload == "over the upgrade");
}

TEST_CASE("websocket upgrade: a plain GET is 426 with Upgrade: websocket, a version other than 13 is 426 with the version spoken") {
  TestApp t;
  const uint16_t port = t.start();
  SUBCASE("no Upgrade header") {
    const Refusal r = refusal(port, "GET /ws HTTP/1.1\r\nHost: test\r\n\r\n");
    CHECK(r.reply.status == 426);
    CHECK(HttpReply::iequals(r.reply.header("Upgrade"), "websocket"));  // RFC 9110 §15.5.22: MUST send Upgrade
    CHECK(r.closed);
  }
  SUBCASE("version 12") {
    const Refusal r = refusal(port, upgrade_request("/ws", {{"Sec-WebSocket-Version", "12"}}));
    CHECK(r.reply.status == 426);
    CHECK(r.reply.header("Sec-WebSocket-Version") == "13");  // RFC 6455 §4.4
    CHECK(r.closed);
  }
  SUBCASE("no version") {
    const Refusal r = refusal(port, upgrade_request("/ws", {{"Sec-WebSocket-Version", "<none>"}}));
    CHECK(r.reply.status == 426);
    CHECK(r.reply.header("Sec-WebSocket-Version") == "13");
  }
}

TEST_CASE("websocket upgrade: a bad key, a bad Upgrade or Connection, or HTTP/1.0 is 400") {
  TestApp t;
  const uint16_t port = t.start();
  struct Case {
    std::string what;
    std::string request;
  };
  const Case cases[] = {
      {"a key of 15 bytes", upgrade_request("/ws", {{"Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAA"}})},
      {"a key that is not base64", upgrade_request("/ws", {{"Sec-WebSocket-Key", "not base64 at all!!!!!=="}})},
      {"no key", upgrade_request("/ws", {{"Sec-WebSocket-Key", "<none>"}})},
      {"Upgrade: h2c", upgrade_request("/ws", {{"Upgrade", "h2c"}})},
      {"Connection without upgrade", upgrade_request("/ws", {{"Connection", "keep-alive"}})},
      {"HTTP/1.0", upgrade_request("/ws", {}, "HTTP/1.0")},
  };
  for (const Case& k : cases) {
    CAPTURE(k.what);
    const Refusal r = refusal(port, k.request);
    CHECK(r.reply.status == 400);
    CHECK(r.closed);
  }
  // Tokens are case-insensitive (§4.2.1): these are fine.
  CHECK(ask_once(port, upgrade_request("/ws", {{"Upgrade", "WebSocket"}, {"Connection", "keep-alive, UPGRADE"}})).status == 101);
}

TEST_CASE("websocket upgrade: an Origin outside allowed_origins is 403, an allowed one or none is accepted") {
  TestApp t;
  const uint16_t port = t.start();
  const Refusal bad = refusal(port, upgrade_request("/strict", {{"Origin", "https://evil.example"}}));
  CHECK(bad.reply.status == 403);
  CHECK(bad.closed);
  CHECK(ask_once(port, upgrade_request("/strict", {{"Origin", "https://good.example"}})).status == 101);
  CHECK(ask_once(port, upgrade_request("/strict")).status == 101);  // not a browser: no Origin
  CHECK(ask_once(port, upgrade_request("/ws", {{"Origin", "https://evil.example"}})).status == 101);
}

TEST_CASE("websocket upgrade: on_upgrade can reject with 401 and a body, or accept with user data") {
  TestApp t;
  const uint16_t port = t.start();
  const Refusal no = refusal(port, upgrade_request("/auth", {{"Authorization", "Bearer bad"}}));
  CHECK(no.reply.status == 401);
  CHECK(no.reply.body == "who are you?");
  CHECK(no.closed);
  RawHttpClient c(port);
  REQUIRE(c.send(upgrade_request("/auth", {{"Authorization", "Bearer good"}})));
  const auto r = c.read();
  REQUIRE(r);
  CHECK(r->status == 101);
  const auto [op, payload] = read_server_frame(c);  // on_open greets with the user data
  CHECK(op == 0x1);
  CHECK(payload == "hello good");
}

TEST_CASE("websocket: a WebSocket knows its client's address and port") {
  TestApp t;
  const uint16_t port = t.start();
  RawHttpClient c(port);
  sockaddr_storage local{};
  socklen_t len = sizeof local;
  REQUIRE(::getsockname(c.fd(), reinterpret_cast<sockaddr*>(&local), &len) == 0);
  const SocketAddress client = SocketAddress::from(reinterpret_cast<const sockaddr*>(&local), len);
  REQUIRE(c.send(upgrade_request("/whoami")));
  const auto r = c.read();
  REQUIRE(r);
  CHECK(r->status == 101);
  const auto [op, payload] = read_server_frame(c);
  CHECK(op == 0x1);
  CHECK(payload == client.to_string());
  CHECK(payload.starts_with("127.0.0.1:"));
}

TEST_CASE("websocket upgrade: the server's preferred subprotocol among those offered is chosen, or none") {
  TestApp t;
  const uint16_t port = t.start();
  struct Case {
    std::string what;
    std::vector<std::string> offered;  // one Sec-WebSocket-Protocol field line each
    std::string chosen;                // "": no Sec-WebSocket-Protocol in the answer
  };
  const Case cases[] = {
      {"both offered, the client's order differs", {"chat.v1, chat.v2"}, "chat.v2"},
      {"one of ours offered", {"mqtt, chat.v1"}, "chat.v1"},
      {"none of ours", {"mqtt"}, ""},
      {"names are case-sensitive", {"CHAT.V2"}, ""},
      // RFC 9110 §5.3: several field lines of one name are one comma-separated list.
      {"over two field lines", {"chat.v1", "chat.v2"}, "chat.v2"},
  };
  for (const Case& k : cases) {
    CAPTURE(k.what);
    std::string request = upgrade_request("/ws");
    for (const std::string& line : k.offered) {
      request.insert(request.size() - 2, "Sec-WebSocket-Protocol: " + line + "\r\n");
    }
    const HttpReply r = ask_once(port, request);
    CHECK(r.status == 101);
    CHECK(r.header("Sec-WebSocket-Protocol") == k.chosen);
    CHECK(r.count("Sec-WebSocket-Protocol") == (k.chosen.empty() ? 0u : 1u));
  }
}

TEST_CASE("websocket upgrade: a WebSocket route answers other methods 405 with Allow") {
  TestApp t;
  const uint16_t port = t.start();
  RawHttpClient c(port);
  REQUIRE(c.send("POST /ws HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\n\r\n"));
  const auto r = c.read();
  REQUIRE(r);
  CHECK(r->status == 405);
  CHECK(r->header("Allow") == "GET, HEAD");
}

TEST_CASE("websocket: an empty message, ping payload or close reason reaches its callback with a non-null data()") {
  TestApp t;
  // -1: not called yet; 1: an empty view with a non-null data(); 0: anything else.
  std::atomic<int> message{-1}, ping{-1}, reason{-1};
  auto verdict = [](std::string_view v) { return v.empty() && v.data() != nullptr ? 1 : 0; };
  t.app.ws<User>("/nonnull", {
      .on_message = [&](WebSocket<User>&, std::string_view m, OpCode) { message = verdict(m); },
      .on_ping = [&](WebSocket<User>&, std::string_view p) { ping = verdict(p); },
      .on_close = [&](WebSocket<User>&, int, std::string_view r) { reason = verdict(r); },
  });
  const uint16_t port = t.start();
  RawHttpClient c(port);
  REQUIRE(c.send(upgrade_request("/nonnull")));
  const auto r = c.read(true);
  REQUIRE(r);
  REQUIRE(r->status == 101);
  REQUIRE(c.send(client_frame(0x1, "") + client_frame(0x9, "") + client_frame(0x8, "\x03\xe8")));  // close 1000, no reason
  CHECK(test::eventually([&] { return message != -1 && ping != -1 && reason != -1; }, std::chrono::seconds(5)));
  CHECK(message == 1);
  CHECK(ping == 1);
  CHECK(reason == 1);
}

}  // TEST_SUITE("io")
