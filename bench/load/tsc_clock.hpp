#pragma once
// TscClock: monotonic nanoseconds from the CPU's time-stamp counter, for a load generator that stamps
// millions of messages a second (a read costs about a third of clock_gettime's). Used only where the
// kernel itself keeps time with the TSC (current_clocksource "tsc": it found the counter invariant
// and in step across CPUs); anywhere else it reads steady_clock. Calibrated against steady_clock
// once, at construction: a latency (a difference of two close reads) is off by the calibration's
// relative error, about 1e-4.
#include <chrono>
#include <cstdint>
#include <fstream>
#include <string>
#include <thread>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace ringcast::load {

class TscClock {
 public:
  TscClock() {
#if defined(__x86_64__)
    std::string source;
    std::ifstream("/sys/devices/system/clocksource/clocksource0/current_clocksource") >> source;
    if (source != "tsc") return;
    const int64_t n0 = steady_ns();
    const uint64_t t0 = __rdtsc();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const int64_t n1 = steady_ns();
    const uint64_t t1 = __rdtsc();
    if (t1 <= t0 || n1 <= n0) return;
    ns_per_tick_ = static_cast<double>(n1 - n0) / static_cast<double>(t1 - t0);
    base_ns_ = n1;
    base_tsc_ = t1;
#endif
  }

  bool uses_tsc() const noexcept { return ns_per_tick_ > 0; }

  int64_t now_ns() const noexcept {
#if defined(__x86_64__)
    if (ns_per_tick_ > 0) {
      return base_ns_ + static_cast<int64_t>(static_cast<double>(__rdtsc() - base_tsc_) * ns_per_tick_);
    }
#endif
    return steady_ns();
  }

 private:
  static int64_t steady_ns() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  double ns_per_tick_ = 0;
  int64_t base_ns_ = 0;
  uint64_t base_tsc_ = 0;
};

}  // namespace ringcast::load
