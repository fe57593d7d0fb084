// Certificate reload without a restart (TcpServer::reload_tls): open connections keep their pair and
// go on, new handshakes get the new one, a pair that does not load is refused and the old one stays.
// Runs on every backend (suite "io").
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <ringcast/net/tcp_echo_handler.hpp>
#include <ringcast/net/tcp_server.hpp>
#include <ringcast/net/tls/tls_context.hpp>
#include "tests/support/net_test_support.hpp"
#include "tests/support/tls_test_support.hpp"

using namespace ringcast;
using namespace std::chrono_literals;

namespace {

// The files the server was started with, replaced in place as a renewal does.
void install(const test::TestCertificate& from, const std::string& cert, const std::string& key) {
  namespace fs = std::filesystem;
  fs::copy_file(from.cert, cert, fs::copy_options::overwrite_existing);
  fs::copy_file(from.key, key, fs::copy_options::overwrite_existing);
}

bool echoes(test::BlockingTlsClient& c, const std::string& message) {
  std::string back(message.size(), '\0');
  return c.write_all(message) && c.read_exact(back.data(), back.size()) && back == message;
}

}  // namespace

TEST_SUITE("io") {

TEST_CASE("tls reload: 500 clients connected across a reload all still echo; new handshakes get the new certificate; a bad pair is refused") {
  test::TemporaryCertificate first(101, "ringcast-first");
  test::TemporaryCertificate second(202, "ringcast-second");
  test::TemporaryCertificate served(1);  // its files are the ones the server reads
  install(first, served.cert, served.key);

  std::string error;
  TcpServerOptions o;
  o.address = SocketAddress::loopback(0);
  o.shards.count = 2;
  o.loop = test::loop_options();
  o.loop.tls = TlsContext::server(served.cert, served.key, error);
  REQUIRE_MESSAGE(o.loop.tls, error);
  TcpServer server(o, [](Loop& l) { return std::make_unique<TcpEchoHandler>(l); });
  server.start();

  // 500 clients: 1,000 descriptors in this process, both ends.
  constexpr int kClients = 500;
  std::vector<std::unique_ptr<test::BlockingTlsClient>> before;
  for (int i = 0; i < kClients; ++i) {
    before.push_back(std::make_unique<test::BlockingTlsClient>(server.port(), test::TlsClientSetup{.ca_file = first.cert}));
    REQUIRE(before.back()->ok());
    REQUIRE(before.back()->peer_serial() == 101);
    REQUIRE(echoes(*before.back(), "before " + std::to_string(i)));
  }

  // A certificate whose key is another's: refused, named, and the first pair stays.
  std::filesystem::copy_file(second.cert, served.cert, std::filesystem::copy_options::overwrite_existing);
  CHECK_FALSE(server.reload_tls(error));
  CHECK_MESSAGE(error.find(served.key) != std::string::npos, error);
  CHECK_MESSAGE(error.find("mismatch") != std::string::npos, error);
  {
    test::BlockingTlsClient c(server.port(), {.ca_file = first.cert});
    CHECK(c.ok());
    CHECK(c.peer_serial() == 101);
  }
  // A file that is not a certificate at all.
  {
    std::ofstream(served.cert, std::ios::trunc) << "not a certificate\n";
  }
  CHECK_FALSE(server.reload_tls(error));
  CHECK_MESSAGE(error.find(served.cert) != std::string::npos, error);

  install(second, served.cert, served.key);
  REQUIRE_MESSAGE(server.reload_tls(error), error);

  int still = 0;
  for (int i = 0; i < kClients; ++i) still += echoes(*before[i], "after " + std::to_string(i)) ? 1 : 0;
  CHECK(still == kClients);
  // Several new clients, so that both shards answer some: each sees the second certificate.
  for (int i = 0; i < 8; ++i) {
    test::BlockingTlsClient c(server.port(), {.ca_file = second.cert});
    REQUIRE(c.ok());
    CHECK(c.peer_serial() == 202);
    CHECK(c.peer_common_name() == "ringcast-second");
    CHECK(echoes(c, "new"));
  }
  CHECK(server.total(&NetStats::tls_errors) == 0);
  before.clear();
  CHECK(test::eventually([&] { return server.total(&NetStats::connections_open) == 0; }, 15s));
  server.stop();
  server.join();
}

}  // TEST_SUITE("io")
