#pragma once
// PublishOutcomes: collects the PublishOutcome each on_done it hands out receives (on the app's shards),
// for the test's thread to wait for and read, in the order they came.
#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

#include <ringcast/core/shard.hpp>
#include <ringcast/ws/rooms/publish_outcome.hpp>

namespace ringcast::test {

struct PublishOutcomes {
  PublishDone collect() {
    return [this](const PublishOutcome& o) {
      std::lock_guard lock(mutex);
      got.push_back(o);
      on_shard.push_back(Shard::current() != nullptr);
      changed.notify_all();
    };
  }
  // Waits for the n-th outcome (1-based) and returns it.
  PublishOutcome wait(size_t n, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    std::unique_lock lock(mutex);
    REQUIRE(changed.wait_for(lock, limit, [&] { return got.size() >= n; }));
    return got[n - 1];
  }
  size_t count() {
    std::lock_guard lock(mutex);
    return got.size();
  }

  std::mutex mutex;
  std::condition_variable changed;
  std::vector<PublishOutcome> got;
  std::vector<bool> on_shard;  // each ran on one of the app's shards
};

}  // namespace ringcast::test
