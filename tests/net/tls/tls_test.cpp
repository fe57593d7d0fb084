// TLS in the event loop (net/tls_context, net/tls_session, the hooks in net/loop): a TCP echo
// server over TLS checked byte for byte by blocking OpenSSL clients, close_notify, and hostile
// peers. Runs on every backend (suite "io"), except the pure certificate-loading checks.
#include <doctest/doctest.h>

#include <sys/socket.h>

#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include <ringcast/net/tcp_echo_handler.hpp>
#include <ringcast/net/tcp_server.hpp>
#include <ringcast/net/tls/tls_context.hpp>
#include "tests/support/net_test_support.hpp"
#include "tests/support/tls_test_support.hpp"

using namespace ringcast;
using namespace std::chrono_literals;

namespace {

std::shared_ptr<const TlsContext> server_context() {
  std::string error;
  auto ctx = TlsContext::server(test::test_certificate().cert, test::test_certificate().key, error);
  REQUIRE_MESSAGE(ctx, error);
  return ctx;
}

template <typename Handler = TcpEchoHandler>
std::unique_ptr<TcpServer> start_tls_server(unsigned handshake_timeout_ms = 10'000) {
  TcpServerOptions o;
  o.address = SocketAddress::loopback(0);
  o.shards.count = 2;
  o.loop = test::loop_options();
  o.loop.tls = server_context();
  o.loop.tls_handshake_timeout_ms = handshake_timeout_ms;
  auto server = std::make_unique<TcpServer>(o, [](Loop& l) { return std::make_unique<Handler>(l); });
  server->start();
  return server;
}

bool drained(TcpServer& s) {
  return test::eventually([&] { return s.total(&NetStats::connections_open) == 0; }, 15s);
}

// Answers "bye" to the first bytes and closes: close() must send close_notify before FIN.
class ByeHandler final : public ConnectionHandler {
 public:
  explicit ByeHandler(Loop& loop) : loop_(loop) {}
  void on_open(Connection&) override {}
  size_t on_data(Connection& c, std::span<uint8_t> data) override {
    loop_.write(c, "bye");
    loop_.close(c);
    return data.size();
  }
  void on_close(Connection&, int) override {}

 private:
  Loop& loop_;
};

}  // namespace

TEST_CASE("tls context: a missing or mismatched certificate is an error naming the file") {
  std::string error;
  CHECK_FALSE(TlsContext::server("/nonexistent/cert.pem", test::test_certificate().key, error));
  CHECK(error.find("/nonexistent/cert.pem") != std::string::npos);
  error.clear();
  CHECK_FALSE(TlsContext::server(test::test_certificate().cert, "/nonexistent/key.pem", error));
  CHECK(error.find("/nonexistent/key.pem") != std::string::npos);
  error.clear();
  // A key file that holds a certificate, not a key.
  CHECK_FALSE(TlsContext::server(test::test_certificate().cert, test::test_certificate().cert, error));
  CHECK(error.find(test::test_certificate().cert) != std::string::npos);
  error.clear();
  CHECK_FALSE(TlsContext::client({.ca_file = "/nonexistent/ca.pem"}, error));
  CHECK(error.find("/nonexistent/ca.pem") != std::string::npos);
  CHECK(TlsContext::server(test::test_certificate().cert, test::test_certificate().key, error));
}

TEST_SUITE("io") {

TEST_CASE("tls: 16 clients echo 24 messages of 1 B to 256 KiB each over TLS, every byte checked") {
  auto server = start_tls_server();
  std::atomic<int> good{0}, bad{0};
  std::atomic<uint64_t> bytes{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      test::BlockingTlsClient client(server->port());
      if (!client.ok()) {
        ++bad;
        return;
      }
      std::mt19937_64 rng(static_cast<uint64_t>(t) + 1);
      std::uniform_real_distribution<double> log_size(0, std::log(256.0 * 1024));
      std::vector<uint8_t> out, in;
      for (int m = 0; m < 24; ++m) {
        const size_t n = m == 0 ? 1 : m == 1 ? 256 * 1024 : static_cast<size_t>(std::exp(log_size(rng)));
        out.resize(n);
        for (auto& b : out) b = static_cast<uint8_t>(rng());
        in.assign(n, 0);
        if (!client.write_all(out.data(), n) || !client.read_exact(in.data(), n) || in != out) {
          ++bad;
          return;
        }
        bytes += n;
      }
      ++good;
    });
  }
  for (auto& th : threads) th.join();
  CHECK(bad == 0);
  CHECK(good == 16);
  MESSAGE("echoed and checked ", bytes.load() / 1024, " KiB over TLS");
  CHECK(drained(*server));
  CHECK(server->total(&NetStats::output_bytes_queued) == 0);
  CHECK(server->total(&NetStats::tls_errors) == 0);
  server->stop();
  server->join();
}

TEST_CASE("tls: the server offers ALPN http/1.1 and speaks TLS 1.2 and 1.3 only") {
  auto server = start_tls_server();
  {
    test::BlockingTlsClient client(server->port(), "http/1.1");
    REQUIRE(client.ok());
    CHECK(client.alpn() == "http/1.1");
    CHECK(SSL_version(client.ssl()) >= TLS1_2_VERSION);
  }
  {
    // A client that speaks at most TLS 1.1 is refused.
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_1_VERSION);
    SSL_CTX_set_security_level(ctx, 0);
    const int fd = test::connect_blocking(server->port());
    REQUIRE(fd >= 0);
    test::set_recv_timeout(fd, 10'000);
    SSL* ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    CHECK(SSL_connect(ssl) != 1);
    SSL_free(ssl);
    ::close(fd);
    SSL_CTX_free(ctx);
  }
  CHECK(drained(*server));
  server->stop();
  server->join();
}

TEST_CASE("tls: close() sends what is queued, then close_notify, then FIN, and lets a peer that never closes go after the linger time") {
  // The server's close is flushed, then it waits (2 s) for a FIN that never comes. On epoll the
  // flush completes before the loop sleeps and arms that wait's timer: the loop must still wake for it.
  auto server = start_tls_server<ByeHandler>();
  test::BlockingTlsClient client(server->port());
  REQUIRE(client.ok());
  REQUIRE(client.write_all("hello"));
  bool close_notify = false;
  CHECK(client.read_to_end(close_notify) == "bye");
  CHECK(close_notify);
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE(drained(*server));
  CHECK(std::chrono::steady_clock::now() - t0 < 3500ms);
  client.close_socket();
  server->stop();
  server->join();
}

TEST_CASE("tls: a client's close_notify closes the connection cleanly") {
  auto server = start_tls_server();
  test::BlockingTlsClient client(server->port());
  REQUIRE(client.ok());
  REQUIRE(client.write_all("ping"));
  char buf[4];
  REQUIRE(client.read_exact(buf, 4));
  CHECK(SSL_shutdown(client.ssl()) == 0);  // ours sent; the server's follows
  CHECK(SSL_shutdown(client.ssl()) == 1);
  client.close_socket();
  CHECK(drained(*server));
  CHECK(server->total(&NetStats::tls_errors) == 0);
  server->stop();
  server->join();
}

TEST_CASE("tls: plaintext HTTP sent to the TLS port is refused and leaves nothing behind") {
  auto server = start_tls_server();
  const int fd = test::connect_blocking(server->port());
  REQUIRE(fd >= 0);
  test::set_recv_timeout(fd, 10'000);
  const std::string req = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  REQUIRE(::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size()));
  char buf[512];
  ssize_t n;
  size_t total = 0;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) total += static_cast<size_t>(n);
  CHECK(total < 64);  // at most a TLS alert, never an HTTP answer
  if (total > 0) CHECK(static_cast<uint8_t>(buf[0]) == 21);  // content type: alert
  ::close(fd);
  CHECK(drained(*server));
  CHECK(server->total(&NetStats::tls_errors) == 1);
  server->stop();
  server->join();
}

TEST_CASE("tls: garbage after the handshake closes the connection") {
  auto server = start_tls_server();
  test::BlockingTlsClient client(server->port());
  REQUIRE(client.ok());
  REQUIRE(client.write_all("x"));
  char c;
  REQUIRE(client.read_exact(&c, 1));
  // A record with a valid header and a body that does not decrypt, then bytes that are no record.
  const uint8_t garbage[] = {23, 3, 3, 0, 20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20};
  REQUIRE(::send(client.fd(), garbage, sizeof garbage, MSG_NOSIGNAL) == sizeof garbage);
  char buf[256];
  while (::recv(client.fd(), buf, sizeof buf, 0) > 0) {
  }
  client.close_socket();
  CHECK(drained(*server));
  CHECK(server->total(&NetStats::tls_errors) == 1);
  server->stop();
  server->join();
}

TEST_CASE("tls: a client that stops mid-handshake is dropped by the handshake timeout") {
  auto server = start_tls_server(300);
  const int silent = test::connect_blocking(server->port());
  REQUIRE(silent >= 0);
  // Half a ClientHello header: the server waits for the rest, until its timeout.
  const int partial = test::connect_blocking(server->port());
  REQUIRE(partial >= 0);
  const uint8_t half[] = {22, 3, 1, 0};
  REQUIRE(::send(partial, half, sizeof half, MSG_NOSIGNAL) == sizeof half);
  REQUIRE(test::eventually([&] { return server->total(&NetStats::connections_open) == 2; }, 5s));
  const auto start = std::chrono::steady_clock::now();
  CHECK(drained(*server));
  CHECK(std::chrono::steady_clock::now() - start < 5s);
  for (int fd : {silent, partial}) {
    test::set_recv_timeout(fd, 5'000);
    char buf[16];
    CHECK(::recv(fd, buf, sizeof buf, 0) <= 0);  // the server closed it
    ::close(fd);
  }
  server->stop();
  server->join();
}

TEST_CASE("tls: peers that reset mid-handshake or mid-stream leave nothing behind") {
  auto server = start_tls_server();
  std::vector<uint8_t> big(300 * 1024, 0x42);
  for (int i = 0; i < 20; ++i) {
    if (i % 2 == 0) {
      test::BlockingTlsClient client(server->port());
      REQUIRE(client.ok());
      REQUIRE(client.write_all(big.data(), big.size() / (1 + i % 3)));  // the server is mid-echo
      const linger lg{1, 0};
      ::setsockopt(client.fd(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);  // close = RST
    } else {
      const int fd = test::connect_blocking(server->port());
      REQUIRE(fd >= 0);
      const uint8_t hello_start[] = {22, 3, 1, 2, 0, 1, 0, 1, 252, 3, 3};
      [[maybe_unused]] ssize_t n = ::send(fd, hello_start, sizeof hello_start, MSG_NOSIGNAL);
      const linger lg{1, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
      ::close(fd);
    }
  }
  CHECK(drained(*server));
  CHECK(server->total(&NetStats::output_bytes_queued) == 0);
  server->stop();
  server->join();
}

TEST_CASE("tls: stopping the server ends connections in their handshake too") {
  auto server = start_tls_server();
  const int fd = test::connect_blocking(server->port());
  REQUIRE(fd >= 0);
  test::BlockingTlsClient client(server->port());
  REQUIRE(client.ok());
  REQUIRE(test::eventually([&] { return server->total(&NetStats::connections_open) == 2; }, 5s));
  const auto start = std::chrono::steady_clock::now();
  server->stop();
  server->join();
  CHECK(std::chrono::steady_clock::now() - start < 4s);
  ::close(fd);
}

}  // TEST_SUITE("io")
