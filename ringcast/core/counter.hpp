#pragma once
// Counter: a per-shard statistic with one writer (the shard's thread) and any number of readers
// (the /metrics handler on some other shard). The writer adds with a plain load+store — no locked
// instruction — and readers see a recent value; that is all a metric needs.
#include <atomic>
#include <cstdint>

namespace ringcast {

class Counter {
 public:
  void add(uint64_t n = 1) noexcept { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  void sub(uint64_t n = 1) noexcept { v_.store(v_.load(std::memory_order_relaxed) - n, std::memory_order_relaxed); }
  void set(uint64_t n) noexcept { v_.store(n, std::memory_order_relaxed); }
  uint64_t get() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

// What every shard's loop counts. Layers above keep their own counter structs the same way.
struct ShardStats {
  Counter loop_iterations;
  Counter loop_sleeps;        // iterations that blocked waiting for events
  Counter busy_ns;            // time spent working (not blocked in wait)
  Counter cpu_yields;         // times the loop offered its CPU to other threads
  Counter mesh_sent;          // tasks handed to other shards
  Counter mesh_received;      // tasks run for other shards
  Counter mesh_backlogged;    // tasks that had to wait in a local backlog because a queue was full
  Counter mesh_backlog_now;   // tasks waiting in local backlogs right now
  Counter wakeups_sent;       // sleeping shards this shard woke
  Counter timers_fired;
};

}  // namespace ringcast
