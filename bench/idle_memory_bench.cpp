// idle_memory_bench: the server's memory per idle connection, raw TCP, WebSocket and WebSocket over
// TLS (wss://), on each backend, in the same run.
//
// Starts build/bin/ringcast-tcp-echo and build/bin/ringcast-echo (one shard each; for wss:// with a
// self-signed EC P-256 certificate made at run time) as processes and reads the fresh server's RSS.
// Then it opens half of --connections idle connections (each completes one echo, or the TLS and
// WebSocket handshakes and one echoed message) — all at once, or one after another at
// --connect-rate — waits for the server to settle, reads RSS, opens the other half, reads RSS again,
// and reports the cost per connection from the fresh server (fixed costs included), the slope between
// the two halves (what one more connection costs) and the fixed cost apart. Last, every connection
// sends one message at once, and RSS is read once the server has settled again: a burst of traffic
// should leave nothing behind.
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

// Opens `count` connections, all at once (64 clients, each opening its share as fast as it can) or,
// at `rate` per second, one after another; those that opened join `links`.
void open_many(std::vector<Link>& links, uint16_t port, Protocol protocol, unsigned count, double rate) {
  if (rate > 0) {
    const auto start = std::chrono::steady_clock::now();
    for (unsigned i = 0; i < count; ++i) {
      std::this_thread::sleep_until(start + std::chrono::duration<double>(i / rate));
      Link l = open_one(port, protocol, i % 8);
      if (l.fd >= 0) links.push_back(l);
    }
    return;
  }
  constexpr unsigned kClients = 64;
  std::vector<std::vector<Link>> opened(kClients);
  std::vector<std::thread> clients;
  for (unsigned t = 0; t < kClients; ++t) {
    clients.emplace_back([&, t] {
      for (unsigned i = t; i < count; i += kClients) {
        Link l = open_one(port, protocol, i % 8);
        if (l.fd >= 0) opened[t].push_back(l);
      }
    });
  }
  for (auto& c : clients) c.join();
  for (auto& o : opened) links.insert(links.end(), o.begin(), o.end());
}

// A burst of traffic on idle connections: each sends one message, then each reads its echo.
void traffic(const std::vector<Link>& links, Protocol protocol) {
  const char frame[] = {'\x81', '\x82', 1, 2, 3, 4, 'h' ^ 1, 'i' ^ 2};
  const size_t n = protocol == Protocol::kTcp ? 1 : sizeof frame;
  const size_t back = protocol == Protocol::kTcp ? 1 : 4;
  for (const Link& l : links) l.send_all(protocol == Protocol::kTcp ? "x" : frame, n);
  char b[4];
  for (const Link& l : links) l.read_exact(b, back);
}

// RSS (bytes) once the shard has had time to give back what a burst left (its trims run once a second).
int64_t settled_rss(pid_t pid) {
  std::this_thread::sleep_for(std::chrono::seconds(3));
  return load::process_rss_bytes(pid);
}

struct Measure {
  int64_t fresh = 0, half = 0, full = 0, after_traffic = 0;
  unsigned opened_half = 0, opened = 0;
  // Per connection from the fresh server, fixed costs included.
  int64_t per_connection() const { return opened ? (full - fresh) / static_cast<int64_t>(opened) : 0; }
  // Per connection between half and all of them: what one more costs.
  int64_t slope() const {
    return opened > opened_half ? (full - half) / static_cast<int64_t>(opened - opened_half) : 0;
  }
  // What the first connections brought in once (code paged in, tables, pools): the rest of the growth.
  int64_t fixed() const { return full - fresh - slope() * static_cast<int64_t>(opened); }
};

Measure measure(const std::string& binary, const std::string& backend, Protocol protocol, unsigned connections,
                double rate) {
  std::vector<std::string> extra = {"--backend", backend};
  if (protocol != Protocol::kTcp) extra.insert(extra.end(), {"--idle-timeout", "0"});
  if (protocol == Protocol::kSecureWebSocket) {
    const test::TestCertificate& cert = test::test_certificate();
    extra.insert(extra.end(), {"--tls-cert", cert.cert, "--tls-key", cert.key});
  }
  test::ServerProcess s = start(binary, extra);
  Measure m;
  if (s.port() == 0) return m;
  const auto port = static_cast<uint16_t>(s.port());
  // From the fresh server: what the first connection brings in once counts as much as the last one.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  m.fresh = load::process_rss_bytes(s.pid());
  std::vector<Link> links;
  open_many(links, port, protocol, connections / 2, rate);
  m.opened_half = static_cast<unsigned>(links.size());
  m.half = settled_rss(s.pid());
  open_many(links, port, protocol, connections - connections / 2, rate);
  m.opened = static_cast<unsigned>(links.size());
  m.full = settled_rss(s.pid());
  traffic(links, protocol);
  m.after_traffic = settled_rss(s.pid());
  for (Link& l : links) l.close();
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  Cli cli("idle_memory_bench",
          "server memory per idle connection from a fresh server, fixed cost and cost per connection apart: TCP, ws:// and wss://");
  auto& connections = cli.flag("connections", int64_t{10000}, "idle connections to hold");
  auto& rate = cli.flag("connect-rate", 0.0, "connections opened per second, one after another (0: all at once, 64 clients opening as fast as they can)");
  auto& backends = cli.flag("backend", std::string("io_uring,epoll"), "the servers' event loops, a comma list (io_uring, epoll)");
  auto& bin = cli.flag("bin", std::string(), "directory of the server programs (default: next to this program)");
  auto& json = cli.flag("json", std::string(), "also write the figures to this JSON file");
  cli.example("idle_memory_bench --connections 10000 --json bench/results/idle_memory.json");
  cli.example("idle_memory_bench --connections 10000 --connect-rate 2000 --backend epoll");
  if (int rc = cli.parse(argc, argv); rc >= 0) return rc;
  raise_fd_limit();
  std::string dir = bin;
  if (dir.empty()) {
    char self[4096] = {};
    ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    dir = std::string(self, n > 0 ? static_cast<size_t>(n) : 0);
    dir = dir.substr(0, dir.rfind('/'));
  }
  std::vector<std::string> backend_list;
  for (std::string_view rest = backends; !rest.empty();) {
    const size_t comma = rest.find(',');
    backend_list.emplace_back(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
  bench::BenchReport table("idle_memory_bench");
  const std::string arrival = rate > 0 ? fmt::format("{:.0f}/s", static_cast<double>(rate)) : "at once";
  for (const std::string& backend : backend_list) {
    for (auto [name, binary, protocol] : {std::tuple{"tcp", dir + "/ringcast-tcp-echo", Protocol::kTcp},
                                          std::tuple{"websocket", dir + "/ringcast-echo", Protocol::kWebSocket},
                                          std::tuple{"websocket-tls", dir + "/ringcast-echo", Protocol::kSecureWebSocket}}) {
      const Measure m = measure(binary, backend, protocol, static_cast<unsigned>(connections), rate);
      if (m.opened == 0) {
        fmt::print(stderr, "idle_memory_bench: no {} connection opened (is {} built?)\n", name, binary);
        return 1;
      }
      auto mib = [](int64_t bytes) { return static_cast<double>(bytes) / 1048576.0; };
      table.add({{"backend", backend},
                 {"protocol", std::string(name)},
                 {"arrival", arrival},
                 {"connections", static_cast<int64_t>(m.opened)},
                 {"rss_fresh_mib", mib(m.fresh)},
                 {"rss_half_mib", mib(m.half)},
                 {"rss_idle_mib", mib(m.full)},
                 {"rss_after_traffic_mib", mib(m.after_traffic)},
                 {"fixed_kib_per_shard", static_cast<double>(m.fixed()) / 1024.0},
                 {"slope_bytes_per_connection", m.slope()},
                 {"bytes_per_connection", m.per_connection()}});
    }
  }
  fmt::print("Server memory per idle connection (one shard, from the fresh server's RSS; settled 3 s after each step)\n");
  table.print_table();
  if (!json.empty() && !table.write_json(json)) return 1;
  return 0;
}
