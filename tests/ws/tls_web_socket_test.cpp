// WebSocket over TLS (wss://): the ringcast client against the ringcast server with and without
// permessage-deflate, a room's shared frames encrypted once per member, the client against Python's
// `websockets` wss server, and a client that refuses a certificate it cannot verify. Every backend.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <random>

#include <fmt/format.h>

#include <ringcast/net/tls/tls_context.hpp>
#include <ringcast/ws/app.hpp>
#include <ringcast/ws/web_socket_client.hpp>
#include "tests/support/net_test_support.hpp"
#include "tests/support/tls_test_support.hpp"

using namespace ringcast;
using namespace std::chrono_literals;

namespace {

struct Peer {
  int id = 0;
};

std::shared_ptr<const TlsContext> trusting_client() {
  std::string error;
  auto ctx = TlsContext::client({.ca_file = test::test_certificate().cert}, error);
  REQUIRE_MESSAGE(ctx, error);
  return ctx;
}

// Client code on a one-shard runtime of the backend under test.
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
    runtime_.reset();
  }
  void connect(const std::string& url, int id = 0) {
    runtime_->shard(0).post([this, url, id](Shard&) {
      std::string error;
      auto u = WebSocketUrl::parse(url, error);
      REQUIRE(u);
      REQUIRE(client_->connect(*u, Peer{id}));
    });
  }

 private:
  std::unique_ptr<WebSocketClient<Peer>> client_;
  std::unique_ptr<Runtime> runtime_;
};

std::unique_ptr<App> tls_echo_server(bool deflate = false, std::string host = "127.0.0.1") {
  auto app = std::make_unique<App>(AppOptions{.host = std::move(host),
                                              .port = 0,
                                              .shards = 2,
                                              .loop = test::loop_options(),
                                              .tls_cert = test::test_certificate().cert,
                                              .tls_key = test::test_certificate().key});
  app->ws<Peer>("/echo", {
      .on_message = [](WebSocket<Peer>& ws, std::string_view m, OpCode op) { ws.send(m, op, true); },
      .max_message_size = 32 << 20,
      .max_backpressure = 64 << 20,
      .compression = DeflateOptions{.enabled = deflate},
  });
  app->ws<Peer>("/room", {
      .on_open = [](WebSocket<Peer>& ws) { ws.subscribe("r"); },
      .on_message = [](WebSocket<Peer>& ws, std::string_view m, OpCode op) { ws.publish("r", m, op); },
      .max_backpressure = 64 << 20,
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

// Sends each message after the previous one came back, checks it, closes with 1000.
struct EchoScript {
  std::vector<std::pair<std::string, OpCode>> messages;
  std::atomic<size_t> next{0};
  std::atomic<int> mismatches{0};
  std::atomic<bool> done{false}, deflate{false};
  std::atomic<int> close_code{0};
  bool compress;
  std::mutex m;
  std::string error;

  explicit EchoScript(bool with_deflate = false) : compress(with_deflate) {
    for (size_t n : {0, 1, 125, 126, 16383, 16384, 16385, 65536, 1 << 20, 8 << 20}) {
      messages.emplace_back(random_payload(n, n, true), OpCode::text);
      messages.emplace_back(random_payload(n, n + 1, false), OpCode::binary);
    }
    std::string prose;
    while (prose.size() < (1 << 20)) prose += "the quick brown fox jumps over the lazy dog; ";
    messages.emplace_back(prose, OpCode::text);
  }
  ClientBehavior<Peer> behavior(std::shared_ptr<const TlsContext> tls) {
    return {
        .on_open =
            [this](WebSocket<Peer>& ws) {
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
        .on_close = [this](WebSocket<Peer>&, int code, std::string_view) {
              close_code = code;
              done = true;
            },
        .on_error =
            [this](WebSocket<Peer>&, std::string_view why) {
              std::lock_guard lock(m);
              error = why;
              done = true;
            },
        .compression = DeflateOptions{.enabled = compress},
        .tls = std::move(tls),
    };
  }
};

// The Python wss server, on a free port.
struct PythonServer {
  pid_t pid = -1;
  int port = 0;
  explicit PythonServer(bool deflate) {
    // Made here, before fork: a certificate first made in the child would not be the parent's.
    const test::TestCertificate& cert = test::test_certificate();
    int out[2];
    REQUIRE(::pipe(out) == 0);
    pid = ::fork();
    if (pid == 0) {
      ::dup2(out[1], 1);
      ::close(out[0]);
      std::vector<std::string> argv = {"/usr/bin/python3", test::source_path("tests/interop/python_echo_server.py"),
                                       "--port", "0", "--tls-cert", cert.cert, "--tls-key", cert.key};
      if (deflate) argv.push_back("--deflate");
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
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
  ~PythonServer() {
    ::kill(pid, SIGTERM);
    int status = 0;
    ::waitpid(pid, &status, 0);
  }
};

}  // namespace

TEST_CASE("wss url: the default port is 443 and the host is kept for SNI") {
  std::string error;
  auto u = WebSocketUrl::parse("wss://localhost/chat", error);
  REQUIRE(u);
  CHECK(u->secure);
  CHECK(u->port == 443);
  CHECK(u->host == "localhost");
  CHECK(u->host_header() == "localhost");
}

TEST_SUITE("io") {

TEST_CASE("wss: text and binary of 0 B to 8 MiB echo intact between the ringcast client and server") {
  auto server = tls_echo_server();
  EchoScript script;
  ClientRig rig(script.behavior(trusting_client()));
  rig.connect(fmt::format("wss://127.0.0.1:{}/echo", server->port()));
  REQUIRE(test::eventually([&] { return script.done.load(); }, 60s));
  CHECK(script.error.empty());
  CHECK(script.next == script.messages.size());
  CHECK(script.mismatches == 0);
  CHECK(script.close_code == 1000);
  CHECK(test::eventually([&] { return server->server().total(&NetStats::connections_open) == 0; }));
  CHECK(server->server().total(&NetStats::tls_errors) == 0);
}

TEST_CASE("wss: permessage-deflate inside TLS, both ways compressed") {
  auto server = tls_echo_server(true);
  EchoScript script(true);
  ClientRig rig(script.behavior(trusting_client()));
  rig.connect(fmt::format("wss://localhost:{}/echo", server->port()));  // SNI and the DNS name checked
  REQUIRE(test::eventually([&] { return script.done.load(); }, 60s));
  CHECK(script.error.empty());
  CHECK(script.deflate);
  CHECK(script.next == script.messages.size());
  CHECK(script.mismatches == 0);
  CHECK(script.close_code == 1000);
}

TEST_CASE("wss: a room's shared frames reach every member on both shards, each encrypted for it") {
  auto server = tls_echo_server();
  constexpr int kMembers = 20, kMessages = 200;
  std::atomic<int> opened{0}, received{0}, wrong{0};
  std::vector<std::atomic<int>> next(kMembers);
  ClientRig rig(ClientBehavior<Peer>{
      .on_open = [&](WebSocket<Peer>&) { ++opened; },
      .on_message =
          [&](WebSocket<Peer>& ws, std::string_view m, OpCode) {
            // Every member sees messages 0..kMessages-1 in order.
            const int want = next[ws.data().id]++;
            if (m != fmt::format("message {} {}", want, std::string(static_cast<size_t>(want % 50), 'x'))) ++wrong;
            ++received;
          },
      .tls = trusting_client(),
  });
  for (int i = 0; i < kMembers; ++i) rig.connect(fmt::format("wss://127.0.0.1:{}/room", server->port()), i);
  REQUIRE(test::eventually([&] { return opened.load() == kMembers; }, 20s));
  // Membership crosses shards asynchronously: let it settle before publishing.
  std::this_thread::sleep_for(300ms);
  for (int k = 0; k < kMessages; ++k) {
    server->publish("r", fmt::format("message {} {}", k, std::string(static_cast<size_t>(k % 50), 'x')));
  }
  CHECK(test::eventually([&] { return received.load() == kMembers * kMessages; }, 30s));
  CHECK(wrong == 0);
}

TEST_CASE("wss: the ringcast client against Python's websockets over TLS, plain and with permessage-deflate") {
  for (bool deflate : {false, true}) {
    CAPTURE(deflate);
    PythonServer python(deflate);
    REQUIRE(python.port > 0);
    EchoScript script(deflate);
    ClientRig rig(script.behavior(trusting_client()));
    rig.connect(fmt::format("wss://127.0.0.1:{}/", python.port));
    REQUIRE(test::eventually([&] { return script.done.load(); }, 120s));
    CHECK(script.error.empty());
    CHECK(script.deflate == deflate);
    CHECK(script.next == script.messages.size());
    CHECK(script.mismatches == 0);
    CHECK(script.close_code == 1000);
  }
}

TEST_CASE("wss: a certificate the client cannot verify ends in on_error with the reason; --insecure accepts it") {
  auto server = tls_echo_server(false, "0.0.0.0");  // reachable as 127.0.0.2, a name the certificate lacks
  std::mutex m;
  std::string error;
  std::atomic<bool> done{false}, opened{false};
  ClientBehavior<Peer> b{
      .on_open = [&](WebSocket<Peer>& ws) {
            opened = true;
            ws.close(1000);
          },
      .on_close = [&](WebSocket<Peer>&, int, std::string_view) { done = true; },
      .on_error =
          [&](WebSocket<Peer>&, std::string_view why) {
            std::lock_guard lock(m);
            error = why;
            done = true;
          },
  };
  {
    // The system store does not know the test's self-signed certificate.
    ClientRig rig(b);
    rig.connect(fmt::format("wss://127.0.0.1:{}/echo", server->port()));
    REQUIRE(test::eventually([&] { return done.load(); }, 20s));
    CHECK_FALSE(opened);
    std::lock_guard lock(m);
    CHECK(error.find("TLS handshake failed") != std::string::npos);
    CHECK(error.find("certificate") != std::string::npos);
  }
  {
    // Trusted, but issued for 127.0.0.1 and localhost, not for 127.0.0.2.
    done = false;
    b.tls = trusting_client();
    ClientRig rig(b);
    rig.connect(fmt::format("wss://127.0.0.2:{}/echo", server->port()));
    REQUIRE(test::eventually([&] { return done.load(); }, 20s));
    CHECK_FALSE(opened);
    std::lock_guard lock(m);
    CHECK(error.find("IP address mismatch") != std::string::npos);
  }
  {
    done = false;
    std::string e;
    b.tls = TlsContext::client({.verify_peer = false}, e);
    ClientRig rig(b);
    rig.connect(fmt::format("wss://127.0.0.1:{}/echo", server->port()));
    REQUIRE(test::eventually([&] { return done.load(); }, 20s));
    CHECK(opened);
  }
  CHECK(test::eventually([&] { return server->server().total(&NetStats::connections_open) == 0; }));
}

}  // TEST_SUITE("io")
