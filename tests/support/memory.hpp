#pragma once
// Memory figures for the tests where memory is the point. heap_in_use() is the allocator's own count of
// the bytes the process holds (under ASan, the sanitizer's, which leaves out its quarantine), so a test
// sees what a server keeps rather than the pages an allocator has not given back; rss_kib() and
// peak_rss_kib() are what the kernel says (/proc/PID/status).
#include <malloc.h>
#include <sys/types.h>

#include <cstddef>
#include <fstream>
#include <string>
#include <string_view>

#if defined(__SANITIZE_ADDRESS__)
#define RINGCAST_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RINGCAST_TEST_ASAN 1
#endif
#endif
#ifdef RINGCAST_TEST_ASAN
#include <sanitizer/allocator_interface.h>
#endif

namespace ringcast::test {

inline size_t heap_in_use() {
#ifdef RINGCAST_TEST_ASAN
  return __sanitizer_get_current_allocated_bytes();
#else
  const struct mallinfo2 m = ::mallinfo2();
  return m.uordblks + m.hblkhd;  // in arenas, and in chunks of their own (mmap)
#endif
}

// A "Name:   value kB" field of /proc/PID/status (pid 0: this process), in KiB; -1 when absent.
inline long status_kib(pid_t pid, std::string_view field) {
  std::ifstream in(pid == 0 ? std::string("/proc/self/status") : "/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > field.size() && line.compare(0, field.size(), field) == 0 && line[field.size()] == ':') {
      return std::stol(line.substr(field.size() + 1));
    }
  }
  return -1;
}

inline long rss_kib(pid_t pid = 0) { return status_kib(pid, "VmRSS"); }

// Resets this process's peak RSS (VmHWM) to its current RSS; false where the kernel does not allow it.
inline bool reset_peak_rss() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";  // proc(5): resets VmHWM to VmRSS
  out.flush();
  return static_cast<bool>(out);
}
inline long peak_rss_kib() { return status_kib(0, "VmHWM"); }

}  // namespace ringcast::test
