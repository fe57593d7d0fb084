#pragma once
// Shard: one thread pinned to one CPU, owning one event driver, one timer wheel and its ends of the
// mesh. Everything a shard owns is touched by its thread only; other threads reach it through
// send_to (other shards, lock-free) or post (any thread), and both run the task on the shard's thread.
//
// The loop, once per iteration: fire due timers, run tasks that arrived from other shards and
// threads, dispatch the events the driver's last wait collected, run deferred tasks, flush the mesh
// outboxes (waking shards that sleep), start the iteration's sends, then wait: the driver submits
// all I/O queued during the iteration at once and waits for the next events.
//
// Order across shards: a shard hands its tasks for other shards over before its sends of the same
// iteration leave, and runs the tasks it was sent before the events its last wait collected. So
// when shard A sends B a task, then does I/O that leads (through a client, Redis, anyone) to an
// event on B, B runs the task first: a client that got its 101 after joining a room gets every
// message published after that. (A task that waits in A's backlog for room in a full queue is the
// exception: backpressure holds it, not the I/O.)
//
// Sharing the CPU: a shard that always finds more work never sleeps, so another thread on its CPU
// would wait for the scheduler's tick. Once per yield interval the loop reads its involuntary
// context switches; when there were any since the last look it submits what it queued and yields
// (ShardOptions::yield_interval).
//
// Sleeping: before a blocking wait a shard publishes `sleeping_` and re-checks its inbound queues
// (a store-load fence on each side, Dekker style); a producer that finds the target asleep after
// publishing wakes it once. Awake shards are never signalled, so a busy mesh costs no syscalls.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include <ringcast/core/counter.hpp>
#include <ringcast/core/detail/event_driver.hpp>
#include <ringcast/core/detail/mesh.hpp>
#include <ringcast/core/detail/mesh_task.hpp>
#include <ringcast/core/detail/mpsc_queue.hpp>
#include <ringcast/core/timer_wheel.hpp>

namespace ringcast {

class Runtime;

class Shard {
 public:
  Shard(Runtime& runtime, Mesh& mesh, unsigned id, int cpu);
  ~Shard();
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;

  // The shard whose thread is calling, or nullptr on any other thread.
  static Shard* current() noexcept;

  unsigned id() const noexcept { return id_; }
  unsigned shard_count() const noexcept { return mesh_.shards(); }
  int cpu() const noexcept { return cpu_; }
  Runtime& runtime() noexcept { return runtime_; }
  const ShardStats& stats() const noexcept { return stats_; }

  // ---- This shard's thread only ----

  ShardStats& stats() noexcept { return stats_; }
  EventDriver& driver() noexcept { return *driver_; }
  TimerWheel& timers() noexcept { return timers_; }
  // Monotonic time of the current loop iteration (read once per iteration).
  int64_t now_ns() const noexcept { return now_ns_; }
  uint64_t now_ms() const noexcept { return timers_.now(); }
  // Reads the clock and fires the timers that are due. The loop calls it at the top of each
  // iteration; a driver calls it again when its wait returns, before it dispatches events, so that
  // handlers woken after a long sleep see the time they woke at (a timer they arm counts from now,
  // not from when the shard went to sleep).
  void update_clock() noexcept;

  // Runs `fn(Shard&)` on shard `target`'s thread. Never blocks and never drops: when the queue to
  // `target` is full the task waits in a local backlog, in order. Tasks from one shard to another run
  // in the order they were sent. Sending to oneself defers the task to later in this iteration.
  void send_to(unsigned target, MeshTask task);
  // Tasks that have had to wait in a local backlog (their queue was full) since the shard started.
  // Two reads around a piece of work tell whether it overflowed a queue: the network loop then stops
  // reading from the connection whose input did it until the backlog is gone (EventDriver::mesh_clear),
  // so a fast shard's publishers feel a slow shard instead of queueing for it without bound.
  uint64_t backlogged_tasks() const noexcept { return stats_.mesh_backlogged.get(); }
  // Runs `fn(Shard&)` later in this loop iteration, after the current callback returns.
  void defer(MeshTask task) { deferred_.push_back(std::move(task)); }

  // Calls `fn` once when the shard starts stopping (in registration order). Hooks close listeners,
  // say goodbye to clients, and may hold the stop with hold_stop() until their work is done.
  void on_stop(std::function<void()> fn) { stop_hooks_.push_back(std::move(fn)); }
  // While holds are outstanding (and the stop timeout has not passed) a stopping shard keeps looping.
  void hold_stop() noexcept { ++stop_holds_; }
  void release_stop() noexcept { --stop_holds_; }
  bool stopping() const noexcept { return stopping_; }

  // ---- Any thread ----

  // Runs `fn(Shard&)` on this shard's thread. Allocates; meant for threads outside the shards.
  void post(std::function<void(Shard&)> fn);
  // Asks the shard to stop gracefully (stop hooks, then drain); returns at once.
  void request_stop() noexcept;
  // Ends a drain that is under way at once.
  void force_stop() noexcept;
  // True once the shard's loop has ended.
  bool exited() const noexcept { return exited_.load(std::memory_order_acquire); }
  // The eventfd that wakes this shard; drivers watch it.
  int wake_fd() const noexcept { return wake_fd_; }
  // Wakes the shard from any thread (writes the eventfd).
  void wake_external() noexcept;
  // A handle this shard's driver publishes so other shards' drivers can wake it their own way
  // (io_uring: its ring fd, for ring-to-ring messages); -1 while there is none.
  int wake_handle() const noexcept { return wake_handle_.load(std::memory_order_acquire); }
  void set_wake_handle(int handle) noexcept { wake_handle_.store(handle, std::memory_order_release); }

  // ---- Used by Runtime ----
  void run(std::unique_ptr<EventDriver> driver, const std::function<void(Shard&)>& on_start,
           int64_t stop_timeout_ns, int64_t yield_interval_ns);
  // Destroys tasks left in the inbound queues after every shard has exited (runtime shutdown).
  void discard_inbound() noexcept;

 private:
  struct Outbox {
    std::vector<MeshTask> backlog;  // waits for room in the queue, in order
    size_t head = 0;                // first not-yet-pushed task in backlog
    bool pushed = false;            // staged something this iteration: publish and wake-check
    bool empty() const noexcept { return head == backlog.size(); }
  };

  size_t run_inbound();
  void run_deferred();
  bool flush_outboxes();  // true when a backlog remains
  bool inbound_pending() noexcept;
  bool prepare_to_sleep(bool backlog) noexcept;  // false: work arrived, do not block
  int64_t poll_timeout_ns() const noexcept;
  void begin_stop();
  void wake(Shard& target) noexcept;

  Runtime& runtime_;
  Mesh& mesh_;
  const unsigned id_;
  const int cpu_;
  int wake_fd_ = -1;
  std::unique_ptr<EventDriver> driver_;
  TimerWheel timers_;
  int64_t now_ns_ = 0;
  int64_t epoch_ns_ = 0;  // timer tick 0
  ShardStats stats_;
  std::vector<Outbox> outboxes_;
  std::vector<MeshTask> deferred_;
  std::vector<MeshTask> running_;  // deferred tasks being run (swap buffer)
  std::vector<std::function<void()>> stop_hooks_;
  int stop_holds_ = 0;
  bool stopping_ = false;
  int64_t stop_deadline_ns_ = 0;
  int64_t stop_timeout_ns_ = 0;

  MpscQueue<std::function<void(Shard&)>> external_;
  alignas(kCacheLine) std::atomic<bool> sleeping_{false};
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> force_stop_{false};
  std::atomic<bool> exited_{false};
  std::atomic<int> wake_handle_{-1};
};

}  // namespace ringcast
