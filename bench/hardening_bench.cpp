// hardening_bench: what three attacks cost a running server (docs/operations.md, "Limits"), measured
// from outside with its pid — the figures bench/results/hardening.md keeps.
//
//   pipelining  --pipeline-connections clients, each with a 4 KiB receive buffer that it never reads,
//               send `GET --get-path HTTP/1.1` requests back to back, 256 KiB each: the server's RSS
//               before, at its peak, and 3 s after the clients have gone
//   chunked     one POST to --post-path with a body of 1-byte chunks (`1\r\na\r\n`), 6 MiB on the
//               wire: the server's CPU time for it (until it answers)
//   bomb        --members members of /room/bomb that never read (permessage-deflate), and a member that
//               publishes --bombs messages of --bomb-size zeros, compressed (16 MiB: 16 KB each): the
//               server's peak RSS above what it was before
//
//   ringcast-echo --port 9001 --deflate --max-message 16777216 &
//   hardening_bench --port 9001 --server-pid $(pidof ringcast-echo) --json hardening.json
//                   --markdown bench/results/hardening.md   (one command line)
//
// The server must answer HTTP at both paths (any answer will do) and, for the bomb, serve rooms at
// /room/NAME where a member's messages go to every member (ringcast-echo does). Prints the figures
// and, with --json FILE, writes them; --markdown FILE writes them beside the figures measured on
// db27b8c, the commit before the fixes (bench/results/hardening.md).
#include <fmt/format.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <ringcast/core/cli.hpp>
#include "tests/support/deflate_test_support.hpp"
#include "tests/support/memory.hpp"
#include "tests/support/raw_ws_client.hpp"

using namespace ringcast;
using namespace ringcast::test;
using namespace std::chrono_literals;

namespace {

// The server's CPU time, in seconds: its threads' time on a CPU in nanoseconds (proc(5), schedstat),
// where /proc/PID/stat counts in ticks of 10 ms.
double cpu_seconds(pid_t pid) {
  uint64_t ns = 0;
  const std::string tasks = "/proc/" + std::to_string(pid) + "/task";
  for (const auto& task : std::filesystem::directory_iterator(tasks)) {
    std::ifstream in(task.path() / "schedstat");
    uint64_t on_cpu = 0;
    if (in >> on_cpu) ns += on_cpu;
  }
  return static_cast<double>(ns) / 1e9;
}

// Peak RSS of another process since the last reset (proc(5): writing 5 to clear_refs resets VmHWM).
void reset_peak(pid_t pid) {
  std::ofstream out("/proc/" + std::to_string(pid) + "/clear_refs");
  out << "5";
}
long peak_kib(pid_t pid) { return status_kib(pid, "VmHWM"); }

double mib(long kib) { return static_cast<double>(kib) / 1024.0; }

// Writes `bytes` without reading anything back; returns what the kernel took within `patience`.
size_t send_without_reading(int fd, const std::string& bytes, std::chrono::milliseconds patience) {
  size_t sent = 0;
  const auto deadline = std::chrono::steady_clock::now() + patience;
  while (sent < bytes.size() && std::chrono::steady_clock::now() < deadline) {
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      std::this_thread::sleep_for(1ms);
    } else {
      break;
    }
  }
  return sent;
}

struct Pipelining {
  long rss_before = 0, rss_peak = 0, rss_after = 0;
  size_t sent = 0;
};

Pipelining pipelining(uint16_t port, pid_t pid, int connections, const std::string& path) {
  Pipelining r;
  r.rss_before = rss_kib(pid);
  reset_peak(pid);
  std::string request = fmt::format("GET {} HTTP/1.1\r\nHost: x\r\n\r\n", path);
  std::string run;
  while (run.size() < (256u << 10)) run += request;
  std::vector<std::thread> clients;
  std::vector<size_t> sent(static_cast<size_t>(connections), 0);
  for (int i = 0; i < connections; ++i) {
    clients.emplace_back([&, i] {
      RawWsClient c(port, Delivery::whole(), 4096);  // the 4 KiB window is set before connecting
      if (!c.connected()) return;
      sent[static_cast<size_t>(i)] = send_without_reading(c.fd(), run, 5s);
      std::this_thread::sleep_for(1s);  // the server answers into a window that never opens
    });
  }
  for (auto& t : clients) t.join();
  for (size_t s : sent) r.sent += s;
  r.rss_peak = peak_kib(pid);
  std::this_thread::sleep_for(3s);
  r.rss_after = rss_kib(pid);
  return r;
}

struct Chunked {
  double cpu = 0;
  size_t wire = 0;
  std::string status;
};

Chunked chunked(uint16_t port, pid_t pid, const std::string& path, size_t wire_bytes) {
  Chunked r;
  std::string body;
  while (body.size() < wire_bytes) body += "1\r\na\r\n";
  body += "0\r\n\r\n";
  const std::string head = fmt::format("POST {} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", path);
  RawWsClient c(port);
  if (!c.connected()) return r;
  const double before = cpu_seconds(pid);
  r.wire = send_without_reading(c.fd(), head + body, 60s);
  // The answer (or the server's close) says it is done with the body.
  char buf[256];
  pollfd pfd{.fd = c.fd(), .events = POLLIN, .revents = 0};
  if (::poll(&pfd, 1, 30000) > 0) {
    const ssize_t n = ::recv(c.fd(), buf, sizeof buf, 0);
    if (n > 0) r.status = std::string(buf, static_cast<size_t>(std::min<ssize_t>(n, 12)));
  }
  std::this_thread::sleep_for(100ms);
  r.cpu = cpu_seconds(pid) - before;
  return r;
}

struct Bomb {
  long rss_before = 0, rss_peak = 0;
  size_t wire = 0;
  int members = 0;
};

Bomb bomb(uint16_t port, pid_t pid, int members, int bombs, size_t bomb_size) {
  Bomb r;
  const std::string offer = "Sec-WebSocket-Extensions: permessage-deflate\r\n";
  std::vector<RawWsClient> room;
  for (int i = 0; i < members; ++i) {
    RawWsClient c(port, Delivery::whole(), 4096);
    if (c.connected() && c.handshake("/room/bomb", offer)) {
      room.push_back(std::move(c));
      ++r.members;
    }
  }
  RawWsClient publisher(port);
  if (!publisher.connected() || !publisher.handshake("/room/bomb", offer)) return r;
  PeerDeflater z(15, false, 9);
  const std::string compressed = z.compress(std::string(bomb_size, '\0'));
  const std::string frame = publisher.encode({.opcode = op::kBinary, .payload = compressed, .rsv = kRsv1Bit});
  std::this_thread::sleep_for(200ms);
  r.rss_before = rss_kib(pid);
  reset_peak(pid);
  for (int i = 0; i < bombs; ++i) r.wire += send_without_reading(publisher.fd(), frame, 5s);
  std::this_thread::sleep_for(3s);
  r.rss_peak = peak_kib(pid);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  Cli cli("hardening_bench", "what pipelined requests, a chunked body of 1-byte chunks and decompression bombs to a room cost a running server");
  auto& port = cli.flag("port", int64_t{9001}, "the server's port on 127.0.0.1");
  auto& server_pid = cli.flag("server-pid", int64_t{0}, "the server's pid (its RSS and CPU are read from /proc)");
  auto& get_path = cli.flag("get-path", std::string("/metrics"), "the HTTP path the pipelined requests ask for");
  auto& post_path = cli.flag("post-path", std::string("/"), "the HTTP path the chunked body is posted to");
  auto& post_port = cli.flag("post-port", int64_t{0}, "the port of the server the chunked body goes to (0: --port)");
  auto& post_pid = cli.flag("post-pid", int64_t{0}, "that server's pid (0: --server-pid)");
  auto& pipeline_connections = cli.flag("pipeline-connections", int64_t{20}, "clients pipelining 256 KiB of requests each");
  auto& chunked_bytes = cli.flag("chunked-bytes", int64_t{6 << 20}, "bytes of 1-byte chunks on the wire");
  auto& members = cli.flag("members", int64_t{20}, "members of the room that never read");
  auto& bombs = cli.flag("bombs", int64_t{40}, "compressed messages published to the room");
  auto& bomb_size = cli.flag("bomb-size", int64_t{16 << 20}, "bytes each bomb inflates to (zeros)");
  auto& json = cli.flag("json", std::string(), "write the figures to this JSON file");
  auto& markdown = cli.flag("markdown", std::string(), "write the figures, beside those measured before the fixes, to this file");
  auto& setup = cli.flag("setup", std::string("ringcast-echo --deflate --max-message 16777216 (2 shards)"),
                         "how the server was started, for --markdown");
  auto& post_setup = cli.flag("post-setup", std::string(), "how the server of --post-port was started, for --markdown");
  cli.example("hardening_bench --port 9001 --server-pid $(pidof ringcast-echo) --json hardening.json");
  if (int rc = cli.parse(argc, argv); rc >= 0) return rc;
  const auto pid = static_cast<pid_t>(server_pid);
  if (pid <= 0 || rss_kib(pid) < 0 || port <= 0 || port > 65535) {
    fmt::print(stderr, "hardening_bench: --server-pid must name a running process and --port a port\n");
    return 2;
  }
  const auto p = static_cast<uint16_t>(port);
  const Pipelining pipe = pipelining(p, pid, static_cast<int>(pipeline_connections), get_path);
  fmt::print("pipelining  {} clients, {} KiB sent in all: server RSS {:.1f} MiB before, peak {:.1f} MiB (+{:.1f}), {:.1f} MiB 3 s after\n",
             pipeline_connections, pipe.sent / 1024, mib(pipe.rss_before), mib(pipe.rss_peak), mib(pipe.rss_peak - pipe.rss_before),
             mib(pipe.rss_after));
  const Chunked ch = chunked(post_port > 0 ? static_cast<uint16_t>(post_port) : p,
                             post_pid > 0 ? static_cast<pid_t>(post_pid) : pid, post_path, static_cast<size_t>(chunked_bytes));
  fmt::print("chunked     {} KiB of 1-byte chunks sent: server CPU {:.3f} s until it answered {}\n", ch.wire / 1024, ch.cpu, ch.status);
  const Bomb b = bomb(p, pid, static_cast<int>(members), static_cast<int>(bombs), static_cast<size_t>(bomb_size));
  fmt::print("bomb        {} bombs ({} KB on the wire) to {} members that never read: server RSS {:.1f} MiB, peak +{:.1f} MiB\n",
             bombs, b.wire / 1000, b.members, mib(b.rss_before), mib(b.rss_peak - b.rss_before));
  const std::string out = fmt::format(
      "{{\"pipelining\": {{\"connections\": {}, \"sent_bytes\": {}, \"rss_before_kib\": {}, \"rss_peak_kib\": {}, "
      "\"rss_peak_growth_kib\": {}, \"rss_after_kib\": {}}}, \"chunked\": {{\"wire_bytes\": {}, \"server_cpu_seconds\": {:.3f}}}, "
      "\"bomb\": {{\"members\": {}, \"bombs\": {}, \"bomb_size\": {}, \"wire_bytes\": {}, \"rss_before_kib\": {}, "
      "\"rss_peak_growth_kib\": {}}}}}\n",
      pipeline_connections, pipe.sent, pipe.rss_before, pipe.rss_peak, pipe.rss_peak - pipe.rss_before, pipe.rss_after, ch.wire,
      ch.cpu, b.members, bombs, bomb_size, b.wire, b.rss_before, b.rss_peak - b.rss_before);
  fmt::print("{}", out);
  if (!json.empty()) std::ofstream(json) << out;
  if (!markdown.empty()) {
    std::ofstream md(markdown);
    md << fmt::format(
        "# What three attacks cost a server\n\n"
        "Written by `bench/hardening_bench --markdown` against {}{} on 127.0.0.1 (a 2-CPU machine shared with other work). "
        "The column \"before\" was measured on db27b8c, the commit before the fixes, by hand with the same inputs (the "
        "servers named there); \"now\" is this run.\n\n"
        "| case | before (db27b8c) | now |\n|---|---|---|\n"
        "| pipelined `GET {}` from clients that never read (4 KiB receive buffer), 256 KiB of requests each | one "
        "client: RSS 9 MiB → 417 MiB, still held after it left; 20 clients: past 11 GB, still growing after they had "
        "gone | {} clients: RSS {:.1f} MiB → peak {:.1f} MiB (+{:.1f} MiB), {:.1f} MiB 3 s after they left |\n"
        "| a chunked body of 1-byte chunks (`1\\r\\na\\r\\n`), 6 MiB, POST `{}` | 1.74 s of server CPU (quadratic: 1 and "
        "3 MiB cost 0.13 and 0.61 s) | {:.3f} s of server CPU until it answered `{}` ({} KiB sent by then) |\n"
        "| decompression bombs to a room of members that never read: {} × {} MiB of zeros ({} KB on the wire), {} "
        "members | peak RSS +375 MiB (190 MB still held 3 s later); +113 MiB in another run | peak RSS +{:.1f} MiB |\n",
        setup, post_setup.empty() ? std::string() : " (the chunked body: " + post_setup + ")", get_path, pipeline_connections, mib(pipe.rss_before), mib(pipe.rss_peak), mib(pipe.rss_peak - pipe.rss_before),
        mib(pipe.rss_after), post_path, ch.cpu, ch.status, ch.wire / 1024, bombs, bomb_size >> 20, b.wire / 1000, b.members,
        mib(b.rss_peak - b.rss_before));
  }
  return 0;
}
