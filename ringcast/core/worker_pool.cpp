#include <ringcast/core/worker_pool.hpp>

#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <exception>

#include <ringcast/core/log.hpp>

namespace ringcast {

WorkerPool::WorkerPool(WorkerPoolOptions options) : options_(std::move(options)) {
  // The threads start with every signal blocked (a new thread inherits its creator's mask): SIGINT
  // and SIGTERM are for the thread that runs the server, whenever the pool is made.
  sigset_t all, old;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  const unsigned n = std::max(1u, options_.threads);
  threads_.reserve(n);
  for (unsigned i = 0; i < n; ++i) threads_.emplace_back([this, i] { run(i); });
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

WorkerPool::~WorkerPool() { stop(); }

bool WorkerPool::submit(Job&& job) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || queue_.size() >= options_.queue_capacity) return false;
    queue_.push_back(std::move(job));
  }
  ready_.notify_one();
  return true;
}

size_t WorkerPool::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

void WorkerPool::stop() {
  std::deque<Job> dropped;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    dropped.swap(queue_);
  }
  ready_.notify_all();
  dropped.clear();  // outside the lock: a job's captures may take locks of their own when destroyed
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
}

void WorkerPool::run(unsigned index) {
  const std::string name = (options_.name + "-" + std::to_string(index)).substr(0, 15);
  ::pthread_setname_np(::pthread_self(), name.c_str());
  // Linux keeps a nice value per thread: PRIO_PROCESS with a thread id sets this thread's alone.
  if (options_.nice > 0) {
    const int now = ::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()));
    ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), std::min(19, now + options_.nice));
  }
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    try {
      job();
    } catch (const std::exception& e) {
      log::error("{}: a job failed: {}", name, e.what());
    } catch (...) {
      log::error("{}: a job failed", name);
    }
  }
}

}  // namespace ringcast
