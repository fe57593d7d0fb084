#pragma once
// Mesh: the cross-shard fabric. One bounded SPSC queue per ordered pair of shards (N×(N−1) queues);
// queue (i→j) is pushed only by shard i's thread and popped only by shard j's thread, so no lock and
// no read-modify-write is needed to move a task. Shards use it through Shard::send_to; this type only
// owns the queues and the per-queue "producer is waiting for space" flag.
//
// Memory: each queue holds `capacity` MeshTasks of 64 bytes (default 64 → 4 KiB per pair).
#include <atomic>
#include <memory>
#include <vector>

#include <ringcast/core/detail/mesh_task.hpp>
#include <ringcast/core/detail/spsc_queue.hpp>

namespace ringcast {

class Mesh {
 public:
  struct Channel {
    explicit Channel(size_t capacity) : queue(capacity) {}
    SpscQueue<MeshTask> queue;
    // Set by the producer when it holds a backlog for this queue and is about to sleep; the consumer,
    // having made room, wakes the producer. Alone on its cache line: both sides touch it.
    alignas(kCacheLine) std::atomic<bool> producer_waiting{false};
  };

  Mesh(unsigned shards, size_t capacity) : shards_(shards) {
    channels_.reserve(size_t{shards} * shards);
    for (unsigned from = 0; from < shards; ++from) {
      for (unsigned to = 0; to < shards; ++to) {
        channels_.push_back(from == to ? nullptr : std::make_unique<Channel>(capacity));
      }
    }
  }

  unsigned shards() const noexcept { return shards_; }
  Channel& channel(unsigned from, unsigned to) noexcept { return *channels_[size_t{from} * shards_ + to]; }

 private:
  unsigned shards_;
  std::vector<std::unique_ptr<Channel>> channels_;
};

}  // namespace ringcast
