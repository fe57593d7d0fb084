// Several certificates on one port, chosen by the client's server name (SNI): exact names, a
// wildcard, names in any case, the first pair for everyone else; a reload keeps the choice. Pure
// checks of the file lists, then a TCP echo server over TLS on every backend (suite "io").
#include <doctest/doctest.h>

#include <memory>
#include <string>

#include <ringcast/net/tcp_echo_handler.hpp>
#include <ringcast/net/tcp_server.hpp>
#include <ringcast/net/tls/tls_context.hpp>
#include "tests/support/net_test_support.hpp"
#include "tests/support/tls_test_support.hpp"

using namespace ringcast;
using namespace std::chrono_literals;

TEST_CASE("tls sni: certificate and key lists pair up, or are refused with the counts") {
  std::string error;
  auto o = TlsServerOptions::from_lists("a.pem,b.pem", "a.key,b.key", error);
  REQUIRE(o);
  REQUIRE(o->certificates.size() == 2);
  CHECK(o->certificates[1].cert == "b.pem");
  CHECK(o->certificates[1].key == "b.key");
  CHECK_FALSE(TlsServerOptions::from_lists("a.pem,b.pem", "a.key", error));
  CHECK(error.find("2 certificate file(s) and 1 key file(s)") != std::string::npos);
  CHECK_FALSE(TlsServerOptions::from_lists("a.pem,", "a.key,b.key", error));
}

TEST_SUITE("io") {

TEST_CASE("tls sni: each name gets its certificate, a wildcard one label, anyone else the first; a bad second pair stops the whole") {
  test::TemporaryCertificate fallback(1, "ringcast-default", "IP:127.0.0.1");
  test::TemporaryCertificate alpha(2, "alpha", "DNS:alpha.test,DNS:www.alpha.test");
  test::TemporaryCertificate wild(3, "wild", "DNS:*.wild.test");
  test::TemporaryCertificate by_cn(4, "cn-only.test", "IP:127.0.0.9");  // no DNS name: its CN serves

  std::string error;
  CHECK_FALSE(TlsContext::server({.certificates = {{fallback.cert, fallback.key}, {alpha.cert, wild.key}}}, error));
  CHECK(error.find(wild.key) != std::string::npos);

  TcpServerOptions o;
  o.address = SocketAddress::loopback(0);
  o.shards.count = 2;
  o.loop = test::loop_options();
  o.loop.tls = TlsContext::server({.certificates = {{fallback.cert, fallback.key},
                                                    {alpha.cert, alpha.key},
                                                    {wild.cert, wild.key},
                                                    {by_cn.cert, by_cn.key}}},
                                  error);
  REQUIRE_MESSAGE(o.loop.tls, error);
  TcpServer server(o, [](Loop& l) { return std::make_unique<TcpEchoHandler>(l); });
  server.start();

  struct Case {
    const char* name;
    long serial;
  };
  auto check_all = [&] {
    for (const Case& c : {Case{"alpha.test", 2}, Case{"WWW.Alpha.Test", 2}, Case{"x.wild.test", 3},
                          Case{"cn-only.test", 4}}) {
      CAPTURE(c.name);
      // Each client trusts only the certificate it expects, and checks the name against it.
      const test::TestCertificate& expected = c.serial == 2 ? alpha : c.serial == 3 ? wild : by_cn;
      test::BlockingTlsClient client(server.port(), {.ca_file = expected.cert, .server_name = c.name});
      CHECK(client.ok());
      CHECK(client.peer_serial() == c.serial);
      std::string back(4, '\0');
      CHECK((client.write_all("ping") && client.read_exact(back.data(), 4) && back == "ping"));
    }
    // Not covered: one label deeper than the wildcard, the bare domain, an unknown name, no SNI.
    for (const char* name : {"a.b.wild.test", "wild.test", "unknown.test", ""}) {
      CAPTURE(name);
      test::BlockingTlsClient client(server.port(), {.server_name = name, .verify = false});
      CHECK(client.ok());
      CHECK(client.peer_serial() == 1);
    }
  };
  check_all();
  REQUIRE_MESSAGE(server.reload_tls(error), error);
  check_all();
  CHECK(server.total(&NetStats::tls_errors) == 0);
  server.stop();
  server.join();
}

}  // TEST_SUITE("io")
