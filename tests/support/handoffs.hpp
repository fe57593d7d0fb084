#pragma once
// Handoffs<T>: values (deferred answers' handles, say) that shard threads hand to the test's thread,
// kept in arrival order. Any thread adds; the test's thread waits for the i-th.
#include <chrono>
#include <mutex>
#include <vector>

#include "tests/support/test_support.hpp"

namespace ringcast::test {

template <typename T>
class Handoffs {
 public:
  void add(T value) {
    std::lock_guard lock(mutex_);
    all_.push_back(std::move(value));
  }
  size_t size() {
    std::lock_guard lock(mutex_);
    return all_.size();
  }
  // Waits for the i-th; an empty T after 5 s.
  T wait(size_t i) {
    eventually([&] { return size() > i; }, std::chrono::seconds(5));
    std::lock_guard lock(mutex_);
    return i < all_.size() ? all_[i] : T{};
  }

 private:
  std::mutex mutex_;
  std::vector<T> all_;
};

}  // namespace ringcast::test
