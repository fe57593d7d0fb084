// spsc_bench: the cross-shard fabric, measured.
//  1. Items/s and ns/item through ringcast's SpscQueue against a mutex-protected std::deque, one
//     producer and one consumer thread on different CPUs, in the same run.
//  2. Round-trip latency (p50/p99) of a task sent from shard 0 to shard 1 and back over the mesh, on
//     real event loops (io_uring and epoll): "awake" while both shards are busy, "asleep" when each
//     message has to wake a sleeping shard (a ring-to-ring message on io_uring, an eventfd on epoll).
//
//   build/bin/spsc_bench                   default sizes
//   build/bin/spsc_bench --items 50000000 --json bench/results/spsc.json
#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <mutex>
#include <thread>

#include "bench/bench_report.hpp"
#include <ringcast/core/cli.hpp>
#include <ringcast/core/detail/spsc_queue.hpp>
#include <ringcast/core/latency_histogram.hpp>
#include <ringcast/core/log.hpp>
#include <ringcast/core/runtime.hpp>
#include <ringcast/net/backend/loop.hpp>

using namespace ringcast;
using Clock = std::chrono::steady_clock;

namespace {

void pin(int cpu) {
  const std::vector<int> cpus = Runtime::allowed_cpus();
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpus[static_cast<size_t>(cpu) % cpus.size()], &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

// Mutex + deque: what a queue between threads looks like without thinking about it.
class LockedQueue {
 public:
  bool try_push(uint64_t v) {
    std::lock_guard lock(m_);
    q_.push_back(v);
    return true;
  }
  bool try_pop(uint64_t& v) {
    std::lock_guard lock(m_);
    if (q_.empty()) return false;
    v = q_.front();
    q_.pop_front();
    return true;
  }

 private:
  std::mutex m_;
  std::deque<uint64_t> q_;
};

// Producer and consumer each on a thread of their own, pinned to different CPUs; the main thread is
// never pinned, so later runs (and the shards of the mesh figures) still see every allowed CPU.
template <typename Push, typename Pop>
double transfer_ns_per_item(uint64_t items, Push push, Pop pop) {
  std::atomic<bool> go{false};
  uint64_t sum = 0;
  double ns = 0;
  std::thread consumer([&] {
    pin(1);
    while (!go.load()) {}
    uint64_t v = 0, seen = 0;
    while (seen < items) {
      if (pop(v)) {
        sum += v;
        ++seen;
      }
    }
  });
  std::thread producer([&] {
    pin(0);
    const auto t0 = Clock::now();
    go = true;
    for (uint64_t i = 0; i < items;) {
      if (push(i)) ++i;
    }
    consumer.join();
    ns = std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
  });
  producer.join();
  if (sum != items * (items - 1) / 2) fmt::print(stderr, "lost items!\n");
  return ns / static_cast<double>(items);
}

double median3(double a, double b, double c) { return std::max(std::min(a, b), std::min(std::max(a, b), c)); }

struct RoundTrips {
  LatencyHistogram awake, asleep;
};

// Ping-pong between shards 0 and 1 on loops of the given backend.
struct PingPong {
  struct Pause : Timer {  // the gap between "asleep" round trips
    PingPong* self = nullptr;
    Pause() : Timer(&fire) {}
    static void fire(Timer& t) {
      auto& p = static_cast<Pause&>(t);
      p.self->ping(*p.self->shard0);
    }
  };
  struct Spin {  // keeps a shard's loop from blocking while `spin` is set
    std::atomic<bool>* spin;
    void operator()(Shard& s) const {
      if (spin->load(std::memory_order_relaxed)) s.defer(Spin{spin});
    }
  };

  int awake_samples = 0, asleep_samples = 0, trips = 0;
  RoundTrips out;
  std::atomic<bool> done{false}, spin{true};
  Clock::time_point t0;
  Shard* shard0 = nullptr;
  Pause pause;

  void ping(Shard& s0) {
    shard0 = &s0;
    t0 = Clock::now();
    s0.send_to(1, [this](Shard& s1) { s1.send_to(0, [this](Shard& back) { pong(back); }); });
  }
  void pong(Shard& s0) {
    const auto rtt = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count());
    ++trips;
    if (trips <= awake_samples) {
      out.awake.record(rtt);
      if (trips == awake_samples) spin = false;  // from now on both shards sleep between trips
      ping(s0);
    } else if (trips <= awake_samples + asleep_samples + 1) {
      if (trips > awake_samples + 1) out.asleep.record(rtt);  // the first may still find them awake
      pause.self = this;
      s0.timers().schedule_in(pause, 2);
    } else {
      done = true;
    }
  }
};

RoundTrips mesh_round_trips(Backend backend, int awake_samples, int asleep_samples) {
  PingPong pp;
  pp.awake_samples = awake_samples;
  pp.asleep_samples = asleep_samples;
  LoopOptions lo;
  lo.backend = backend;
  Runtime rt({.shards = {.count = 2},
              .make_driver = [&](Shard& s) -> std::unique_ptr<EventDriver> { return Loop::create(s, lo); },
              .on_start = [&](Shard& s) { s.defer(PingPong::Spin{&pp.spin}); }});
  rt.start();
  rt.shard(0).post([&](Shard& s) { pp.ping(s); });
  while (!pp.done.load()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  rt.stop();
  rt.join();
  return pp.out;
}

}  // namespace

int main(int argc, char** argv) {
  Cli cli("spsc_bench", "SPSC queue vs mutex+deque throughput, and mesh round-trip latency between shards");
  auto& items = cli.flag("items", int64_t{20'000'000}, "items per throughput run (3 runs each, median)");
  auto& awake = cli.flag("awake", int64_t{50'000}, "round trips measured with both shards busy");
  auto& asleep = cli.flag("asleep", int64_t{2'000}, "round trips measured with both shards asleep");
  auto& json = cli.flag("json", std::string(), "also write the figures to this JSON file");
  cli.example("spsc_bench --items 50000000 --json bench/results/spsc.json");
  if (int rc = cli.parse(argc, argv); rc >= 0) return rc;
  log::set_level(log::Level::warn);

  bench::BenchReport report("spsc_bench");
  const auto n = static_cast<uint64_t>(items);
  double spsc[3], locked[3];
  for (int r = 0; r < 3; ++r) {
    SpscQueue<uint64_t> q(4096);
    spsc[r] = transfer_ns_per_item(n, [&](uint64_t v) { return q.try_push(uint64_t{v}); },
                                   [&](uint64_t& v) {
                                     uint64_t* p = q.front();
                                     if (!p) return false;
                                     v = *p;
                                     q.pop();
                                     return true;
                                   });
    LockedQueue lq;
    locked[r] = transfer_ns_per_item(n, [&](uint64_t v) { return lq.try_push(v); },
                                     [&](uint64_t& v) { return lq.try_pop(v); });
  }
  const double s = median3(spsc[0], spsc[1], spsc[2]);
  const double l = median3(locked[0], locked[1], locked[2]);
  fmt::print("Queue throughput (producer and consumer on different CPUs, median of 3 runs of {} items)\n", n);
  bench::BenchReport queues("queues");
  queues.add({{"queue", std::string("SpscQueue")}, {"ns/item", s}, {"Mitems/s", 1e3 / s}, {"speedup", l / s}});
  queues.add({{"queue", std::string("mutex+deque")}, {"ns/item", l}, {"Mitems/s", 1e3 / l}, {"speedup", 1.0}});
  queues.print_table();
  report.add({{"figure", std::string("queue")}, {"spsc_ns_per_item", s}, {"locked_ns_per_item", l}, {"ratio", l / s}});

  fmt::print("\nMesh round trip, shard 0 -> shard 1 -> shard 0 (microseconds)\n");
  bench::BenchReport trips("trips");
  for (Backend b : {Backend::io_uring, Backend::epoll}) {
    RoundTrips rtt = mesh_round_trips(b, static_cast<int>(awake), static_cast<int>(asleep));
    for (auto [state, h] : {std::pair{"awake", &rtt.awake}, std::pair{"asleep", &rtt.asleep}}) {
      const double p50 = static_cast<double>(h->percentile(0.5)) / 1e3;
      const double p99 = static_cast<double>(h->percentile(0.99)) / 1e3;
      trips.add({{"backend", std::string(backend_name(b))}, {"shards", std::string(state)}, {"p50_us", p50},
                 {"p99_us", p99}, {"samples", static_cast<int64_t>(h->count())}});
      report.add({{"figure", std::string("mesh_round_trip")}, {"backend", std::string(backend_name(b))},
                  {"state", std::string(state)}, {"p50_us", p50}, {"p99_us", p99}});
    }
  }
  trips.print_table();
  if (!json.empty() && !report.write_json(json)) {
    fmt::print(stderr, "cannot write {}\n", json);
    return 1;
  }
  return 0;
}
