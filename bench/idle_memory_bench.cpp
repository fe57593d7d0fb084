// idle_memory_bench: the server's memory per idle connection, raw TCP and WebSocket.
//
// Starts build/bin/ringcast-tcp-echo and build/bin/ringcast-echo (one shard each) as processes, warms
// each up (a burst of connections that send, get their echo and leave, so the per-shard receive buffer
// ring and output block pool are already in memory: fixed costs, not per-connection ones), reads its
// RSS, opens --connections idle connections (each completes one echo, or the WebSocket handshake and
// one echoed message), waits, reads RSS again and divides the growth by the count.
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

using namespace ringcast;

namespace {

// Runs `binary --port 0 --shards 1 [extra]` until the returned ServerProcess goes (it finds the port
// in the server's "listening on" line).
test::ServerProcess start(const std::string& binary, std::vector<std::string> extra) {
  std::vector<std::string> args = {binary, "--port", "0", "--shards", "1", "--log", "info"};
  args.insert(args.end(), extra.begin(), extra.end());
  return test::ServerProcess(args);
}

bool read_exact(int fd, char* p, size_t n) {
  while (n > 0) {
    const ssize_t r = ::recv(fd, p, n, 0);
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

// One connection that has done what a client does before going idle; -1 on failure.
int open_one(uint16_t port, bool websocket, unsigned source) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  const SocketAddress from = SocketAddress::ipv4(0x7f000001 + source, 0);
  ::bind(fd, from.data(), from.size());
  const SocketAddress to = SocketAddress::loopback(port);
  if (::connect(fd, to.data(), to.size()) < 0) {
    ::close(fd);
    return -1;
  }
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (!websocket) {
    char b = 'x';
    if (::send(fd, &b, 1, MSG_NOSIGNAL) != 1 || !read_exact(fd, &b, 1)) return ::close(fd), -1;
    return fd;
  }
  static const std::string req =
      "GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) return ::close(fd), -1;
  std::string head;
  char c;
  while (head.find("\r\n\r\n") == std::string::npos && ::recv(fd, &c, 1, 0) == 1) head += c;
  if (head.find(" 101 ") == std::string::npos) return ::close(fd), -1;
  // One masked 2-byte text message, and its echo (4 bytes: header + "hi").
  const char frame[] = {'\x81', '\x82', 1, 2, 3, 4, 'h' ^ 1, 'i' ^ 2};
  char echo[4];
  if (::send(fd, frame, sizeof frame, MSG_NOSIGNAL) != sizeof frame || !read_exact(fd, echo, 4)) return ::close(fd), -1;
  return fd;
}

struct Measure {
  int64_t before = 0, after = 0;
  unsigned opened = 0;
};

Measure measure(const std::string& binary, bool websocket, unsigned connections) {
  test::ServerProcess s = start(binary, websocket ? std::vector<std::string>{"--idle-timeout", "0"} : std::vector<std::string>{});
  Measure m;
  if (s.port() == 0) return m;
  const auto port = static_cast<uint16_t>(s.port());
  // Warm-up: fixed per-shard memory (every page of the receive buffer ring, the block pools) comes in
  // now, through many messages on few connections — so the connection records of the measured
  // connections are still counted in full.
  std::vector<int> warm;
  for (unsigned i = 0; i < 64; ++i) {
    const int fd = open_one(port, websocket, i % 8);
    if (fd >= 0) warm.push_back(fd);
  }
  for (int round = 0; round < 40; ++round) {
    for (int fd : warm) {
      char b[4];
      if (websocket) {
        const char frame[] = {'\x81', '\x82', 1, 2, 3, 4, 'h' ^ 1, 'i' ^ 2};
        if (::send(fd, frame, sizeof frame, MSG_NOSIGNAL) == sizeof frame) read_exact(fd, b, 4);
      } else if (::send(fd, "x", 1, MSG_NOSIGNAL) == 1) {
        read_exact(fd, b, 1);
      }
    }
  }
  for (int fd : warm) ::close(fd);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  m.before = load::process_rss_bytes(s.pid());
  std::vector<int> fds;
  for (unsigned i = 0; i < connections; ++i) {
    const int fd = open_one(port, websocket, i % 8);
    if (fd >= 0) fds.push_back(fd);
  }
  std::this_thread::sleep_for(std::chrono::seconds(1));
  m.after = load::process_rss_bytes(s.pid());
  m.opened = static_cast<unsigned>(fds.size());
  for (int fd : fds) ::close(fd);
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  Cli cli("idle_memory_bench", "server memory per idle connection (RSS growth / connections), TCP and WebSocket");
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
  for (auto [name, binary, websocket] : {std::tuple{"tcp", dir + "/ringcast-tcp-echo", false},
                                         std::tuple{"websocket", dir + "/ringcast-echo", true}}) {
    const Measure m = measure(binary, websocket, static_cast<unsigned>(connections));
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
