#pragma once
// EventDriver: what a shard's loop needs from an I/O backend, and nothing about sockets.
//
// A shard owns exactly one driver, created on the shard's own thread (io_uring's SINGLE_ISSUER needs
// that) and used only there. The net layer implements it twice: io_uring and epoll. Core ships one
// more, EventfdDriver, for shards that do no I/O.
#include <cstdint>
#include <string_view>

namespace ringcast {

class Shard;

class EventDriver {
 public:
  virtual ~EventDriver() = default;

  // A short name for logs and metrics: "io_uring", "epoll", "eventfd".
  virtual std::string_view name() const noexcept = 0;

  // Starts what this iteration's work queued (a network driver's sends). Called once per loop
  // iteration before the shard decides how long to sleep, so the timers, tasks and messages that
  // starting it arms (a send that completes at once and closes, a drain callback) are counted.
  virtual void flush() {}

  // Called in each loop iteration that ends with every task for other shards in their queues (no
  // local backlog): a network driver resumes reading from the connections whose input overflowed a
  // queue (see Shard::backlogged_tasks), and offers them the input they had kept meanwhile. After
  // flush(), before wait(). True when it resumed any: what their input made (output, tasks for other
  // shards) is then flushed in the same iteration.
  virtual bool mesh_clear() { return false; }

  // Hands the operations queued so far to the kernel without waiting for any, before the shard
  // yields its CPU. Drivers that start each operation as it is queued have nothing to do.
  virtual void submit() {}

  // Submits every operation queued since the last call and waits up to `timeout_ns` for events
  // (0: do not block, negative: no limit). A wake-up of this shard (its wake eventfd, or a ring
  // message) ends the wait. Called once per loop iteration, after flush().
  virtual void wait(int64_t timeout_ns) = 0;

  // Dispatches the events the last wait() collected, and no later ones. The shard runs the tasks
  // other shards sent before it calls this, so an event that something after such a send caused
  // (a message published in answer to the 101 that followed a join) comes after the task.
  virtual void dispatch() {}

  // Wakes `target`, a sleeping shard, from this shard's thread. The default writes the target's
  // wake eventfd; io_uring sends a ring-to-ring message instead, batched with this shard's next submit.
  virtual void wake(Shard& target);
};

}  // namespace ringcast
