// Integration tests of the HTTP/1.1 server (ringcast/net/http/http_server.hpp) through an App over real
// sockets on 127.0.0.1, run once per backend. The client is RawHttpClient: raw bytes out, its own
// reader in.
#include <doctest/doctest.h>

#include <fmt/format.h>
#include <poll.h>
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <ringcast/core/shard.hpp>
#include <ringcast/net/http/static_files.hpp>
#include <ringcast/net/tcp_echo_handler.hpp>
#include <ringcast/net/tcp_server.hpp>
#include <ringcast/ws/app.hpp>
#include <ringcast/ws/detail/app_internals.hpp>
#include "tests/support/handoffs.hpp"
#include "tests/support/net_test_support.hpp"
#include "tests/support/raw_http_client.hpp"
#include "tests/support/test_process.hpp"

using namespace ringcast;
using namespace std::chrono_literals;
using test::ask_once;
using test::HttpReply;
using test::RawHttpClient;

namespace {

constexpr uint64_t kEchoLimit = 1024;  // POST /echo accepts bodies up to this many bytes

// An App on 127.0.0.1 with a few routes, stopped when the test ends (also when a REQUIRE fails).
struct TestApp {
  explicit TestApp(HttpServerOptions http = {})
      : app({.host = "127.0.0.1", .port = 0, .shards = {.count = 2}, .loop = test::loop_options(), .http = http}) {
    app.get("/hello", [](Request&, Response& res) { res.send("hello"); });
    app.post("/echo", [](Request& req, Response& res) { res.send(req.body(), "application/octet-stream"); },
             kEchoLimit);
    app.get("/items/:id", [](Request& req, Response& res) { res.send("item " + std::string(req.param("id"))); });
    app.get("/only", [](Request&, Response& res) { res.send("get"); });
    app.post("/only", [](Request&, Response& res) { res.send("post"); });
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

std::string get(std::string_view path, std::string_view extra = {}) {
  return "GET " + std::string(path) + " HTTP/1.1\r\nHost: test\r\n" + std::string(extra) + "\r\n";
}

std::string post(std::string_view path, std::string_view body, std::string_view extra = {}) {
  return "POST " + std::string(path) + " HTTP/1.1\r\nHost: test\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n" + std::string(extra) + "\r\n" + std::string(body);
}

// True when `fd` becomes readable within `ms`.
bool readable_within(int fd, int ms) {
  pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
  return ::poll(&p, 1, ms) > 0;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// A temporary directory tree, removed at the end of the test.
struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/ringcast-http-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  void write(const std::string& rel, std::string_view bytes) const {
    std::filesystem::create_directories(std::filesystem::path(path + "/" + rel).parent_path());
    std::ofstream(path + "/" + rel, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
  }
  std::string path;
};

}  // namespace

TEST_SUITE("io") {

TEST_CASE("http server: a GET is answered 200 with its body, Content-Length and Date, and the connection stays open") {
  TestApp t;
  const uint16_t port = t.start();
  RawHttpClient c(port);
  REQUIRE(c.send(get("/hello")));
  const auto r = c.read();
  REQUIRE(r);
  CHECK(r->version == "HTTP/1.1");
  CHECK(r->status == 200);
  CHECK(r->body == "hello");
  CHECK(r->header("Content-Length") == "5");
  CHECK(r->header("Content-Type") == "text/plain; charset=utf-8");
  CHECK(r->header("Date").size() == 29);  // IMF-fixdate
  CHECK(r->header("Connection").empty());
  // Same connection, a route parameter.
  REQUIRE(c.send(get("/items/42")));
  const auto r2 = c.read();
  REQUIRE(r2);
  CHECK(r2->body == "item 42");
  CHECK(c.quiet_for(200));
}

TEST_CASE("http server: each malformed request gets its status, then the connection closes") {
  TestApp t;
  const uint16_t port = t.start();
  struct Case {
    std::string what;
    std::string request;
    int status;
  };
  const Case cases[] = {
      {"bare LF ends a field line", "GET /hello HTTP/1.1\r\nHost: test\nX: y\r\n\r\n", 400},
      {"no Host", "GET /hello HTTP/1.1\r\n\r\n", 400},
      {"two Host fields", "GET /hello HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
      {"an empty Host", "GET /hello HTTP/1.1\r\nHost:\r\n\r\n", 400},
      {"a Host of whitespace", "GET /hello HTTP/1.1\r\nHost:   \r\n\r\n", 400},
      {"HTTP/2.0 on an HTTP/1 connection", "GET /hello HTTP/2.0\r\nHost: test\r\n\r\n", 505},
      {"not HTTP", "GET /hello HTTX/1.1\r\nHost: test\r\n\r\n", 400},
      {"a method that is not a token", "G(T /hello HTTP/1.1\r\nHost: test\r\n\r\n", 400},
      {"a target that is no form of RFC 9112 §3.2", "GET hello HTTP/1.1\r\nHost: test\r\n\r\n", 400},
      {"two spaces in the request line", "GET  /hello HTTP/1.1\r\nHost: test\r\n\r\n", 400},
      {"whitespace before the first field", "GET /hello HTTP/1.1\r\n Host: test\r\n\r\n", 400},
      {"obs-fold", "GET /hello HTTP/1.1\r\nHost: test\r\nX: a\r\n b\r\n\r\n", 400},
      {"space before the colon", "GET /hello HTTP/1.1\r\nHost : test\r\n\r\n", 400},
      {"a field name that is not a token", "GET /hello HTTP/1.1\r\nHost: test\r\nBad Name: y\r\n\r\n", 400},
      {"a control byte in a field value", std::string("GET /hello HTTP/1.1\r\nHost: test\r\nX: a\x01z\r\n\r\n"), 400},
      {"a Content-Length that is not a number", "POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 5x\r\n\r\n", 400},
      {"two different Content-Lengths",
       "POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello", 400},
      {"the same Content-Length twice",
       "POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 400},
      {"a Content-Length list of one value", "POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 5, 5\r\n\r\nhello", 400},
      {"Content-Length with Transfer-Encoding (smuggling)",
       "POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"a transfer coding other than chunked",
       "POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
      {"no chunked at all", "POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: gzip\r\n\r\n", 400},
      {"chunked not last", "POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400},
      {"Transfer-Encoding in HTTP/1.0", "POST /echo HTTP/1.0\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
  };
  for (const Case& k : cases) {
    CAPTURE(k.what);
    RawHttpClient c(port);
    REQUIRE(c.send(k.request));
    const auto r = c.read();
    REQUIRE(r);
    CHECK(r->status == k.status);
    CHECK(r->header("Connection") == "close");
    CHECK(c.closed_by_server());
  }
}

TEST_CASE("http server: a request line over 8 KiB is 414, a head over 16 KiB or with over 100 fields is 431") {
  TestApp t;
  const uint16_t port = t.start();
  SUBCASE("request line") {
    RawHttpClient c(port);
    REQUIRE(c.send("GET /" + std::string(9000, 'a') + " HTTP/1.1\r\nHost: test\r\n\r\n"));
    const auto r = c.read();
    REQUIRE(r);
    CHECK(r->status == 414);
    CHECK(c.closed_by_server());
  }
  SUBCASE("a request line just under the limit is served (404: no such route)") {
    const HttpReply r = ask_once(port, "GET /" + std::string(8000, 'a') + " HTTP/1.1\r\nHost: test\r\n\r\n");
    CHECK(r.status == 404);
  }
  SUBCASE("header section") {
    std::string fields;
    for (int i = 0; i < 20; ++i) fields += "X-Fill-" + std::to_string(i) + ": " + std::string(1000, 'v') + "\r\n";
    RawHttpClient c(port);
    REQUIRE(c.send(get("/hello", fields)));
    const auto r = c.read();
    REQUIRE(r);
    CHECK(r->status == 431);
    CHECK(c.closed_by_server());
  }
  SUBCASE("99 and 100 fields are served, 101 are 431") {
    std::string fields;
    for (int i = 0; i < 98; ++i) fields += "X-" + std::to_string(i) + ": v\r\n";
    CHECK(ask_once(port, get("/hello", fields)).status == 200);  // Host and 98 more
    fields += "X-98: v\r\n";
    CHECK(ask_once(port, get("/hello", fields)).status == 200);  // Host and 99 more
    RawHttpClient c(port);
    REQUIRE(c.send(get("/hello", fields + "X-one-more: v\r\n")));
    const auto r = c.read();
    REQUIRE(r);
    CHECK(r->status == 431);
    CHECK(c.closed_by_server());
  }
}

TEST_CASE("http server: a Content-Length over the route's limit is 413 and closes, the limit itself is served") {
  TestApp t;
  const uint16_t port = t.start();
  const std::string at_limit(kEchoLimit, 'b');
  const HttpReply ok = ask_once(port, post("/echo", at_limit));
  CHECK(ok.status == 200);
  CHECK(ok.body == at_limit);
  SUBCASE("head only: answered before the body is sent") {
    RawHttpClient c(port);
    REQUIRE(c.send("POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 1025\r\n\r\n"));
    const auto r = c.read();
    REQUIRE(r);
    CHECK(r->status == 413);
    CHECK(r->header("Connection") == "close");
    CHECK(c.closed_by_server());
  }
  SUBCASE("with the body: the 413 still arrives (the unread body does not reset the connection)") {
    RawHttpClient c(port);
    REQUIRE(c.send(post("/echo", std::string(200'000, 'x'))));
    const auto r = c.read();
    REQUIRE(r);
    CHECK(r->status == 413);
    CHECK(c.closed_by_server());
  }
}

TEST_CASE("http server: chunked bodies are decoded, also when they arrive in pieces; malformed chunked is 400") {
  TestApp t;
  const uint16_t port = t.start();
  const std::string head = "POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n";
  SUBCASE("whole") {
    const HttpReply r = ask_once(port, head + "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n");
    CHECK(r.status == 200);
    CHECK(r.body == "hello world");
  }
  SUBCASE("byte by byte, then the next request on the same connection") {
    RawHttpClient c(port);
    const std::string request = head + "a\r\n0123456789\r\n1\r\n!\r\n0\r\n\r\n";
    for (char ch : request) {
      REQUIRE(c.send(std::string_view(&ch, 1)));
      std::this_thread::sleep_for(200us);
    }
    const auto r = c.read();
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body == "0123456789!");
    REQUIRE(c.send(get("/hello")));
    const auto r2 = c.read();
    REQUIRE(r2);
    CHECK(r2->body == "hello");
  }
  SUBCASE("malformed") {
    const char* bad[] = {
        "zz\r\nhello\r\n0\r\n\r\n",     // not a hex size
        "5\r\nhelloXX\r\n0\r\n\r\n",    // data longer than its size
        "5 \r\nhello\r\n0\r\n\r\n",     // whitespace after the size
        "5\nhello\r\n0\r\n\r\n",        // bare LF
    };
    for (const char* body : bad) {
      INFO("body: ", std::string(body));
      RawHttpClient c(port);
      REQUIRE(c.send(head + body));
      const auto r = c.read();
      REQUIRE(r);
      CHECK(r->status == 400);
      CHECK(c.closed_by_server());
    }
  }
  SUBCASE("over the route's limit") {
    RawHttpClient c(port);
    REQUIRE(c.send(head + "400\r\n" + std::string(0x400, 'a') + "\r\n1\r\nb\r\n0\r\n\r\n"));
    const auto r = c.read();
    REQUIRE(r);
    CHECK(r->status == 413);
    CHECK(c.closed_by_server());
  }
}

TEST_CASE("http server: three pipelined requests in one write get three answers in order") {
  TestApp t;
  const uint16_t port = t.start();
  RawHttpClient c(port);
  REQUIRE(c.send(get("/hello") + post("/echo", "abc") + get("/items/7")));
  const char* expected[] = {"hello", "abc", "item 7"};
  for (const char* body : expected) {
    const auto r = c.read();
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body == body);
  }
  CHECK(c.quiet_for(200));
  SUBCASE("the last asks to close: three answers, then the connection closes") {
    REQUIRE(c.send(get("/items/1") + post("/echo", "xyz") + get("/items/3", "Connection: close\r\n")));
    for (const char* body : {"item 1", "xyz", "item 3"}) {
      const auto r = c.read();
      REQUIRE(r);
      CHECK(r->body == body);
    }
    CHECK(c.closed_by_server());
  }
  SUBCASE("requests trickled a byte at a time are answered the same") {
    const std::string all = get("/items/1") + post("/echo", "pipelined body") + get("/hello");
    for (char ch : all) REQUIRE(c.send(std::string_view(&ch, 1)));
    for (const char* body : {"item 1", "pipelined body", "hello"}) {
      const auto r = c.read();
      REQUIRE(r);
      CHECK(r->body == body);
    }
  }
}

TEST_CASE("http server: HTTP/1.1 stays open, Connection: close and HTTP/1.0 close after the answer") {
  TestApp t;
  const uint16_t port = t.start();
  SUBCASE("HTTP/1.1 keep-alive by default") {
    RawHttpClient c(port);
    for (int i = 0; i < 3; ++i) {
      REQUIRE(c.send(get("/hello")));
      const auto r = c.read();
      REQUIRE(r);
      CHECK(r->status == 200);
    }
    CHECK(c.quiet_for(200));
  }
  SUBCASE("Connection: close") {
    RawHttpClient c(port);
    REQUIRE(c.send(get("/hello", "Connection: close\r\n")));
    const auto r = c.read();
    REQUIRE(r);
    CHECK(r->body == "hello");
    CHECK(r->header("Connection") == "close");
    CHECK(c.closed_by_server());
  }
  SUBCASE("HTTP/1.0 closes by default") {
    RawHttpClient c(port);
    REQUIRE(c.send("GET /hello HTTP/1.0\r\nHost: test\r\n\r\n"));
    const auto r = c.read();
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body == "hello");
    CHECK(c.closed_by_server());
  }
  SUBCASE("HTTP/1.0 with Connection: keep-alive stays open and is told so") {
    RawHttpClient c(port);
    for (int i = 0; i < 2; ++i) {
      REQUIRE(c.send("GET /hello HTTP/1.0\r\nHost: test\r\nConnection: keep-alive\r\n\r\n"));
      const auto r = c.read();
      REQUIRE(r);
      CHECK(r->body == "hello");
      // RFC 9112 §9.3: an HTTP/1.0 client keeps the connection only when the response says keep-alive.
      CHECK(r->header("Connection") == "keep-alive");
    }
    CHECK(c.quiet_for(200));
  }
}

TEST_CASE("http server: HEAD gets GET's head with its Content-Length and no body") {
  TestApp t;
  const uint16_t port = t.start();
  RawHttpClient c(port);
  REQUIRE(c.send("HEAD /hello HTTP/1.1\r\nHost: test\r\n\r\n"));
  const auto r = c.read(/*head_request=*/true);
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->header("Content-Length") == "5");
  // Had a body been sent, it would now stand where the next status line should.
  REQUIRE(c.send(get("/items/9")));
  const auto r2 = c.read();
  REQUIRE(r2);
  CHECK(r2->status == 200);
  CHECK(r2->body == "item 9");
}

TEST_CASE("http server: an unknown path is 404, a known path with another method is 405 with Allow") {
  TestApp t;
  const uint16_t port = t.start();
  RawHttpClient c(port);
  REQUIRE(c.send(get("/nope")));
  const auto r404 = c.read();
  REQUIRE(r404);
  CHECK(r404->status == 404);
  CHECK(r404->count("Allow") == 0);
  REQUIRE(c.send("DELETE /only HTTP/1.1\r\nHost: test\r\n\r\n"));
  const auto r405 = c.read();
  REQUIRE(r405);
  CHECK(r405->status == 405);
  CHECK(r405->header("Allow") == "GET, HEAD, POST");
  REQUIRE(c.send("PUT /hello HTTP/1.1\r\nHost: test\r\nContent-Length: 2\r\n\r\nhi"));
  const auto put = c.read();
  REQUIRE(put);
  CHECK(put->status == 405);
  CHECK(put->header("Allow") == "GET, HEAD");
  // Both are answers, not failures: the connection serves on.
  REQUIRE(c.send(post("/only", "")));
  const auto ok = c.read();
  REQUIRE(ok);
  CHECK(ok->body == "post");
}

TEST_CASE("http server: Expect: 100-continue gets 100 Continue, then the answer once the body is sent") {
  TestApp t;
  const uint16_t port = t.start();
  RawHttpClient c(port);
  REQUIRE(c.send("POST /echo HTTP/1.1\r\nHost: test\r\nExpect: 100-continue\r\nContent-Length: 9\r\n\r\n"));
  const auto cont = c.read();
  REQUIRE(cont);
  CHECK(cont->status == 100);
  REQUIRE(c.send("the body!"));
  const auto r = c.read();
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body == "the body!");
  SUBCASE("a body over the limit gets 413 instead of 100") {
    RawHttpClient c2(port);
    REQUIRE(c2.send("POST /echo HTTP/1.1\r\nHost: test\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n"));
    const auto r2 = c2.read();
    REQUIRE(r2);
    CHECK(r2->status == 413);
    CHECK(c2.closed_by_server());
  }
}

TEST_CASE("http server: a client that sends its head a byte at a time is answered 408 and closed after the idle timeout") {
  HttpServerOptions http;
  http.idle_timeout_ms = 1000;
  TestApp t(http);
  const uint16_t port = t.start();
  RawHttpClient c(port);
  const auto started = std::chrono::steady_clock::now();
  // Never finishes: bytes keep coming, but the head does not, and trickling does not buy time.
  const std::string head = get("/hello", std::string(200, 'X'));
  size_t sent = 0;
  while (sent < head.size() && !readable_within(c.fd(), 100)) {
    REQUIRE(c.send(head.substr(sent++, 1)));
    REQUIRE(seconds_since(started) < 10);
  }
  const auto r = c.read();
  const double took = seconds_since(started);
  REQUIRE(r);
  CHECK(r->status == 408);
  CHECK(took >= 0.9);
  CHECK(took < 3.0);
  CHECK(c.closed_by_server());
  MESSAGE("408 after ", took, " s and ", sent, " bytes");
}

TEST_CASE("http server: an idle keep-alive connection is closed without a word after the idle timeout") {
  HttpServerOptions http;
  http.idle_timeout_ms = 500;
  TestApp t(http);
  const uint16_t port = t.start();
  SUBCASE("after a request") {
    RawHttpClient c(port);
    REQUIRE(c.send(get("/hello")));
    REQUIRE(c.read());
    const auto served = std::chrono::steady_clock::now();
    CHECK(c.closed_by_server());
    const double took = seconds_since(served);
    CHECK(c.pending().empty());
    CHECK(took >= 0.4);
    CHECK(took < 3.0);
  }
  SUBCASE("a connection that never sends anything") {
    RawHttpClient c(port);
    CHECK(c.closed_by_server());
    CHECK(c.pending().empty());
  }
  SUBCASE("each request restarts the idle time") {
    RawHttpClient c(port);
    for (int i = 0; i < 4; ++i) {
      std::this_thread::sleep_for(300ms);
      REQUIRE(c.send(get("/hello")));
      const auto r = c.read();
      REQUIRE(r);
      CHECK(r->status == 200);
    }
  }
}

TEST_CASE("http server: static files through Response::file, with MIME types, and nothing outside the root") {
  TempDir dir;
  const std::string png("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16);
  dir.write("root/index.html", "<!doctype html><title>home</title>");
  dir.write("root/style.css", "body { color: red }");
  dir.write("root/app.js", "console.log(1);");
  dir.write("root/data.json", "{\"a\":1}");
  dir.write("root/image.png", png);
  dir.write("root/sub/dir/note.txt", "deep");
  dir.write("root/.env", "SECRET=1");
  dir.write("secret.txt", "outside the root");
  REQUIRE(::symlink((dir.path + "/secret.txt").c_str(), (dir.path + "/root/link-out.txt").c_str()) == 0);
  REQUIRE(::symlink("../secret.txt", (dir.path + "/root/relative-out.txt").c_str()) == 0);
  REQUIRE(::symlink("style.css", (dir.path + "/root/alias.css").c_str()) == 0);
  const StaticFiles files(StaticFilesOptions{.root = dir.path + "/root"});
  REQUIRE(files.ok());

  TestApp t;
  t.app.get("/static/*", [&files](Request& req, Response& res) { res.file(files, req.tail(), req.http()); });
  const uint16_t port = t.start();

  struct Served {
    const char* path;
    const char* type;
    std::string body;
  };
  const Served served[] = {
      {"/static/", "text/html; charset=utf-8", "<!doctype html><title>home</title>"},
      {"/static/index.html", "text/html; charset=utf-8", "<!doctype html><title>home</title>"},
      {"/static/style.css", "text/css; charset=utf-8", "body { color: red }"},
      {"/static/app.js", "text/javascript; charset=utf-8", "console.log(1);"},
      {"/static/data.json", "application/json", "{\"a\":1}"},
      {"/static/image.png", "image/png", png},
      {"/static/sub/dir/note.txt", "text/plain; charset=utf-8", "deep"},
      {"/static/sub/dir/%6eote.txt", "text/plain; charset=utf-8", "deep"},  // %6e is 'n'
      {"/static/alias.css", "text/css; charset=utf-8", "body { color: red }"},  // a symlink inside the root
  };
  RawHttpClient c(port);  // all on one kept-alive connection
  for (const Served& s : served) {
    INFO("path: ", std::string(s.path));
    REQUIRE(c.send(get(s.path)));
    const auto r = c.read();
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->header("Content-Type") == s.type);
    CHECK(r->body == s.body);
    CHECK(!r->header("ETag").empty());
  }

  struct Refused {
    const char* path;
    int status;
  };
  const Refused refused[] = {
      {"/static/../secret.txt", 403},
      {"/static/sub/../../secret.txt", 403},
      {"/static/%2e%2e/secret.txt", 403},
      {"/static/%2E%2E/secret.txt", 403},
      {"/static/.%2e/secret.txt", 403},
      {"/static/sub%2fdir%2fnote.txt", 403},        // an encoded slash
      {"/static/%2e%2e%2fsecret.txt", 403},
      {"/static/..%5csecret.txt", 403},             // an encoded backslash
      {"/static/link-out.txt", 403},                // a symlink out of the root
      {"/static/relative-out.txt", 403},
      {"/static/missing.txt", 404},
      {"/static/.env", 404},
      {"/static/%zz", 400},
  };
  for (const Refused& s : refused) {
    INFO("path: ", std::string(s.path));
    REQUIRE(c.send(get(s.path)));
    const auto r = c.read();
    REQUIRE(r);
    CHECK(r->status == s.status);
    CHECK(r->body.find("outside the root") == std::string::npos);
  }

  SUBCASE("HEAD and a conditional GET") {
    REQUIRE(c.send("HEAD /static/style.css HTTP/1.1\r\nHost: test\r\n\r\n"));
    const auto head = c.read(/*head_request=*/true);
    REQUIRE(head);
    CHECK(head->status == 200);
    CHECK(head->header("Content-Length") == "19");
    CHECK(head->header("Content-Type") == "text/css; charset=utf-8");
    REQUIRE(c.send(get("/static/style.css", "If-None-Match: " + head->header("ETag") + "\r\n")));
    const auto cached = c.read();
    REQUIRE(cached);
    CHECK(cached->status == 304);
    CHECK(cached->body.empty());
  }
  SUBCASE("Connection: close is kept by a file response") {
    REQUIRE(c.send(get("/static/app.js", "Connection: close\r\n")));
    const auto r = c.read();
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->header("Connection") == "close");
    CHECK(c.closed_by_server());
  }
}

}  // TEST_SUITE("io")

// ---- Deferred answers (Response::defer, PendingResponse) -------------------------------------

namespace {

// The handles of deferred requests, in arrival order, passed from the shards to the test's thread.
using Handles = test::Handoffs<PendingResponse>;

// An App whose GET /later defers its answer to the test, beside the usual routes.
struct DeferApp {
  explicit DeferApp(unsigned shards = 2, HttpServerOptions http = {})
      : app({.host = "127.0.0.1", .port = 0, .shards = {.count = shards}, .loop = test::loop_options(), .http = http}) {
    app.get("/later", [this](Request&, Response& res) {
      res.header("X-Lost", "headers set before defer() are not kept");
      handles.add(res.defer());
    });
    app.get("/hello", [](Request&, Response& res) { res.send("hello"); });
    app.post("/echo", [](Request& req, Response& res) { res.send(req.body(), "application/octet-stream"); });
    app.get("/peer", [](Request& req, Response& res) { res.send(req.remote_address().to_string()); });
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
  Handles handles;
};

// Answers `h` from a new thread with an answer that records whether it ran; returns true once the
// answer has been run or dropped on the shard, with `ran` telling which.
bool answer_and_wait(const PendingResponse& h, bool& ran, std::string body = "late") {
  auto done = std::make_shared<std::atomic<bool>>(false);
  auto alive = std::make_shared<int>(0);  // its count falls back to 1 when the answer is destroyed
  std::thread([&, done, alive, body] {
    h.answer([done, alive, body](Response& res) {
      done->store(true);
      res.send(body);
    });
  }).join();
  const bool settled = test::eventually([&] { return alive.use_count() == 1; }, 5s);
  ran = done->load();
  return settled;
}

// An HTTP server alone (no App) with one upgrade route, GET /switch, that defers to the test; the
// test's answers may hand the connection to the shard's TcpEchoHandler.
struct SwitchServer {
  SwitchServer() : echoes(2) {
    routes.add(HttpMethod::get, "/switch", HttpRoute{.upgrade = [this](Connection&, Request&, Response& res) {
      handles.add(res.defer());
    }});
    routes.add(HttpMethod::get, "/hello", HttpRoute{.handler = [](Request&, Response& res) { res.send("hello"); }});
    server = std::make_unique<TcpServer>(
        TcpServerOptions{.address = SocketAddress::loopback(0), .shards = {.count = 2}, .loop = test::loop_options()},
        [this](Loop& loop) {
          echoes[loop.shard().id()] = std::make_unique<TcpEchoHandler>(loop);
          return std::make_unique<HttpServerHandler>(loop, routes, HttpServerOptions{});
        });
    server->start();
  }
  // An upgrade answer that says so, then hands the connection to the echo handler of its shard.
  PendingResponse::UpgradeAnswer to_echo() {
    return [this](Connection& c, Response&) {
      Loop& loop = Loop::current();
      loop.write(c, std::string_view("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n"));
      c.handler = echoes[loop.shard().id()].get();
      c.context = nullptr;
    };
  }

  HttpRouter<HttpRoute> routes;
  std::vector<std::unique_ptr<TcpEchoHandler>> echoes;  // by shard; outlive the server's loops
  Handles handles;
  std::unique_ptr<TcpServer> server;
};

}  // namespace

TEST_SUITE("io") {

TEST_CASE("http server: a deferred upgrade answer hands the connection over, and the bytes sent behind the request reach the new handler first") {
  SwitchServer t;
  RawHttpClient c(t.server->port());
  REQUIRE(c.send(get("/switch") + "sent early, "));
  const PendingResponse h = t.handles.wait(0);
  REQUIRE(h);
  CHECK(c.quiet_for(200));  // the early bytes wait, unparsed
  std::thread([&] { h.upgrade(t.to_echo()); }).join();
  const auto r = c.read();
  REQUIRE(r);
  CHECK(r->status == 101);
  REQUIRE(c.send("then more"));
  std::string echoed = c.pending();
  char buf[64];
  while (echoed.size() < 21) {
    const ssize_t n = ::recv(c.fd(), buf, sizeof buf, 0);
    if (n <= 0) break;
    echoed.append(buf, size_t(n));
  }
  CHECK(echoed == "sent early, then more");
  // A second answer to the same request is dropped.
  bool ran = true;
  CHECK(answer_and_wait(h, ran));
  CHECK_FALSE(ran);
}

TEST_CASE("http server: a deferred upgrade answer that keeps the connection answers like any deferred answer") {
  SwitchServer t;
  RawHttpClient c(t.server->port());
  SUBCASE("it answers through the Response: the connection goes on as HTTP") {
    REQUIRE(c.send(get("/switch") + get("/hello")));
    const PendingResponse h = t.handles.wait(0);
    REQUIRE(h);
    std::thread([&] { h.upgrade([](Connection&, Response& res) { res.status(403).send("no"); }); }).join();
    for (const char* body : {"no", "hello"}) {
      const auto r = c.read();
      REQUIRE(r);
      CHECK(r->body == body);
    }
  }
  SUBCASE("it sends nothing: 500") {
    REQUIRE(c.send(get("/switch")));
    const PendingResponse h = t.handles.wait(0);
    REQUIRE(h);
    std::thread([&] { h.upgrade([](Connection&, Response&) {}); }).join();
    const auto r = c.read();
    REQUIRE(r);
    CHECK(r->status == 500);
  }
}

TEST_CASE("http server: a deferred answer given from another thread arrives, runs on the connection's shard, and the connection goes on") {
  DeferApp t;
  const uint16_t port = t.start();
  RawHttpClient c(port);
  REQUIRE(c.send(get("/later")));
  const PendingResponse h = t.handles.wait(0);
  REQUIRE(h);
  CHECK(c.quiet_for(200));  // nothing until the answer
  std::atomic<int> ran_on{-1};
  std::thread([&] {
    CHECK(Shard::current() == nullptr);  // a thread outside the shards
    h.answer([&ran_on](Response& res) {
      ran_on = Shard::current() ? static_cast<int>(Shard::current()->id()) : -2;
      res.status(201).header("X-Answer", "from a worker").json(R"({"ok":true})");
    });
  }).join();
  const auto r = c.read();
  REQUIRE(r);
  CHECK(r->status == 201);
  CHECK(r->header("X-Answer") == "from a worker");
  CHECK(r->header("X-Lost").empty());
  CHECK(r->header("Content-Type") == "application/json");
  CHECK(r->header("Date").size() == 29);
  CHECK(r->body == R"({"ok":true})");
  CHECK(ran_on.load() == static_cast<int>(h.shard()));
  // Kept alive: the next request on the same connection is answered as usual.
  REQUIRE(c.send(get("/hello")));
  const auto r2 = c.read();
  REQUIRE(r2);
  CHECK(r2->body == "hello");
  // The shorthand, and a second answer to the same request, which is dropped.
  REQUIRE(c.send(get("/later")));
  const PendingResponse h2 = t.handles.wait(1);
  REQUIRE(h2);
  std::thread([&] { h2.send(202, "accepted"); }).join();
  const auto r3 = c.read();
  REQUIRE(r3);
  CHECK(r3->status == 202);
  CHECK(r3->body == "accepted");
  bool ran = true;
  CHECK(answer_and_wait(h2, ran));
  CHECK_FALSE(ran);
  CHECK(c.quiet_for(200));
}

TEST_CASE("http server: a request can tell the client's address") {
  DeferApp t;
  RawHttpClient c(t.start());
  REQUIRE(c.send(get("/peer")));
  const auto r = c.read();
  REQUIRE(r);
  CHECK(r->body.rfind("127.0.0.1:", 0) == 0);
}

TEST_CASE("http server: requests pipelined behind a deferred one wait, then are answered in order") {
  DeferApp t;
  const uint16_t port = t.start();
  RawHttpClient c(port);
  SUBCASE("plain requests behind one deferred") {
    REQUIRE(c.send(get("/later") + post("/echo", "abc") + get("/hello")));
    const PendingResponse h = t.handles.wait(0);
    REQUIRE(h);
    CHECK(c.quiet_for(300));  // the answers behind it wait too
    std::thread([&] { h.send(200, "first"); }).join();
    for (const char* body : {"first", "abc", "hello"}) {
      const auto r = c.read();
      REQUIRE(r);
      CHECK(r->body == body);
    }
  }
  SUBCASE("a deferred request behind a deferred one is not even parsed before the first is answered") {
    REQUIRE(c.send(get("/later") + get("/later") + get("/hello")));
    const PendingResponse h1 = t.handles.wait(0);
    REQUIRE(h1);
    std::this_thread::sleep_for(200ms);
    CHECK(t.handles.size() == 1);
    std::thread([&] { h1.send(200, "one"); }).join();
    const PendingResponse h2 = t.handles.wait(1);
    REQUIRE(h2);
    const auto r1 = c.read();
    REQUIRE(r1);
    CHECK(r1->body == "one");
    CHECK(c.quiet_for(200));
    std::thread([&] { h2.send(200, "two"); }).join();
    for (const char* body : {"two", "hello"}) {
      const auto r = c.read();
      REQUIRE(r);
      CHECK(r->body == body);
    }
  }
  SUBCASE("more than 16 KiB waiting: reading stops, and resumes after the answer") {
    std::string many;
    for (int i = 0; i < 800; ++i) many += get("/hello");  // about 26 KiB
    REQUIRE(c.send(get("/later") + many));
    const PendingResponse h = t.handles.wait(0);
    REQUIRE(h);
    CHECK(c.quiet_for(200));
    std::thread([&] { h.send(200, "first"); }).join();
    const auto r = c.read();
    REQUIRE(r);
    CHECK(r->body == "first");
    int hellos = 0;
    for (int i = 0; i < 800; ++i) {
      const auto ri = c.read();
      if (!ri || ri->body != "hello") break;
      ++hellos;
    }
    CHECK(hellos == 800);
  }
  SUBCASE("a deferred request that asks to close: the answer, then the connection closes") {
    REQUIRE(c.send(get("/later", "Connection: close\r\n")));
    const PendingResponse h = t.handles.wait(0);
    REQUIRE(h);
    std::thread([&] { h.send(200, "bye"); }).join();
    const auto r = c.read();
    REQUIRE(r);
    CHECK(r->body == "bye");
    CHECK(r->header("Connection") == "close");
    CHECK(c.closed_by_server());
  }
}

TEST_CASE("http server: an answer for a client that has gone is dropped, also when a new connection took its slot") {
  DeferApp t(1);  // one shard: the next connection reuses the slot
  const uint16_t port = t.start();
  PendingResponse gone;
  {
    RawHttpClient a(port);
    REQUIRE(a.send(get("/later")));
    gone = t.handles.wait(0);
    REQUIRE(gone);
  }  // the client hangs up before the answer
  REQUIRE(test::eventually([&] { return t.closed() >= 1; }, 5s));
  bool ran = true;
  SUBCASE("nobody there") {
    CHECK(answer_and_wait(gone, ran));
    CHECK_FALSE(ran);
  }
  SUBCASE("a new connection, deferred too, in the same slot") {
    RawHttpClient b(port);
    REQUIRE(b.send(get("/later")));
    const PendingResponse fresh = t.handles.wait(1);
    REQUIRE(fresh);
    CHECK(fresh.slot() == gone.slot());
    CHECK(answer_and_wait(gone, ran, "stale"));
    CHECK_FALSE(ran);
    CHECK(b.quiet_for(200));
    CHECK(answer_and_wait(fresh, ran, "fresh"));
    CHECK(ran);
    const auto r = b.read();
    REQUIRE(r);
    CHECK(r->body == "fresh");
  }
  // The server is fine: a new connection is served.
  RawHttpClient c(port);
  REQUIRE(c.send(get("/hello")));
  const auto r = c.read();
  REQUIRE(r);
  CHECK(r->body == "hello");
}

TEST_CASE("http server: the idle timeout spares a connection awaiting its answer; answer_timeout_ms ends the wait with 503") {
  SUBCASE("idle timeout 200 ms, no answer timeout: still open after a second, then answered") {
    DeferApp t(2, {.idle_timeout_ms = 200, .answer_timeout_ms = 0});
    RawHttpClient c(t.start());
    REQUIRE(c.send(get("/later")));
    const PendingResponse h = t.handles.wait(0);
    REQUIRE(h);
    CHECK(c.quiet_for(1000));  // quiet_for fails on a close too
    std::thread([&] { h.send(200, "worth the wait"); }).join();
    const auto r = c.read();
    REQUIRE(r);
    CHECK(r->body == "worth the wait");
    // Back to the idle timeout once answered.
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(c.closed_by_server());
    CHECK(seconds_since(t0) < 3.0);
  }
  SUBCASE("answer timeout 300 ms: 503 and close, and the late answer is dropped") {
    DeferApp t(2, {.answer_timeout_ms = 300});
    RawHttpClient c(t.start());
    REQUIRE(c.send(get("/later")));
    const PendingResponse h = t.handles.wait(0);
    REQUIRE(h);
    const auto r = c.read();
    REQUIRE(r);
    CHECK(r->status == 503);
    CHECK(c.closed_by_server());
    bool ran = true;
    CHECK(answer_and_wait(h, ran));
    CHECK_FALSE(ran);
  }
}

}  // TEST_SUITE

// ---- Hostile clients: pipelining without reading, chunk framing, empty bodies --------------------

namespace {

// CPU time of this process so far (every thread: the shards serve in it), in seconds.
double process_cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  auto seconds = [](const timeval& t) { return double(t.tv_sec) + double(t.tv_usec) / 1e6; };
  return seconds(u.ru_utime) + seconds(u.ru_stime);
}

// A one-shard App with a route that takes a body of up to 64 KiB, and its shard's CPU clock (the
// shard's thread's CPU time, readable from any thread).
struct OneShardApp {
  OneShardApp()
      : app({.host = "127.0.0.1", .port = 0, .shards = {.count = 1}, .loop = test::loop_options(),
             .http = {.idle_timeout_ms = 120'000}}) {  // a slow drip is not what ends these
    app.post("/upload", [](Request& req, Response& res) { res.send(std::to_string(req.body().size())); }, 64 << 10);
    app.start();
    std::atomic<bool> known{false};
    detail::AppInternals::server(app).runtime().shard(0).post([this, &known](Shard&) {
      ::pthread_getcpuclockid(::pthread_self(), &clock);
      known = true;
    });
    REQUIRE(test::eventually([&] { return known.load(); }, 5s));
  }
  ~OneShardApp() {
    app.stop();
    app.join();
  }
  double cpu_seconds() const {
    timespec t{};
    ::clock_gettime(clock, &t);
    return double(t.tv_sec) + double(t.tv_nsec) / 1e9;
  }
  App app;
  clockid_t clock{};
};

// FNV-1a, to check a large body arrived intact without sending it back.
uint64_t fnv1a(std::string_view s) {
  uint64_t h = 14695981039346656037ull;
  for (const char c : s) h = (h ^ uint8_t(c)) * 1099511628211ull;
  return h;
}

}  // namespace

TEST_SUITE("io") {

TEST_CASE("http server: a client that pipelines requests and never reads holds about the output high-water mark, not an answer per request") {
  TestApp t;
  const std::string page(32 << 10, 'p');
  std::atomic<int> pages{0};
  t.app.get("/page", [&](Request&, Response& res) {
    ++pages;
    res.send(page);
  });
  const uint16_t port = t.start();
  auto queued = [&t] { return detail::AppInternals::server(t.app).total(&NetStats::output_bytes_queued); };
  // The first answers of each kind allocate what every later one reuses: not part of the attack.
  CHECK(ask_once(port, get("/page")).status == 200);
  CHECK(ask_once(port, get("/metrics")).status == 200);
  const long before = test::rss_kib();
  // 256 KiB of pipelined GETs is about 9,000 requests: an answer each would be 300 MiB of /page.
  for (const char* path : {"/page", "/metrics"}) {
    CAPTURE(path);
    const int answered = pages;
    const int fd = test::pipeline_without_reading(port, get(path), 256 << 10);
    REQUIRE(fd >= 0);
    long peak = 0;
    uint64_t most_queued = 0;
    for (const auto end = std::chrono::steady_clock::now() + 500ms; std::chrono::steady_clock::now() < end;) {
      peak = std::max(peak, test::rss_kib());
      most_queued = std::max(most_queued, queued());
      std::this_thread::sleep_for(20ms);
    }
    MESSAGE(std::string(path), ": ", most_queued >> 10, " KiB of answers queued, resident memory +", peak - before,
            " KiB, ", pages - answered, " pages made");
    CHECK(most_queued <= (1 << 20) + (64 << 10));  // the 1 MiB mark and the answer that crossed it
    // Answers also fill the kernel's socket buffers (a few MiB) before the output backs up.
    if (std::string_view(path) == "/page") CHECK(pages - answered < 400);
    // ASan's quarantine keeps what is freed, and this process's resident memory would count it.
    if (!test::kAddressSanitizer) CHECK(peak - before < 8 << 10);
    // Another connection is served meanwhile.
    const HttpReply health = ask_once(port, get("/health"));
    CHECK(health.status == 200);
    CHECK(health.body == "ok");
    ::close(fd);
  }
  // Once the clients have gone, their answers' memory goes back: the shards' pools trim once a second,
  // down to the 1 MiB of free blocks each keeps resident.
  CHECK(test::eventually([&] { return queued() == 0; }, 5s));
  long after = 0;
  if (!test::kAddressSanitizer) CHECK(test::eventually([&] { return (after = test::rss_kib()) - before < 6 << 10; }, 5s));
  MESSAGE("resident memory +", after - before, " KiB after the clients closed");
}

TEST_CASE("http server: requests pipelined behind answers over the high-water mark are answered, in order, once the client reads") {
  TestApp t;
  const std::string page(256 << 10, 'p');
  t.app.get("/page", [&page](Request&, Response& res) { res.send(page); });
  const uint16_t port = t.start();
  RawHttpClient c(port);
  // Eight answers of 256 KiB: past the 1 MiB mark after the fifth, so the rest wait for the client.
  std::string burst;
  for (int i = 0; i < 8; ++i) burst += get("/page") + get("/items/" + std::to_string(i));
  REQUIRE(c.send(burst));
  std::this_thread::sleep_for(200ms);  // the server stops before the end; reading lets it go on
  for (int i = 0; i < 8; ++i) {
    const auto p = c.read();
    REQUIRE(p);
    CHECK(p->body.size() == page.size());
    const auto item = c.read();
    REQUIRE(item);
    CHECK(item->body == "item " + std::to_string(i));
  }
  CHECK(c.quiet_for(100));
}

TEST_CASE("http server: chunk framing that outgrows the data is refused with 413 long before the body limit") {
  TestApp t;
  const uint16_t port = t.start();
  RawHttpClient c(port);
  // 1-byte chunks with 1,000-byte extensions: 40 bytes of body in 40 KB, the body limit being 1 KiB.
  std::string flood = "POST /echo HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 40; ++i) flood += "1;" + std::string(1000, 'e') + "\r\na\r\n";
  c.send(flood);  // the server may close before the last bytes
  const auto r = c.read();
  REQUIRE(r);  // answered without the last chunk: refused as the framing grew
  CHECK(r->status == 413);
  CHECK(c.closed_by_server());
}

TEST_CASE("http server: an empty body, header or parameter reaches the handler as an empty view with a non-null data()") {
  TestApp t;
  // One letter per view: N for a null data(), e for an empty view, x for one with bytes.
  t.app.any("/nonnull/*", [](Request& req, Response& res) {
    std::string out;
    for (std::string_view v : {req.body(), req.header("X-Absent"), req.param("absent"), req.tail()}) {
      out += v.data() == nullptr ? 'N' : v.empty() ? 'e' : 'x';
    }
    res.send(out);
  });
  const uint16_t port = t.start();
  CHECK(ask_once(port, get("/nonnull/")).body == "eeee");
  CHECK(ask_once(port, post("/nonnull/", "")).body == "eeee");
  const HttpReply chunked = ask_once(port, "POST /nonnull/ HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  CHECK(chunked.body == "eeee");
  CHECK(ask_once(port, post("/nonnull/x", "b")).body == "xeex");
}

}  // TEST_SUITE("io")

TEST_SUITE("io_alone") {

TEST_CASE("http server: a chunked body costs CPU in proportion to its size, 6 MiB no more than 3 times 2 MiB") {
  TestApp t;
  t.app.post("/upload", [](Request& req, Response& res) {
    res.send(std::to_string(req.body().size()) + " " + std::to_string(fnv1a(req.body())));
  }, 8 << 20);
  const uint16_t port = t.start();
  // Chunks of 10 bytes ("a" CRLF data CRLF): half as much framing as data, within the allowance.
  auto upload = [port](size_t wire_bytes) {
    std::string data, request = "POST /upload HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (size_t i = 0; request.size() < wire_bytes; ++i) {
      const std::string piece = fmt::format("{:010}", i);
      request += "a\r\n" + piece + "\r\n";
      data += piece;
    }
    request += "0\r\n\r\n";
    RawHttpClient c(port, 30'000);
    const double cpu = process_cpu_seconds();
    REQUIRE(c.send(request));
    const auto r = c.read();
    const double used = process_cpu_seconds() - cpu;
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body == std::to_string(data.size()) + " " + std::to_string(fnv1a(data)));
    return used;
  };
  upload(64 << 10);  // first use: buffers and pages
  const double two = upload(2 << 20);
  const double six = upload(6 << 20);
  MESSAGE("CPU for a chunked body of 2 MiB: ", two, " s; of 6 MiB: ", six, " s");
  CHECK(six <= 3 * two + 0.05);
}

TEST_CASE("http server: a 1 MB head dripped a byte at a time is refused with 431 at the 16 KiB limit, costing no more than a body dripped alongside") {
  // A read of one byte costs a wake-up, which a head sent at once never pays: so the dripped head is
  // compared with a body dripped alongside to a server of its own on the same CPU, byte for byte, which
  // pays the same wake-ups at the same moments. What is left is what the head's parsing adds.
  OneShardApp heads, bodies;
  const std::string head = "GET /hello HTTP/1.1\r\nHost: test\r\nX-Big: " + std::string(1 << 20, 'b') + "\r\n\r\n";
  const std::string upload = "POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: 65536\r\n\r\n" + std::string(64 << 10, 'u');
  // The same head in one write: the server reads past the limit once and refuses.
  double at_once = heads.cpu_seconds();
  {
    RawHttpClient c(heads.app.port());
    c.send(head);  // the rest is drained after the answer, or reset
    const auto r = c.read();
    at_once = heads.cpu_seconds() - at_once;
    REQUIRE(r);
    CHECK(r->status == 431);
  }

  // A byte per write (TCP_NODELAY: a segment each) to each, then a pause, so the servers mostly read
  // them one by one; the answer looked for every 64 bytes. A server without the limit would read on to
  // the end of the 1 MB: the drip stops at 256 KiB.
  RawHttpClient h(heads.app.port()), b(bodies.app.port());
  const double head_start = heads.cpu_seconds(), body_start = bodies.cpu_seconds();
  const auto start = std::chrono::steady_clock::now();
  size_t sent = 0;
  bool answered = false;
  while (sent < (256u << 10) && !answered) {
    if (!h.send(std::string_view(head).substr(sent, 1)) || !b.send(std::string_view(upload).substr(sent, 1))) break;
    std::this_thread::sleep_for(20us);
    ++sent;
    if (sent % 64 == 0) answered = readable_within(h.fd(), 0);
  }
  const auto r = h.read();
  const double head_cpu = heads.cpu_seconds() - head_start, body_cpu = bodies.cpu_seconds() - body_start;
  REQUIRE(r);
  CHECK(r->status == 431);
  CHECK(h.closed_by_server());
  MESSAGE("the head refused after ", sent, " bytes dripped in ", seconds_since(start), " s; server CPU for them ",
          head_cpu * 1e3, " ms, for as many bytes of a body ", body_cpu * 1e3, " ms; for the head at once ",
          at_once * 1e3, " ms");
  // The limit refused it, not the end of the head (the answer takes a moment to be seen: up to 54 KB
  // were sent before it on two cores shared with builds).
  CHECK(sent < (64u << 10));
  CHECK(head_cpu <= 1.5 * body_cpu + 0.01);
}

}  // TEST_SUITE("io_alone")
