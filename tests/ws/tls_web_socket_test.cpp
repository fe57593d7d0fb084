// WebSocket over TLS (wss://): the ringcast client against the ringcast server with and without
// permessage-deflate, a room's shared frames encrypted once per member, the client against Python's
// `websockets` wss server, and a client that refuses a certificate it cannot verify. Every backend.
#include <doctest/doctest.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include <ringcast/net/tls/tls_context.hpp>
#include <ringcast/ws/app.hpp>
#include <ringcast/ws/detail/app_internals.hpp>
#include <ringcast/ws/web_socket_client.hpp>
#include "tests/support/client_rig.hpp"
#include "tests/support/net_test_support.hpp"
#include "tests/support/required_program.hpp"
#include "tests/support/test_process.hpp"
#include "tests/support/tls_test_support.hpp"

using namespace ringcast;
using namespace std::chrono_literals;
using test::ClientRig;
using Peer = test::ClientPeer;

namespace {

std::shared_ptr<const TlsContext> trusting_client() {
  std::string error;
  auto ctx = TlsContext::client({.ca_file = test::test_certificate().cert}, error);
  REQUIRE_MESSAGE(ctx, error);
  return ctx;
}

std::unique_ptr<App> tls_echo_server(bool deflate = false, std::string host = "127.0.0.1") {
  auto app = std::make_unique<App>(AppOptions{.host = std::move(host),
                                              .port = 0,
                                              .shards = {.count = 2},
                                              .loop = test::loop_options(),
                                              .tls_cert = test::test_certificate().cert,
                                              .tls_key = test::test_certificate().key});
  app->ws<Peer>("/echo", {
      .on_message = [](WebSocket<Peer>& ws, std::string_view m, OpCode op) { ws.send(m, op, true); },
      .limits = {.max_message_size = 32 << 20, .max_backpressure = 64 << 20},
      .compression = DeflateOptions{.enabled = deflate},
  });
  app->ws<Peer>("/room", {
      .on_open = [](WebSocket<Peer>& ws) { ws.subscribe("r"); },
      .on_message = [](WebSocket<Peer>& ws, std::string_view m, OpCode op) { ws.publish("r", m, op); },
      .limits = {.max_backpressure = 64 << 20},
  });
  app->start();
  return app;
}

// Messages of growing sizes, text and binary, up to 8 MiB; then 1 MiB of compressible text.
test::EchoScript echo_script(bool deflate = false) {
  return test::EchoScript({0, 1, 125, 126, 16383, 16384, 16385, 65536, 1 << 20, 8 << 20}, 1 << 20, deflate);
}

// Python's `websockets` echo server (tests/interop/python_echo_server.py) over wss:// on a free port.
test::ServerProcess python_wss_server(bool deflate) {
  const test::TestCertificate& cert = test::test_certificate();
  std::vector<std::string> argv = {test::kPython, test::source_path("tests/interop/python_echo_server.py"), "--port",
                                   "0", "--tls-cert", cert.cert, "--tls-key", cert.key};
  if (deflate) argv.push_back("--deflate");
  return test::ServerProcess(argv);
}

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
  test::EchoScript script = echo_script();
  ClientRig rig(script.behavior(trusting_client()));
  rig.connect(fmt::format("wss://127.0.0.1:{}/echo", server->port()));
  REQUIRE(test::eventually([&] { return script.done.load(); }, 60s));
  script.check_all_echoed();
  CHECK(test::eventually([&] { return detail::AppInternals::server(*server).total(&NetStats::connections_open) == 0; }));
  CHECK(detail::AppInternals::server(*server).total(&NetStats::tls_errors) == 0);
}

TEST_CASE("wss: permessage-deflate inside TLS, both ways compressed") {
  auto server = tls_echo_server(true);
  test::EchoScript script = echo_script(true);
  ClientRig rig(script.behavior(trusting_client()));
  rig.connect(fmt::format("wss://localhost:{}/echo", server->port()));  // SNI and the DNS name checked
  REQUIRE(test::eventually([&] { return script.done.load(); }, 60s));
  script.check_all_echoed();
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
      .handshake = {.tls = trusting_client()},
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
  if (!test::require_python_websockets()) return;
  for (bool deflate : {false, true}) {
    CAPTURE(deflate);
    test::ServerProcess python = python_wss_server(deflate);
    REQUIRE(python.port() > 0);
    test::EchoScript script = echo_script(deflate);
    ClientRig rig(script.behavior(trusting_client()));
    rig.connect(fmt::format("wss://127.0.0.1:{}/", python.port()));
    REQUIRE(test::eventually([&] { return script.done.load(); }, 120s));
    script.check_all_echoed();
    CHECK(python.stop() == 0);
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
    b.handshake.tls = trusting_client();
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
    b.handshake.tls = TlsContext::client({.verify_peer = false}, e);
    ClientRig rig(b);
    rig.connect(fmt::format("wss://127.0.0.1:{}/echo", server->port()));
    REQUIRE(test::eventually([&] { return done.load(); }, 20s));
    CHECK(opened);
  }
  CHECK(test::eventually([&] { return detail::AppInternals::server(*server).total(&NetStats::connections_open) == 0; }));
}

TEST_CASE("wss: the ringcast client's SNI picks the certificate of its host among the server's (App with two pairs)") {
  test::TemporaryCertificate by_address(1, "by-address", "IP:127.0.0.1");
  test::TemporaryCertificate by_name(2, "by-name", "DNS:localhost");
  App app(AppOptions{.host = "127.0.0.1",
                     .port = 0,
                     .shards = {.count = 2},
                     .loop = test::loop_options(),
                     .tls_cert = by_address.cert + "," + by_name.cert,
                     .tls_key = by_address.key + "," + by_name.key});
  app.ws<Peer>("/echo", {.on_message = [](WebSocket<Peer>& ws, std::string_view m, OpCode op) { ws.send(m, op); }});
  app.start();
  // Each client trusts one of the two: it opens only if the server chose that one for it.
  struct Case {
    std::string url;
    std::string trusted;
  };
  const std::vector<Case> cases = {{fmt::format("wss://localhost:{}/echo", app.port()), by_name.cert},
                                   {fmt::format("wss://127.0.0.1:{}/echo", app.port()), by_address.cert},
                                   {fmt::format("wss://localhost:{}/echo", app.port()), by_address.cert}};
  for (const Case& c : cases) {
    const std::string& url = c.url;
    const std::string& trusted = c.trusted;
    CAPTURE(url);
    CAPTURE(trusted);
    std::string error;
    std::atomic<bool> done{false}, opened{false};
    ClientBehavior<Peer> b{
        .on_open = [&opened](WebSocket<Peer>& ws) {
              opened = true;
              ws.close(1000);
            },
        .on_close = [&done](WebSocket<Peer>&, int, std::string_view) { done = true; },
        .on_error = [&done](WebSocket<Peer>&, std::string_view) { done = true; },
    };
    b.handshake.tls = TlsContext::client({.ca_file = trusted}, error);
    REQUIRE_MESSAGE(b.handshake.tls, error);
    ClientRig rig(b);
    rig.connect(url);
    REQUIRE(test::eventually([&] { return done.load(); }, 20s));
    // The last: SNI "localhost" gets the by-name certificate, which this client does not trust.
    CHECK(opened == (trusted == by_name.cert || url.find("127.0.0.1") != std::string::npos));
  }
  app.stop();
  app.join();
}

}  // TEST_SUITE("io")
