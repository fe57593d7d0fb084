#pragma once
// Runtime: starts N shards (one pinned thread per CPU of the process's affinity mask by default),
// wires the mesh between them, and runs the process's signal handling on the calling thread.
//
// Typical use (the net and ws layers wrap this):
//   Runtime rt({.shards = {.count = 4}, .make_driver = ..., .on_start = [](Shard& s) { /* listen */ }});
//   return rt.run();   // returns 0 after SIGINT/SIGTERM and a graceful stop of every shard
//
// Threads: construct, run/start/stop/join from one controlling thread; stop() from any thread.
#include <chrono>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include <ringcast/core/detail/event_driver.hpp>
#include <ringcast/core/detail/mesh.hpp>
#include <ringcast/core/shard.hpp>

namespace ringcast {

// How many shards run, on which CPUs, and how they talk and stop. Declared once, here: TcpServerOptions
// and AppOptions carry it whole (`.shards = {.count = 2}`).
struct ShardOptions {
  unsigned count = 0;               // 0: one per CPU in the affinity mask
  bool pin = true;                  // pin shard i to the i-th CPU of the mask (round robin)
  // Tasks per queue, per ordered pair of shards. Small on purpose: a full queue is what pauses a
  // publisher (Shard::send_to), so this bounds how far a shard's publishers run ahead of another
  // shard's members, whose copies wait here.
  size_t mesh_capacity = 64;
  std::chrono::milliseconds stop_timeout{5000};  // how long a stopping shard may drain
  // How often a shard's loop looks whether another thread waited for its CPU (it was switched out
  // against its will since the last look), and if so yields it (0: never). A shard that keeps
  // finding work never sleeps, so without this a thread sharing its CPU (the shard of another
  // process, a load generator, a sidecar) waits for the scheduler's tick, 4 ms at HZ 250. Alone on
  // its CPU a shard never yields.
  std::chrono::microseconds yield_interval{200};
};

struct RuntimeOptions {
  ShardOptions shards;
  // Creates a shard's driver, on that shard's thread. Default: EventfdDriver (no I/O).
  std::function<std::unique_ptr<EventDriver>(Shard&)> make_driver;
  // Runs on each shard's thread once its driver exists, before its loop starts.
  std::function<void(Shard&)> on_start;
  // Set: the first SIGTERM runs this on run()'s thread instead of stopping (a drain, which calls
  // stop() once it is done); SIGINT still stops. Any signal after it stops at once.
  std::function<void()> on_terminate;
  // When set, run() takes SIGHUP too and calls this on the controlling thread (a server reloads its
  // certificates); when not, SIGHUP keeps its default action.
  std::function<void()> on_hangup;
};

class Runtime {
 public:
  explicit Runtime(RuntimeOptions options);
  ~Runtime();  // stops and joins if still running
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  unsigned shard_count() const noexcept { return static_cast<unsigned>(shards_.size()); }
  Shard& shard(unsigned i) noexcept { return *shards_[i]; }

  // Starts every shard thread and returns once each has run on_start.
  void start();
  // start() (if needed), then waits for SIGINT/SIGTERM or stop(), stops every shard gracefully and
  // joins them (SIGTERM with RuntimeOptions::on_terminate: runs that instead, and waits for stop()).
  // A second signal while stopping or draining ends it at once. SIGHUP: on_hangup. Returns 0.
  int run();
  // Asks every shard to stop; returns at once. Any thread.
  void stop() noexcept;
  // Waits for every shard thread to end.
  void join();

  // The CPUs of the calling thread's affinity mask, in order.
  static std::vector<int> allowed_cpus();

 private:
  RuntimeOptions options_;
  std::unique_ptr<Mesh> mesh_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::vector<std::thread> threads_;
  int stop_fd_ = -1;  // eventfd: stop() wakes run()
  bool started_ = false;
};

}  // namespace ringcast
