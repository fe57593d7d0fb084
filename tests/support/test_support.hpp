#pragma once
// Helpers shared by tests: which backend the "io" suite runs on, whether AddressSanitizer is in, paths
// of the source and build trees, a bounded wait, a metric read from /metrics text.
#include <sys/utsname.h>

#include <chrono>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace ringcast::test {

// Built with AddressSanitizer (RINGCAST_ASAN): freed memory waits in its quarantine and redzones pad
// every allocation, so a process's resident memory says little about what the code under test holds.
#ifdef RINGCAST_ASAN
inline constexpr bool kAddressSanitizer = true;
#else
inline constexpr bool kAddressSanitizer = false;
#endif

// "io_uring", "epoll" or "io_uring-minimal" (io_uring with every optional kernel feature off).
const std::string& backend_name();

// The running kernel is major.minor or newer (a feature the loops detect the same way is in use).
inline bool kernel_at_least(int major, int minor) {
  utsname u{};
  int ma = 0, mi = 0;
  if (::uname(&u) != 0 || std::sscanf(u.release, "%d.%d", &ma, &mi) != 2) return false;
  return ma > major || (ma == major && mi >= minor);
}

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

// The per-shard values of metric `name` (without the "ringcast_" prefix) in the Prometheus text a
// server serves at /metrics (lines `ringcast_NAME{shard="i"} value`), indexed by shard.
inline std::vector<uint64_t> metric_by_shard(std::string_view text, std::string_view name) {
  const std::string key = "ringcast_" + std::string(name) + "{shard=\"";
  std::vector<uint64_t> values;
  for (size_t at = text.find(key); at != std::string_view::npos; at = text.find(key, at + 1)) {
    if (at > 0 && text[at - 1] != '\n') continue;
    const std::string line(text.substr(at + key.size(), text.find('\n', at) - at - key.size()));
    const size_t shard = std::strtoul(line.c_str(), nullptr, 10);
    const size_t space = line.find(' ');
    if (space == std::string::npos) continue;
    if (values.size() <= shard) values.resize(shard + 1, 0);
    values[shard] = std::strtoull(line.c_str() + space + 1, nullptr, 10);
  }
  return values;
}

}  // namespace ringcast::test
