#include <ringcast/core/shard.hpp>

#include <sched.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <ctime>
#include <system_error>

#include <ringcast/core/log.hpp>
#include <ringcast/core/runtime.hpp>

namespace ringcast {
namespace {

thread_local Shard* t_current = nullptr;

int64_t monotonic_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// Times this thread was switched out while it could have run: another thread wanted its CPU.
long involuntary_switches() noexcept {
  rusage usage{};
  ::getrusage(RUSAGE_THREAD, &usage);
  return usage.ru_nivcsw;
}

constexpr int64_t kNsPerTick = 1'000'000;  // the timer wheel ticks in milliseconds
constexpr int64_t kStoppingPollNs = 10'000'000;

}  // namespace

void EventDriver::wake(Shard& target) { target.wake_external(); }

Shard::Shard(Runtime& runtime, Mesh& mesh, unsigned id, int cpu)
    : runtime_(runtime), mesh_(mesh), id_(id), cpu_(cpu), outboxes_(mesh.shards()) {
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
}

Shard::~Shard() {
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

Shard* Shard::current() noexcept { return t_current; }

void Shard::send_to(unsigned target, MeshTask task) {
  assert(t_current == this && "send_to is called on the sending shard's thread");
  assert(target < shard_count());
  if (target == id_) {
    defer(std::move(task));
    return;
  }
  stats_.mesh_sent.add();
  Outbox& out = outboxes_[target];
  // Order per pair holds because nothing bypasses a non-empty backlog.
  if (out.empty() && mesh_.channel(id_, target).queue.try_stage(std::move(task))) {
    out.pushed = true;
    return;
  }
  out.backlog.push_back(std::move(task));
  stats_.mesh_backlogged.add();
  stats_.mesh_backlog_now.add();
}

void Shard::post(std::function<void(Shard&)> fn) {
  auto* node = new MpscQueue<std::function<void(Shard&)>>::Node{};
  node->value = std::move(fn);
  external_.push(node);
  // Always wake: the poster is not a shard, so it cannot batch the wake with a submit, and posts are
  // rare. A wake of an awake shard costs it one eventfd read.
  wake_external();
}

void Shard::request_stop() noexcept {
  stop_requested_.store(true, std::memory_order_release);
  wake_external();
}

void Shard::force_stop() noexcept {
  force_stop_.store(true, std::memory_order_release);
  request_stop();
}

void Shard::wake_external() noexcept {
  const uint64_t one = 1;
  // EAGAIN means the counter is saturated: the shard has wake-ups pending anyway.
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

void Shard::wake(Shard& target) noexcept {
  stats_.wakeups_sent.add();
  driver_->wake(target);
}

void Shard::update_clock() noexcept {
  now_ns_ = monotonic_ns();
  stats_.timers_fired.add(timers_.advance(static_cast<uint64_t>((now_ns_ - epoch_ns_) / kNsPerTick)));
}

size_t Shard::run_inbound() {
  size_t ran = 0;
  const unsigned n = shard_count();
  for (unsigned from = 0; from < n; ++from) {
    if (from == id_) continue;
    Mesh::Channel& ch = mesh_.channel(from, id_);
    const size_t k = ch.queue.consume([this](MeshTask& task) { task.run(*this); });
    if (k == 0) continue;
    ran += k;
    // The producer may be sleeping on a full queue we just made room in (see flush_outboxes).
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (ch.producer_waiting.load(std::memory_order_relaxed) &&
        ch.producer_waiting.exchange(false, std::memory_order_relaxed)) {
      wake(runtime_.shard(from));
    }
  }
  stats_.mesh_received.add(ran);
  while (auto* node = external_.pop()) {
    node->value(*this);
    delete node;
    ++ran;
  }
  return ran;
}

void Shard::run_deferred() {
  // Tasks deferred by deferred tasks run in the next iteration, so a task that keeps deferring
  // itself cannot starve I/O.
  running_.swap(deferred_);
  for (MeshTask& task : running_) task.run(*this);
  running_.clear();
}

bool Shard::flush_outboxes() {
  bool backlog_left = false;
  const unsigned n = shard_count();
  for (unsigned to = 0; to < n; ++to) {
    if (to == id_) continue;
    Outbox& out = outboxes_[to];
    Mesh::Channel& ch = mesh_.channel(id_, to);
    while (!out.empty() && ch.queue.try_stage(std::move(out.backlog[out.head]))) {
      ++out.head;
      stats_.mesh_backlog_now.sub();
      out.pushed = true;
    }
    if (out.empty() && out.head) {
      out.backlog.clear();
      out.head = 0;
    }
    if (out.pushed) {
      out.pushed = false;
      ch.queue.publish();
      // Publish, then look at the target's sleeping flag (it publishes the flag, then looks at us).
      std::atomic_thread_fence(std::memory_order_seq_cst);
      Shard& target = runtime_.shard(to);
      if (target.sleeping_.load(std::memory_order_relaxed) &&
          target.sleeping_.exchange(false, std::memory_order_relaxed)) {
        wake(target);
      }
    }
    if (!out.empty()) backlog_left = true;
  }
  return backlog_left;
}

bool Shard::inbound_pending() noexcept {
  const unsigned n = shard_count();
  for (unsigned from = 0; from < n; ++from) {
    if (from != id_ && !mesh_.channel(from, id_).queue.empty()) return true;
  }
  return !external_.empty() || stop_requested_.load(std::memory_order_acquire);
}

int64_t Shard::poll_timeout_ns() const noexcept {
  if (!deferred_.empty()) return 0;
  int64_t timeout = -1;
  const uint64_t next = timers_.next_expiry();
  if (next != TimerWheel::kNever) {
    const int64_t due = epoch_ns_ + static_cast<int64_t>(next) * kNsPerTick;
    timeout = due > now_ns_ ? due - now_ns_ : 0;
  }
  if (stopping_ && (timeout < 0 || timeout > kStoppingPollNs)) timeout = kStoppingPollNs;
  return timeout;
}

bool Shard::prepare_to_sleep(bool backlog) noexcept {
  // Publish "sleeping" (and, for queues we hold a backlog for, "waiting for room"), then look once
  // more; producers and consumers publish their side first and look at these flags second.
  sleeping_.store(true, std::memory_order_relaxed);
  const unsigned n = shard_count();
  if (backlog) {
    for (unsigned to = 0; to < n; ++to) {
      if (to != id_ && !outboxes_[to].empty()) mesh_.channel(id_, to).producer_waiting.store(true, std::memory_order_relaxed);
    }
  }
  std::atomic_thread_fence(std::memory_order_seq_cst);
  bool work = inbound_pending();
  for (unsigned to = 0; backlog && !work && to < n; ++to) {
    if (to != id_ && !outboxes_[to].empty()) work = mesh_.channel(id_, to).queue.free_slots() > 0;
  }
  if (work) {
    sleeping_.store(false, std::memory_order_relaxed);
    return false;
  }
  stats_.loop_sleeps.add();
  return true;
}

void Shard::begin_stop() {
  stopping_ = true;
  stop_deadline_ns_ = now_ns_ + stop_timeout_ns_;
  log::debug("stopping");
  for (auto& hook : stop_hooks_) hook();
}

void Shard::run(std::unique_ptr<EventDriver> driver, const std::function<void(Shard&)>& on_start,
                int64_t stop_timeout_ns, int64_t yield_interval_ns) {
  t_current = this;
  log::set_thread_shard(static_cast<int>(id_));
  stop_timeout_ns_ = stop_timeout_ns;
  driver_ = std::move(driver);
  now_ns_ = epoch_ns_ = monotonic_ns();
  if (on_start) on_start(*this);

  int64_t busy_start = monotonic_ns();
  int64_t next_yield_ns = busy_start + yield_interval_ns;
  long involuntary_seen = involuntary_switches();
  for (;;) {
    update_clock();
    // Other shards' tasks before the events the last wait collected: whatever a shard sent before
    // doing something that led to one of those events is seen first (EventDriver::dispatch).
    run_inbound();
    driver_->dispatch();
    run_deferred();
    if (!stopping_ && stop_requested_.load(std::memory_order_acquire)) begin_stop();
    // Tasks for other shards go out before this iteration's I/O does, so whoever sees our I/O (a 101
    // after a join) and reacts finds the other shards told. flush() may queue more: hand those over too.
    flush_outboxes();
    driver_->flush();
    bool backlog = flush_outboxes();
    if (!backlog && driver_->mesh_clear()) {
      driver_->flush();
      backlog = flush_outboxes();
    }
    if (stopping_ && (stop_holds_ <= 0 || now_ns_ >= stop_deadline_ns_ ||
                      force_stop_.load(std::memory_order_acquire))) {
      break;
    }

    int64_t timeout = poll_timeout_ns();
    if (timeout != 0 && !prepare_to_sleep(backlog)) timeout = 0;
    const int64_t before_poll = monotonic_ns();
    stats_.busy_ns.add(static_cast<uint64_t>(before_poll - busy_start));
    if (yield_interval_ns > 0 && before_poll >= next_yield_ns) {
      next_yield_ns = before_poll + yield_interval_ns;
      const long switches = involuntary_switches();
      if (switches != involuntary_seen) {
        // Submit first: what we owe others (replies, fan-out) must not wait while we are off the CPU.
        driver_->submit();
        ::sched_yield();
        stats_.cpu_yields.add();
      }
      // Read before the yield: a yield that let another thread run is itself an involuntary switch,
      // so the next look yields again for as long as someone is waiting.
      involuntary_seen = switches;
    }
    driver_->wait(timeout);
    busy_start = timeout == 0 ? before_poll : monotonic_ns();
    sleeping_.store(false, std::memory_order_relaxed);
    stats_.loop_iterations.add();
  }
  log::debug("stopped");
  // A drain cut short leaves its goodbyes (Close frames, FINs) queued: hand them to the kernel before
  // the driver goes (io_uring: submitted, or a ring torn down drops them).
  driver_->submit();
  // Hand over what we still owe other shards; whatever does not fit is destroyed with the outboxes.
  flush_outboxes();
  stop_hooks_.clear();
  driver_.reset();
  deferred_.clear();
  t_current = nullptr;
  log::set_thread_shard(-1);
  exited_.store(true, std::memory_order_release);
}

void Shard::discard_inbound() noexcept {
  const unsigned n = shard_count();
  for (unsigned from = 0; from < n; ++from) {
    if (from == id_) continue;
    mesh_.channel(from, id_).queue.consume([](MeshTask&) {});
  }
  outboxes_.clear();
  while (auto* node = external_.pop()) delete node;
}

}  // namespace ringcast
