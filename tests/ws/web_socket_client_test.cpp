// The ringcast WebSocket client against the ringcast server, against Python's `websockets` server,
// and against servers that refuse or misbehave. Runs on every backend (suite "io").
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include <ringcast/net/backend/detail/socket_ops.hpp>
#include <ringcast/ws/app.hpp>
#include <ringcast/ws/web_socket_client.hpp>
#include "tests/support/client_rig.hpp"
#include "tests/support/net_test_support.hpp"
#include "tests/support/required_program.hpp"
#include "tests/support/test_process.hpp"

using namespace ringcast;
using namespace std::chrono_literals;
using test::ClientRig;
using Peer = test::ClientPeer;

namespace {

std::unique_ptr<App> echo_server(bool deflate = false) {
  auto app = std::make_unique<App>(AppOptions{.host = "127.0.0.1", .port = 0, .shards = {.count = 2}, .loop = test::loop_options()});
  app->ws<Peer>("/*", {
      .on_message =
          [](WebSocket<Peer>& ws, std::string_view m, OpCode op) {
            if (m == "server-close") {
              ws.close(4000, "closed by the server");
            } else {
              ws.send(m, op, true);
            }
          },
      .limits = {.max_message_size = 32 << 20, .max_backpressure = 64 << 20},
      .compression = DeflateOptions{.enabled = deflate},
  });
  app->start();
  return app;
}

// Messages of growing sizes, text and binary, up to 16 MiB; then 4 MiB of compressible text.
test::EchoScript echo_script(bool deflate = false) {
  return test::EchoScript({0, 1, 125, 126, 65535, 65536, 1 << 20, 16 << 20}, 4 << 20, deflate);
}

// Python's `websockets` echo server (tests/interop/python_echo_server.py) on a free port.
test::ServerProcess python_echo_server(std::vector<std::string> extra = {}) {
  std::vector<std::string> argv = {test::kPython, test::source_path("tests/interop/python_echo_server.py"), "--port", "0"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return test::ServerProcess(argv);
}

}  // namespace

TEST_SUITE("io") {

TEST_CASE("client: messages of 0 B to 16 MiB, text and binary, echo intact from a ringcast server; close 1000") {
  auto server = echo_server();
  test::EchoScript script = echo_script();
  ClientRig rig(script.behavior());
  rig.connect(fmt::format("ws://127.0.0.1:{}/echo", server->port()));
  REQUIRE(test::eventually([&] { return script.done.load(); }, 60s));
  script.check_all_echoed();
  CHECK(script.close_reason == "done");
}

TEST_CASE("client: against Python's websockets server, every message and a server-initiated close") {
  if (!test::require_python_websockets()) return;
  test::ServerProcess python = python_echo_server();
  REQUIRE(python.port() > 0);
  test::EchoScript script = echo_script();
  ClientRig rig(script.behavior());
  rig.connect(fmt::format("ws://127.0.0.1:{}/", python.port()));
  REQUIRE(test::eventually([&] { return script.done.load(); }, 120s));
  script.check_all_echoed();

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
  rig2.connect(fmt::format("ws://127.0.0.1:{}/", python.port()));
  REQUIRE(test::eventually([&] { return code.load() != 0; }, 10s));
  CHECK(code == 4000);
  std::lock_guard lock(m);
  CHECK(reason == "closed by the server");
}

TEST_CASE("client: permessage-deflate with a ringcast server, both ways compressed") {
  auto server = echo_server(true);
  test::EchoScript script = echo_script(true);
  ClientRig rig(script.behavior());
  rig.connect(fmt::format("ws://127.0.0.1:{}/echo", server->port()));
  REQUIRE(test::eventually([&] { return script.done.load(); }, 60s));
  script.check_all_echoed();
}

TEST_CASE("client: permessage-deflate with Python's websockets server, both ways compressed") {
  if (!test::require_python_websockets()) return;
  test::ServerProcess python = python_echo_server({"--deflate"});
  REQUIRE(python.port() > 0);
  test::EchoScript script = echo_script(true);
  ClientRig rig(script.behavior());
  rig.connect(fmt::format("ws://127.0.0.1:{}/", python.port()));
  REQUIRE(test::eventually([&] { return script.done.load(); }, 120s));
  script.check_all_echoed();
  CHECK(python.stop() == 0);
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
                 .handshake = {.timeout = 300ms}});
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
