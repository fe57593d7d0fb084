#pragma once
// WorkerPool: a few threads for blocking work that must not run on a shard (password hashing, file
// system calls, a blocking client library), fed through a bounded queue.
//
// Bounded on purpose: submit() refuses a job when `queue_capacity` jobs already wait, so a caller
// answers "busy" (HTTP 503) at once instead of letting a flood of requests queue work without end.
// At most threads + queue_capacity jobs are ever held.
//
// A mutex and a condition variable guard the queue: the pool is for work that costs milliseconds,
// never on the per-message path, so one lock per job is nothing next to the job. Jobs that must
// answer a connection send their result back to its shard (Shard::post, or PendingResponse for an
// HTTP request); a job never touches shard-owned state itself.
//
// Threads: submit() and the accessors from any thread; construct and destroy from one thread
// (the destructor stops the pool: queued jobs are destroyed without running, running ones finish,
// the threads are joined). A job that throws is logged and the thread goes on. The pool's threads
// block every signal, so SIGINT/SIGTERM reach the thread that handles them.
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ringcast {

struct WorkerPoolOptions {
  unsigned threads = 1;        // at least 1
  size_t queue_capacity = 64;  // jobs waiting for a thread; more are refused
  // Added to the threads' nice value (0-19): above 0 the shards' threads win the CPU when both want it.
  int nice = 0;
  std::string name = "worker";  // thread names: NAME-0, NAME-1 ... (15 characters at most are kept)
};

class WorkerPool {
 public:
  using Job = std::function<void()>;

  explicit WorkerPool(WorkerPoolOptions options = {});
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Any thread. Queues `job` for the next free thread (jobs start in submission order). False, and
  // `job` left as it was, when queue_capacity jobs wait already or the pool has stopped.
  bool submit(Job&& job);

  // Stops taking jobs, destroys the queued ones without running them, waits for the running ones
  // and joins the threads. Idempotent; the destructor calls it. Not from a job.
  void stop();

  unsigned threads() const noexcept { return static_cast<unsigned>(threads_.size()); }
  size_t queue_capacity() const noexcept { return options_.queue_capacity; }
  // Jobs waiting now (not counting those running).
  size_t queued() const;

 private:
  void run(unsigned index);

  const WorkerPoolOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Job> queue_;  // guarded by mutex_
  bool stopping_ = false;  // guarded by mutex_
  std::vector<std::thread> threads_;
};

}  // namespace ringcast
