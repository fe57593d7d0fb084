// idle_memory_bench: the server's memory per idle connection, raw TCP, WebSocket and WebSocket over
// TLS (wss://), in the same run.
//
// Starts build/bin/ringcast-tcp-echo and build/bin/ringcast-echo (one shard each; for wss:// with a
// self-signed EC P-256 certificate made at run time) as processes, warms each up (a burst of
// connections that send, get their echo and leave, so the per-shard receive buffer ring, output block
// pool and TLS buffers are already in memory: fixed costs, not per-connection ones), reads its RSS,
// opens --connections idle connections (each completes one echo, or the TLS and WebSocket handshakes
// and one echoed message), waits, reads RSS again and divides the growth by the count.
//
//   build/bin/idle_memory_bench --connections 10000 --json bench/results/idle_memory.json
#include <fmt/format.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_report.hpp"
#include "bench/load/process_stats.hpp"
#include <ringcast/core/cli.hpp>
#include <ringcast/net/backend/detail/socket_ops.hpp>
#include <ringcast/net/socket_address.hpp>
#include "tests/support/server_process.hpp"
#include "tests/support/tls_test_support.hpp"

using namespace ringcast;

namespace {

// Runs `binary --port 0 --shards 1 [extra]` until the returned ServerProcess goes (it finds the port
// in the server's "listening on" line).
test::ServerProcess start(const std::string& binary, std::vector<std::string> extra) {
  std::vector<std::string> args = {binary, "--port", "0", "--shards", "1", "--log", "info"};
  args.insert(args.end(), extra.begin(), extra.end());
  return test::ServerProcess(args);
}

// A client socket, plain or TLS (a blocking OpenSSL client that trusts any certificate).
struct Link {
  int fd = -1;
  SSL* ssl = nullptr;

  bool send_all(const void* data, size_t n) const {
    if (ssl) {
      size_t done = 0;
      return SSL_write_ex(ssl, data, n, &done) == 1 && done == n;
    }
    return ::send(fd, data, n, MSG_NOSIGNAL) == static_cast<ssize_t>(n);
  }
  bool read_exact(void* out, size_t n) const {
    auto* p = static_cast<char*>(out);
    while (n > 0) {
      size_t got = 0;
      if (ssl) {
        if (SSL_read_ex(ssl, p, n, &got) != 1) return false;
      } else {
        const ssize_t r = ::recv(fd, p, n, 0);
        if (r <= 0) return false;
        got = static_cast<size_t>(r);
      }
      p += got;
      n -= got;
    }
    return true;
  }
  void close() {
    SSL_free(ssl);  // no close_notify: the server sees the FIN
    ssl = nullptr;
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

enum class Protocol { kTcp, kWebSocket, kSecureWebSocket };

SSL_CTX* client_context() {
  static SSL_CTX* ctx = [] {
    SSL_CTX* c = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr);
    return c;
  }();
  return ctx;
}

// One connection that has done what a client does before going idle; fd -1 on failure.
Link open_one(uint16_t port, Protocol protocol, unsigned source) {
  Link l;
  l.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(l.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  const SocketAddress from = SocketAddress::ipv4(0x7f000001 + source, 0);
  ::bind(l.fd, from.data(), from.size());
  const SocketAddress to = SocketAddress::loopback(port);
  auto fail = [&l] {
    l.close();
    return l;
  };
  if (::connect(l.fd, to.data(), to.size()) < 0) return fail();
  ::setsockopt(l.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (protocol == Protocol::kTcp) {
    char b = 'x';
    if (!l.send_all(&b, 1) || !l.read_exact(&b, 1)) return fail();
    return l;
  }
  if (protocol == Protocol::kSecureWebSocket) {
    l.ssl = SSL_new(client_context());
    SSL_set_fd(l.ssl, l.fd);
    if (SSL_connect(l.ssl) != 1) return fail();
  }
  static const std::string req =
      "GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  if (!l.send_all(req.data(), req.size())) return fail();
  std::string head;
  char c;
  while (head.find("\r\n\r\n") == std::string::npos && l.read_exact(&c, 1)) head += c;
  if (head.find(" 101 ") == std::string::npos) return fail();
  // One masked 2-byte text message, and its echo (4 bytes: header + "hi").
  const char frame[] = {'\x81', '\x82', 1, 2, 3, 4, 'h' ^ 1, 'i' ^ 2};
  char echo[4];
  if (!l.send_all(frame, sizeof frame) || !l.read_exact(echo, 4)) return fail();
  return l;
}

struct Measure {
  int64_t before = 0, after = 0;
  unsigned opened = 0;
};

Measure measure(const std::string& binary, Protocol protocol, unsigned connections) {
  std::vector<std::string> extra;
  if (protocol != Protocol::kTcp) extra = {"--idle-timeout", "0"};
  if (protocol == Protocol::kSecureWebSocket) {
    const test::TestCertificate& cert = test::test_certificate();
    extra.insert(extra.end(), {"--tls-cert", cert.cert, "--tls-key", cert.key});
  }
  test::ServerProcess s = start(binary, extra);
  Measure m;
  if (s.port() == 0) return m;
  const auto port = static_cast<uint16_t>(s.port());
  // Warm-up: fixed per-shard memory (every page of the receive buffer ring, the block pools) comes in
  // now, through many messages on few connections — so the connection records of the measured
  // connections are still counted in full.
  std::vector<Link> warm;
  for (unsigned i = 0; i < 64; ++i) {
    Link l = open_one(port, protocol, i % 8);
    if (l.fd >= 0) warm.push_back(l);
  }
  for (int round = 0; round < 40; ++round) {
    for (const Link& l : warm) {
      char b[4];
      if (protocol != Protocol::kTcp) {
        const char frame[] = {'\x81', '\x82', 1, 2, 3, 4, 'h' ^ 1, 'i' ^ 2};
        if (l.send_all(frame, sizeof frame)) l.read_exact(b, 4);
      } else if (l.send_all("x", 1)) {
        l.read_exact(b, 1);
      }
    }
  }
  for (Link& l : warm) l.close();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  m.before = load::process_rss_bytes(s.pid());
  std::vector<Link> links;
  for (unsigned i = 0; i < connections; ++i) {
    Link l = open_one(port, protocol, i % 8);
    if (l.fd >= 0) links.push_back(l);
  }
  std::this_thread::sleep_for(std::chrono::seconds(1));
  m.after = load::process_rss_bytes(s.pid());
  m.opened = static_cast<unsigned>(links.size());
  for (Link& l : links) l.close();
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  Cli cli("idle_memory_bench", "server memory per idle connection (RSS growth / connections): TCP, ws:// and wss://");
  auto& connections = cli.flag("connections", int64_t{10000}, "idle connections to hold");
  auto& bin = cli.flag("bin", std::string(), "directory of the server programs (default: next to this program)");
  auto& json = cli.flag("json", std::string(), "also write the figures to this JSON file");
  cli.example("idle_memory_bench --connections 10000 --json bench/results/idle_memory.json");
  if (int rc = cli.parse(argc, argv); rc >= 0) return rc;
  raise_fd_limit();
  std::string dir = bin;
  if (dir.empty()) {
    char self[4096] = {};
    ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    dir = std::string(self, n > 0 ? static_cast<size_t>(n) : 0);
    dir = dir.substr(0, dir.rfind('/'));
  }
  bench::BenchReport table("idle_memory_bench");
  for (auto [name, binary, protocol] : {std::tuple{"tcp", dir + "/ringcast-tcp-echo", Protocol::kTcp},
                                        std::tuple{"websocket", dir + "/ringcast-echo", Protocol::kWebSocket},
                                        std::tuple{"websocket-tls", dir + "/ringcast-echo", Protocol::kSecureWebSocket}}) {
    const Measure m = measure(binary, protocol, static_cast<unsigned>(connections));
    if (m.opened == 0) {
      fmt::print(stderr, "idle_memory_bench: no {} connection opened (is {} built?)\n", name, binary);
      return 1;
    }
    table.add({{"protocol", std::string(name)},
               {"connections", static_cast<int64_t>(m.opened)},
               {"rss_before_mib", static_cast<double>(m.before) / 1048576.0},
               {"rss_after_mib", static_cast<double>(m.after) / 1048576.0},
               {"bytes_per_connection", static_cast<int64_t>((m.after - m.before) / static_cast<int64_t>(m.opened))}});
  }
  fmt::print("Server memory per idle connection (one shard, RSS after warm-up)\n");
  table.print_table();
  if (!json.empty() && !table.write_json(json)) return 1;
  return 0;
}
