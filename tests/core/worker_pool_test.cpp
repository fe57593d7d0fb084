// WorkerPool (ringcast/core/worker_pool.hpp): jobs run off the calling thread, in order, within a bounded
// queue; stopping drops what waits and joins. In the suite "shards" so that TSan runs it too.
#include <doctest/doctest.h>

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <ringcast/core/worker_pool.hpp>
#include "tests/support/test_support.hpp"

using namespace ringcast;
using namespace std::chrono_literals;

namespace {

using test::eventually;

// Holds every job that calls wait() until open().
class Gate {
 public:
  void wait() {
    std::unique_lock lock(mutex_);
    ++waiting_;
    cv_.wait(lock, [this] { return open_; });
  }
  void open() {
    {
      std::lock_guard lock(mutex_);
      open_ = true;
    }
    cv_.notify_all();
  }
  int waiting() {
    std::lock_guard lock(mutex_);
    return waiting_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  int waiting_ = 0;
  bool open_ = false;
};

}  // namespace

TEST_SUITE("shards") {

TEST_CASE("worker pool: jobs run on the pool's named threads, not the caller's, in submission order") {
  WorkerPool pool({.threads = 1, .queue_capacity = 100, .name = "hashing"});
  CHECK(pool.threads() == 1);
  std::mutex mutex;
  std::vector<int> order;
  std::vector<std::thread::id> ids;
  std::string name;
  for (int i = 0; i < 50; ++i) {
    REQUIRE(pool.submit([&, i] {
      std::lock_guard lock(mutex);
      order.push_back(i);
      ids.push_back(std::this_thread::get_id());
      char buf[16] = {};
      ::pthread_getname_np(::pthread_self(), buf, sizeof buf);
      name = buf;
    }));
  }
  REQUIRE(eventually([&] {
    std::lock_guard lock(mutex);
    return order.size() == 50;
  }));
  std::lock_guard lock(mutex);
  for (int i = 0; i < 50; ++i) CHECK(order[static_cast<size_t>(i)] == i);
  for (const auto& id : ids) CHECK(id != std::this_thread::get_id());
  CHECK(name == "hashing-0");
}

TEST_CASE("worker pool: submit refuses a job once the queue holds queue_capacity, and accepts again when it drains") {
  WorkerPool pool({.threads = 2, .queue_capacity = 3});
  Gate gate;
  std::atomic<int> done{0};
  auto job = [&] {
    gate.wait();
    done.fetch_add(1);
  };
  // Two jobs occupy the two threads; three wait; the sixth is refused.
  REQUIRE(pool.submit(job));
  REQUIRE(pool.submit(job));
  REQUIRE(eventually([&] { return gate.waiting() == 2; }));
  for (int i = 0; i < 3; ++i) REQUIRE(pool.submit(job));
  CHECK(pool.queued() == 3);
  WorkerPool::Job refused = [&] { done.fetch_add(100); };
  CHECK_FALSE(pool.submit(std::move(refused)));
  CHECK(static_cast<bool>(refused));  // a refused job is left to the caller, not consumed
  gate.open();
  REQUIRE(eventually([&] { return done.load() == 5; }));
  CHECK(pool.queued() == 0);
  CHECK(pool.submit(std::move(refused)));
  REQUIRE(eventually([&] { return done.load() == 105; }));
}

TEST_CASE("worker pool: stop destroys queued jobs without running them, lets the running one finish, and refuses more") {
  auto pool = std::make_unique<WorkerPool>(WorkerPoolOptions{.threads = 1, .queue_capacity = 8});
  Gate gate;
  std::atomic<int> ran{0};
  auto owner = std::make_shared<int>(0);  // captured by every job: counts the jobs still alive
  REQUIRE(pool->submit([&, owner] {
    gate.wait();
    ran.fetch_add(1);
  }));
  REQUIRE(eventually([&] { return gate.waiting() == 1; }));
  for (int i = 0; i < 4; ++i) REQUIRE(pool->submit([&ran, owner] { ran.fetch_add(10); }));
  CHECK(owner.use_count() == 6);
  std::thread stopper([&] { pool->stop(); });
  REQUIRE(eventually([&] { return owner.use_count() == 2; }));  // the four queued are gone; one runs
  gate.open();
  stopper.join();
  CHECK(ran.load() == 1);
  CHECK(owner.use_count() == 1);
  CHECK_FALSE(pool->submit([] {}));
  pool.reset();  // a second stop (the destructor's) is harmless
}

TEST_CASE("worker pool: a job that throws is logged and the thread goes on") {
  WorkerPool pool({.threads = 1, .queue_capacity = 4});
  std::atomic<bool> after{false};
  REQUIRE(pool.submit([] { throw std::runtime_error("expected by the test"); }));
  REQUIRE(pool.submit([&] { after = true; }));
  CHECK(eventually([&] { return after.load(); }));
}

}  // TEST_SUITE
