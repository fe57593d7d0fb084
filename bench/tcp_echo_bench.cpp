// tcp_echo_bench: raw TCP echo, io_uring against epoll, in the same run.
//
// The server (ringcast's TcpServer with the echo handler, one shard) runs pinned to the first CPU of
// the affinity mask, the client (a ringcast loop, io_uring, one thread) on the second. Each connection
// keeps --inflight messages of --size bytes in flight and checks each echo. For each connection count
// the backends alternate for --rounds rounds; the median round is reported with the server's CPU
// time per message (its thread's CPU time over the measured window), which stays true when the
// client is the bottleneck.
//
//   build/bin/tcp_echo_bench
//   build/bin/tcp_echo_bench --connections 1,100,1000 --seconds 3 --rounds 3 --json bench/results/tcp_echo.json
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstring>
#include <thread>

#include "bench/bench_report.hpp"
#include "bench/load/process_stats.hpp"
#include <ringcast/core/cli.hpp>
#include <ringcast/core/log.hpp>
#include <ringcast/net/tcp_echo_handler.hpp>
#include <ringcast/net/tcp_server.hpp>

using namespace ringcast;
using Clock = std::chrono::steady_clock;

namespace {

// The client side: connections that send a message, wait for all of it back, and send the next.
class PingPong final : public ConnectionHandler {
 public:
  PingPong(Loop& loop, size_t size, unsigned inflight) : loop_(loop), size_(size), inflight_(inflight), msg_(size, 'x') {}
  void on_open(Connection& c) override {
    ++open_;
    for (unsigned i = 0; i < inflight_; ++i) loop_.write(c, msg_);
  }
  size_t on_data(Connection& c, std::span<uint8_t> data) override {
    // Count whole messages; echo bytes may arrive in any pieces.
    auto& pending = partial_[c.index];
    pending += data.size();
    while (pending >= size_) {
      pending -= size_;
      messages_.fetch_add(1, std::memory_order_relaxed);
      if (running_.load(std::memory_order_relaxed)) loop_.write(c, msg_);
    }
    return data.size();
  }
  void on_close(Connection&, int) override { --open_; }

  std::atomic<uint64_t> messages_{0};
  std::atomic<int> open_{0};
  std::atomic<bool> running_{true};
  std::unordered_map<uint32_t, size_t> partial_;

 private:
  Loop& loop_;
  size_t size_;
  unsigned inflight_;
  std::string msg_;
};

struct Round {
  double msgs_per_s = 0;
  double server_us_per_msg = 0;
};

Round run_round(Backend backend, unsigned connections, size_t size, unsigned inflight, double seconds) {
  const std::vector<int> cpus = Runtime::allowed_cpus();
  TcpServerOptions so;
  so.address = SocketAddress::loopback(0);
  so.shards.count = 1;
  so.loop.backend = backend;
  std::atomic<pid_t> server_tid{0};
  so.on_shard_start = [&](Shard&) { server_tid = load::current_tid(); };
  TcpServer server(so, [](Loop& l) { return std::make_unique<TcpEchoHandler>(l); });
  server.start();

  PingPong* client = nullptr;
  std::unique_ptr<PingPong> owned;
  Runtime rt({.shards = {.count = 1},
              .make_driver = [](Shard& s) -> std::unique_ptr<EventDriver> { return Loop::create(s, LoopOptions{}); },
              .on_start = [&](Shard&) {
                // Pin the client to another CPU than the server when there is one.
                if (cpus.size() > 1) {
                  cpu_set_t set;
                  CPU_ZERO(&set);
                  CPU_SET(cpus[1], &set);
                  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
                }
                owned = std::make_unique<PingPong>(Loop::current(), size, inflight);
                client = owned.get();
              }});
  rt.start();
  const uint16_t port = server.port();
  rt.shard(0).post([&, port](Shard&) {
    for (unsigned i = 0; i < connections; ++i) Loop::current().connect(SocketAddress::loopback(port), *client, nullptr);
  });
  while (client->open_.load() < static_cast<int>(connections)) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // warm up
  const uint64_t m0 = client->messages_.load();
  const double cpu0 = load::thread_cpu_seconds(server_tid);
  const auto t0 = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  const uint64_t m1 = client->messages_.load();
  const double cpu1 = load::thread_cpu_seconds(server_tid);
  const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
  client->running_ = false;
  rt.stop();
  rt.join();
  server.stop();
  server.join();
  Round r;
  r.msgs_per_s = static_cast<double>(m1 - m0) / dt;
  r.server_us_per_msg = (cpu1 - cpu0) * 1e6 / static_cast<double>(std::max<uint64_t>(1, m1 - m0));
  return r;
}

Round median(std::vector<Round> rounds) {
  std::sort(rounds.begin(), rounds.end(), [](const Round& a, const Round& b) { return a.msgs_per_s < b.msgs_per_s; });
  return rounds[rounds.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  Cli cli("tcp_echo_bench", "raw TCP echo messages/s, io_uring against epoll, one server shard");
  auto& list = cli.flag("connections", std::string("1,100,1000"), "connection counts, comma-separated");
  auto& size = cli.flag("size", int64_t{32}, "message bytes");
  auto& inflight = cli.flag("inflight", int64_t{1}, "messages in flight per connection");
  auto& seconds = cli.flag("seconds", 2.0, "measured seconds per round");
  auto& rounds = cli.flag("rounds", int64_t{3}, "rounds per backend (alternating); the median is reported");
  auto& json = cli.flag("json", std::string(), "also write the figures to this JSON file");
  cli.example("tcp_echo_bench --connections 1,100,1000 --seconds 3 --json bench/results/tcp_echo.json");
  if (int rc = cli.parse(argc, argv); rc >= 0) return rc;
  log::set_level(log::Level::warn);
  std::vector<unsigned> counts;
  for (size_t at = 0; at < list.size();) {
    const size_t comma = std::min(list.find(',', at), list.size());
    unsigned n = 0;
    std::from_chars(list.data() + at, list.data() + comma, n);
    if (n) counts.push_back(n);
    at = comma + 1;
  }
  bench::BenchReport table("tcp_echo_bench");
  for (unsigned n : counts) {
    std::vector<Round> uring, epoll;
    for (int r = 0; r < rounds; ++r) {
      uring.push_back(run_round(Backend::io_uring, n, static_cast<size_t>(size), static_cast<unsigned>(inflight), seconds));
      epoll.push_back(run_round(Backend::epoll, n, static_cast<size_t>(size), static_cast<unsigned>(inflight), seconds));
    }
    const Round u = median(uring), e = median(epoll);
    table.add({{"connections", static_cast<int64_t>(n)},
               {"io_uring_msgs_per_s", u.msgs_per_s},
               {"epoll_msgs_per_s", e.msgs_per_s},
               {"ratio", u.msgs_per_s / e.msgs_per_s},
               {"io_uring_us_per_msg", u.server_us_per_msg},
               {"epoll_us_per_msg", e.server_us_per_msg},
               {"cpu_ratio", e.server_us_per_msg / u.server_us_per_msg}});
  }
  fmt::print("Raw TCP echo, {}-byte messages, {} in flight per connection, one server shard (median of {} rounds)\n",
             size, inflight, rounds);
  table.print_table();
  if (!json.empty() && !table.write_json(json)) return 1;
  return 0;
}
