// Session resumption by tickets, TLS 1.3 and 1.2 (ringcast/net/tls/detail/ticket_keys.hpp): a
// second connection resumes, on either shard and across a certificate reload; after the ticket key
// changes an old ticket still resumes for one period, then only a full handshake is left. The
// server's ticket clock is the test's own. Every backend (suite "io").
#include <doctest/doctest.h>

#include <openssl/ssl.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <ringcast/net/tcp_echo_handler.hpp>
#include <ringcast/net/tcp_server.hpp>
#include <ringcast/net/tls/tls_context.hpp>
#include "tests/support/net_test_support.hpp"
#include "tests/support/tls_test_support.hpp"

using namespace ringcast;
using namespace std::chrono_literals;

namespace {

std::atomic<int64_t> fake_now{1'000'000};  // seconds; periods of 100 s

std::unique_ptr<TcpServer> start_server(std::chrono::seconds interval, std::string secret_file = {}) {
  std::string error;
  TcpServerOptions o;
  o.address = SocketAddress::loopback(0);
  o.shards.count = 2;
  o.loop = test::loop_options();
  o.loop.tls = TlsContext::server({.certificates = {{test::test_certificate().cert, test::test_certificate().key}},
                                   .ticket_key_interval = interval,
                                   .ticket_secret_file = std::move(secret_file),
                                   .clock = [] { return fake_now.load(); }},
                                  error);
  REQUIRE_MESSAGE(o.loop.tls, error);
  auto server = std::make_unique<TcpServer>(o, [](Loop& l) { return std::make_unique<TcpEchoHandler>(l); });
  server->start();
  return server;
}

// A connection that resumes `session` if it can (null: a fresh one), echoes once — which also
// reads the TLS 1.3 tickets the server sends after its handshake — and says whether it resumed.
// `next` gets the session to resume later (owned by the caller).
bool connect(TcpServer& server, int version, SSL_SESSION* session, SSL_SESSION** next = nullptr) {
  // Copies, both ways: OpenSSL marks a client's session not resumable when the client is freed
  // without a close_notify, as the clients here are.
  SSL_SESSION* offered = session ? SSL_SESSION_dup(session) : nullptr;
  test::BlockingTlsClient c(server.port(), {.session = offered, .max_version = version});
  SSL_SESSION_free(offered);  // the client holds its own reference
  REQUIRE(c.ok());
  std::string back(4, '\0');
  REQUIRE((c.write_all("ping") && c.read_exact(back.data(), 4) && back == "ping"));
  if (next) {
    *next = SSL_SESSION_dup(SSL_get0_session(c.ssl()));
  }
  return SSL_session_reused(c.ssl()) == 1;
}

struct Session {
  SSL_SESSION* s = nullptr;
  ~Session() { SSL_SESSION_free(s); }
};

}  // namespace

TEST_SUITE("io") {

TEST_CASE("tls resumption: a second connection resumes with a ticket, TLS 1.3 and 1.2, on any shard and across a reload") {
  auto server = start_server(100s);
  for (int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    CAPTURE(version);
    Session first;
    CHECK_FALSE(connect(*server, version, nullptr, &first.s));
    CHECK(SSL_SESSION_has_ticket(first.s));
    // Several: the kernel spreads them over both shards, which derive the same keys.
    for (int i = 0; i < 6; ++i) CHECK(connect(*server, version, first.s));
    std::string error;
    REQUIRE_MESSAGE(server->reload_tls(error), error);
    CHECK(connect(*server, version, first.s));
  }
  CHECK(server->total(&NetStats::tls_errors) == 0);
  server->stop();
  server->join();
}

TEST_CASE("tls resumption: after the ticket key changes an old ticket resumes for one period, then a full handshake") {
  auto server = start_server(100s);
  for (int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    CAPTURE(version);
    fake_now = 1'000'050;  // period 10,000
    Session old, renewed;
    CHECK_FALSE(connect(*server, version, nullptr, &old.s));
    CHECK(connect(*server, version, old.s));
    fake_now = 1'000'150;  // period 10,001: the key changed; the previous one still opens tickets
    CHECK(connect(*server, version, old.s, &renewed.s));
    fake_now = 1'000'250;  // period 10,002: the first key is gone
    CHECK_FALSE(connect(*server, version, old.s));
    CHECK(connect(*server, version, renewed.s));  // the ticket given in period 10,001 still resumes
  }
  CHECK(server->total(&NetStats::tls_errors) == 0);
  server->stop();
  server->join();
}

TEST_CASE("tls resumption: with tickets off every connection is a full handshake") {
  auto server = start_server(0s);
  Session s13, s12;
  CHECK_FALSE(connect(*server, TLS1_3_VERSION, nullptr, &s13.s));
  CHECK_FALSE(SSL_SESSION_has_ticket(s13.s));
  CHECK_FALSE(connect(*server, TLS1_3_VERSION, s13.s));
  CHECK_FALSE(connect(*server, TLS1_2_VERSION, nullptr, &s12.s));
  CHECK_FALSE(SSL_SESSION_has_ticket(s12.s));
  CHECK_FALSE(connect(*server, TLS1_2_VERSION, s12.s));
  server->stop();
  server->join();
}

TEST_CASE("tls resumption: nodes sharing a ticket secret file resume each other's tickets, others do not") {
  const auto dir = std::filesystem::temp_directory_path();
  auto write = [&](const char* name, const std::string& content) {
    const auto path = (dir / name).string();
    std::ofstream(path, std::ios::binary) << content;
    return path;
  };
  const auto shared = write("ringcast-ticket-shared", "3f0c8a2b9d4e61f7a5c0b3d8e2f4a6c1\n");
  const auto other = write("ringcast-ticket-other", "0123456789abcdef0123456789abcdef\n");
  const auto short_one = write("ringcast-ticket-short", "too short\n");
  auto a = start_server(100s, shared);
  auto b = start_server(100s, shared);
  auto c = start_server(100s, other);
  auto lone = start_server(100s);
  for (int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    CAPTURE(version);
    Session from_a;
    CHECK_FALSE(connect(*a, version, nullptr, &from_a.s));
    CHECK(connect(*b, version, from_a.s));
    CHECK_FALSE(connect(*c, version, from_a.s));
    CHECK_FALSE(connect(*lone, version, from_a.s));
  }
  std::string error;
  CHECK_FALSE(TlsContext::server({.certificates = {{test::test_certificate().cert, test::test_certificate().key}},
                                  .ticket_secret_file = short_one},
                                 error));
  CHECK(error.find("fewer than 32 bytes") != std::string::npos);
  CHECK_FALSE(TlsContext::server({.certificates = {{test::test_certificate().cert, test::test_certificate().key}},
                                  .ticket_secret_file = (dir / "ringcast-ticket-missing").string()},
                                 error));
  CHECK(error.find("cannot be read") != std::string::npos);
  CHECK_FALSE(TlsContext::server({.certificates = {{test::test_certificate().cert, test::test_certificate().key}},
                                  .ticket_secret_file = "/dev/zero"},
                                 error));
  CHECK(error.find("larger than 4 KiB") != std::string::npos);
  for (auto* s : {a.get(), b.get(), c.get(), lone.get()}) {
    s->stop();
    s->join();
  }
  for (const auto& p : {shared, other, short_one}) std::filesystem::remove(p);
}

}  // TEST_SUITE("io")
