#pragma once
// ShardRig: one shard with a Loop on the backend under test, for tests of client code that lives on
// a shard (Redis clients, say). The test thread hands it work with run(), which waits for the result;
// the code's callbacks run on the shard's thread and report through atomics or a mutex.
#include <future>
#include <memory>
#include <type_traits>

#include <ringcast/core/runtime.hpp>
#include <ringcast/net/backend/loop.hpp>
#include "tests/support/net_test_support.hpp"

namespace ringcast::test {

class ShardRig {
 public:
  ShardRig() {
    runtime_ = std::make_unique<Runtime>(RuntimeOptions{
        .shards = {.count = 1},
        .make_driver = [](Shard& s) -> std::unique_ptr<EventDriver> { return Loop::create(s, loop_options()); }});
    runtime_->start();
  }
  // Whatever run() created must be gone (destroyed through run()) before the rig.
  ~ShardRig() {
    runtime_->stop();
    runtime_->join();
  }
  ShardRig(const ShardRig&) = delete;
  ShardRig& operator=(const ShardRig&) = delete;

  // The shard's loop: on the shard's thread only (inside run()).
  Loop& loop() { return Loop::current(); }

  // Runs fn() on the shard's thread and returns what it returns, once it has.
  template <typename Fn>
  auto run(Fn fn) -> std::invoke_result_t<Fn&> {
    using R = std::invoke_result_t<Fn&>;
    std::promise<R> done;
    runtime_->shard(0).post([&](Shard&) {
      if constexpr (std::is_void_v<R>) {
        fn();
        done.set_value();
      } else {
        done.set_value(fn());
      }
    });
    return done.get_future().get();
  }

 private:
  std::unique_ptr<Runtime> runtime_;
};

}  // namespace ringcast::test
