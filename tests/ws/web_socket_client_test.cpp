// The ringcast WebSocket client against the ringcast server, against Python's `websockets` server,
// and against servers that refuse or misbehave. Runs on every backend (suite "io").
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <random>
#include <thread>

#include <fmt/format.h>

#include <algorithm>

#include <ringcast/net/backend/detail/socket_ops.hpp>
#include <ringcast/ws/app.hpp>
#include <ringcast/ws/web_socket_client.hpp>
#include "tests/support/net_test_support.hpp"

using namespace ringcast;
using namespace std::chrono_literals;

namespace {

struct Peer {
  int id = 0;
};

// A one-shard runtime on the backend under test where client code runs; results come back through
// the atomics and the mutex-protected log of the test.
class ClientRig {
 public:
  explicit ClientRig(ClientBehavior<Peer> behavior) {
    runtime_ = std::make_unique<Runtime>(RuntimeOptions{
        .shards = 1,
        .make_driver = [](Shard& s) -> std::unique_ptr<EventDriver> { return Loop::create(s, test::loop_options()); },
        .on_start = [this, behavior](Shard&) { client_ = std::make_unique<WebSocketClient<Peer>>(Loop::current(), behavior); }});
    runtime_->start();
  }
  ~ClientRig() {
    runtime_->stop();
    runtime_->join();
    runtime_.reset();  // loops end before the client they call
  }
  void connect(const std::string& url, int id = 0) {
    runtime_->shard(0).post([this, url, id](Shard&) {
      std::string error;
      auto u = WebSocketUrl::parse(url, error);
      REQUIRE(u);
      REQUIRE(client_->connect(*u, Peer{id}));
    });
  }
  template <typename Fn>
  void on_shard(Fn fn) {
    runtime_->shard(0).post([fn](Shard&) { fn(); });
  }

 private:
  std::unique_ptr<WebSocketClient<Peer>> client_;
  std::unique_ptr<Runtime> runtime_;
};

std::unique_ptr<App> echo_server(bool deflate = false) {
  auto app = std::make_unique<App>(AppOptions{.host = "127.0.0.1", .port = 0, .shards = 2, .loop = test::loop_options()});
  app->ws<Peer>("/*", {
      .on_message =
          [](WebSocket<Peer>& ws, std::string_view m, OpCode op) {
            if (m == "server-close") {
              ws.close(4000, "closed by the server");
            } else {
              ws.send(m, op, true);
            }
          },
      .max_message_size = 32 << 20,
      .max_backpressure = 64 << 20,
      .compression = DeflateOptions{.enabled = deflate},
  });
  app->start();
  return app;
}

std::string random_payload(size_t n, uint64_t seed, bool text) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = text ? static_cast<char>('a' + rng() % 26) : static_cast<char>(rng());
  return s;
}

// Sends messages of growing sizes one after the other and checks each echo; then closes.
struct EchoScript {
  std::vector<std::pair<std::string, OpCode>> messages;
  std::atomic<size_t> next{0};
  std::atomic<int> mismatches{0};
  std::atomic<bool> opened{false}, done{false}, deflate{false};
  bool compress = false;
  std::atomic<int> close_code{0};
  std::mutex m;
  std::string close_reason, error;

  explicit EchoScript(bool with_deflate = false) : compress(with_deflate) {
    for (size_t n : {0, 1, 125, 126, 65535, 65536, 1 << 20, 16 << 20}) {
      messages.emplace_back(random_payload(n, n, true), OpCode::text);
      messages.emplace_back(random_payload(n, n + 1, false), OpCode::binary);
    }
    // Compressible text too (random letters shrink a little, repeated phrases a lot).
    std::string prose;
    while (prose.size() < (4 << 20)) prose += "the quick brown fox jumps over the lazy dog; ";
    messages.emplace_back(prose, OpCode::text);
  }
  ClientBehavior<Peer> behavior() {
    return {
        .on_open =
            [this](WebSocket<Peer>& ws) {
              opened = true;
              deflate = ws.deflate();
              ws.send(messages[0].first, messages[0].second, compress);
            },
        .on_message =
            [this](WebSocket<Peer>& ws, std::string_view msg, OpCode op) {
              const size_t i = next.load();
              if (msg != messages[i].first || op != messages[i].second) ++mismatches;
              next = i + 1;
              if (i + 1 < messages.size()) {
                ws.send(messages[i + 1].first, messages[i + 1].second, compress);
              } else {
                ws.close(1000, "done");
              }
            },
        .on_close =
            [this](WebSocket<Peer>&, int code, std::string_view reason) {
              std::lock_guard lock(m);
              close_code = code;
              close_reason = reason;
              done = true;
            },
        .on_error =
            [this](WebSocket<Peer>&, std::string_view why) {
              std::lock_guard lock(m);
              error = why;
              done = true;
            },
        .compression = DeflateOptions{.enabled = compress},
    };
  }
};

// Runs a program in the background and reads the port it prints as "listening on PORT".
struct Subprocess {
  pid_t pid = -1;
  int port = 0;
  explicit Subprocess(const std::vector<std::string>& argv) {
    int out[2];
    REQUIRE(::pipe(out) == 0);
    pid = ::fork();
    if (pid == 0) {
      ::dup2(out[1], 1);
      ::close(out[0]);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    ::close(out[1]);
    FILE* f = ::fdopen(out[0], "r");
    char line[256] = {};
    if (std::fgets(line, sizeof line, f)) std::sscanf(line, "listening on %d", &port);
    std::fclose(f);
  }
  ~Subprocess() {
    ::kill(pid, SIGTERM);
    int status = 0;
    ::waitpid(pid, &status, 0);
  }
};

}  // namespace

TEST_SUITE("io") {

TEST_CASE("client: messages of 0 B to 16 MiB, text and binary, echo intact from a ringcast server; close 1000") {
  auto server = echo_server();
  EchoScript script;
  ClientRig rig(script.behavior());
  rig.connect(fmt::format("ws://127.0.0.1:{}/echo", server->port()));
  REQUIRE(test::eventually([&] { return script.done.load(); }, 60s));
  CHECK(script.error.empty());
  CHECK(script.opened);
  CHECK(script.next == script.messages.size());
  CHECK(script.mismatches == 0);
  CHECK(script.close_code == 1000);
  CHECK(script.close_reason == "done");
}

TEST_CASE("client: against Python's websockets server, every message and a server-initiated close") {
  Subprocess python({"/usr/bin/python3", test::source_path("tests/interop/python_echo_server.py"), "--port", "0"});
  REQUIRE(python.port > 0);
  EchoScript script;
  ClientRig rig(script.behavior());
  rig.connect(fmt::format("ws://127.0.0.1:{}/", python.port));
  REQUIRE(test::eventually([&] { return script.done.load(); }, 120s));
  CHECK(script.error.empty());
  CHECK(script.next == script.messages.size());
  CHECK(script.mismatches == 0);
  CHECK(script.close_code == 1000);

  // The server closes: the client sees its code and reason.
  std::atomic<int> code{0};
  std::string reason;
  std::mutex m;
  ClientRig rig2({.on_open = [](WebSocket<Peer>& ws) { ws.send("server-close"); },
                  .on_close =
                      [&](WebSocket<Peer>&, int c, std::string_view r) {
                        std::lock_guard lock(m);
                        reason = r;
                        code = c;
                      }});
  rig2.connect(fmt::format("ws://127.0.0.1:{}/", python.port));
  REQUIRE(test::eventually([&] { return code.load() != 0; }, 10s));
  CHECK(code == 4000);
  std::lock_guard lock(m);
  CHECK(reason == "closed by the server");
}

TEST_CASE("client: permessage-deflate with a ringcast server and with Python's websockets, both ways compressed") {
  auto server = echo_server(true);
  {
    EchoScript script(true);
    ClientRig rig(script.behavior());
    rig.connect(fmt::format("ws://127.0.0.1:{}/echo", server->port()));
    REQUIRE(test::eventually([&] { return script.done.load(); }, 60s));
    CHECK(script.error.empty());
    CHECK(script.deflate);
    CHECK(script.next == script.messages.size());
    CHECK(script.mismatches == 0);
    CHECK(script.close_code == 1000);
  }
  Subprocess python({"/usr/bin/python3", test::source_path("tests/interop/python_echo_server.py"), "--port", "0", "--deflate"});
  REQUIRE(python.port > 0);
  EchoScript script(true);
  ClientRig rig(script.behavior());
  rig.connect(fmt::format("ws://127.0.0.1:{}/", python.port));
  REQUIRE(test::eventually([&] { return script.done.load(); }, 120s));
  CHECK(script.error.empty());
  CHECK(script.deflate);
  CHECK(script.next == script.messages.size());
  CHECK(script.mismatches == 0);
}

TEST_CASE("client: a refused connect, a refused upgrade and a silent server end in on_error with the reason") {
  auto server = echo_server();
  std::mutex m;
  std::vector<std::string> errors;
  std::atomic<int> opened{0};
  // A listener that accepts and never answers: the handshake times out.
  const int silent = ::socket(AF_INET, SOCK_STREAM, 0);
  SocketAddress any = SocketAddress::loopback(0);
  REQUIRE(::bind(silent, any.data(), any.size()) == 0);
  REQUIRE(::listen(silent, 16) == 0);
  const uint16_t silent_port = local_address(silent).port();
  ClientRig rig({.on_open = [&](WebSocket<Peer>&) { ++opened; },
                 .on_error =
                     [&](WebSocket<Peer>& ws, std::string_view why) {
                       std::lock_guard lock(m);
                       errors.push_back(fmt::format("{}: {}", ws.data().id, why));
                     },
                 .handshake_timeout = 300ms});
  rig.connect("ws://127.0.0.1:1/", 1);                                            // nothing listens
  rig.connect(fmt::format("ws://127.0.0.1:{}/health", server->port()), 2);        // a plain HTTP route: 200
  rig.connect(fmt::format("ws://127.0.0.1:{}/", silent_port), 3);                 // never answers
  REQUIRE(test::eventually([&] { std::lock_guard lock(m); return errors.size() == 3; }, 10s));
  ::close(silent);
  std::sort(errors.begin(), errors.end());
  CHECK(errors[0].find("1: connect failed") == 0);
  CHECK(errors[1].find("2: the server refused the upgrade: 200") == 0);
  CHECK(errors[2].find("3: connect or handshake timed out") == 0);
  CHECK(opened == 0);
}

TEST_CASE("client: a server that answers with a wrong Sec-WebSocket-Accept is refused") {
  const int fake = ::socket(AF_INET, SOCK_STREAM, 0);
  SocketAddress any = SocketAddress::loopback(0);
  REQUIRE(::bind(fake, any.data(), any.size()) == 0);
  REQUIRE(::listen(fake, 4) == 0);
  const uint16_t port = local_address(fake).port();
  std::thread server([fake] {
    const int c = ::accept(fake, nullptr, nullptr);
    char buf[4096];
    [[maybe_unused]] ssize_t n = ::recv(c, buf, sizeof buf, 0);
    const std::string_view reply =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
    [[maybe_unused]] ssize_t w = ::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
    ::recv(c, buf, sizeof buf, 0);  // until the client hangs up
    ::close(c);
  });
  std::mutex m;
  std::string error;
  std::atomic<bool> done{false};
  ClientRig rig({.on_error = [&](WebSocket<Peer>&, std::string_view why) {
    std::lock_guard lock(m);
    error = why;
    done = true;
  }});
  rig.connect(fmt::format("ws://127.0.0.1:{}/", port));
  REQUIRE(test::eventually([&] { return done.load(); }, 10s));
  server.join();
  ::close(fake);
  CHECK(error == "wrong Sec-WebSocket-Accept");
}

}  // TEST_SUITE
