#pragma once
// Helpers shared by tests: which backend the "io" suite runs on, paths of the source and build trees,
// a bounded wait.
#include <chrono>
#include <string>
#include <thread>

namespace ringcast::test {

// "io_uring", "epoll" or "io_uring-minimal" (io_uring with every optional kernel feature off).
const std::string& backend_name();

inline std::string source_path(const std::string& rel) { return std::string(RINGCAST_SOURCE_DIR) + "/" + rel; }
inline std::string binary_path(const std::string& rel) { return std::string(RINGCAST_BINARY_DIR) + "/" + rel; }

// Waits (bounded) for a condition that other threads make true; false if it never became true.
template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace ringcast::test
