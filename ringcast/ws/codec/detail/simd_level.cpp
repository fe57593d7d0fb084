#include <ringcast/ws/codec/detail/simd_level.hpp>

#include <cstdlib>

namespace ringcast {

bool simd_level_supported(SimdLevel level) noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  switch (level) {
    case SimdLevel::scalar: return true;
    case SimdLevel::ssse3: return __builtin_cpu_supports("ssse3");
    case SimdLevel::avx2: return __builtin_cpu_supports("avx2");
  }
  return false;
#else
  return level == SimdLevel::scalar;
#endif
}

namespace {

SimdLevel detect() noexcept {
  SimdLevel cap = SimdLevel::avx2;
  if (const char* env = std::getenv("RINGCAST_SIMD")) {
    const std::string_view v(env);
    if (v == "scalar") cap = SimdLevel::scalar;
    else if (v == "ssse3") cap = SimdLevel::ssse3;
  }
  for (SimdLevel l : {SimdLevel::avx2, SimdLevel::ssse3}) {
    if (l <= cap && simd_level_supported(l)) return l;
  }
  return SimdLevel::scalar;
}

}  // namespace

SimdLevel simd_level() noexcept {
  static const SimdLevel level = detect();
  return level;
}

}  // namespace ringcast
