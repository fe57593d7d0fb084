#pragma once
// The widest vector instruction set the ws codec kernels (UTF-8 validation, masking) may use on this
// CPU, chosen once at first use. The build targets x86-64-v2 (SSE4.2); AVX2 kernels are compiled with
// a function target attribute and only run where the CPU has AVX2. Callable from any thread.
#include <cstdint>
#include <string_view>

namespace ringcast {

enum class SimdLevel : uint8_t { scalar, ssse3, avx2 };

// The best level this CPU supports. RINGCAST_SIMD=scalar|ssse3|avx2 in the environment caps it (read
// once), to compare kernels or to rule one out.
SimdLevel simd_level() noexcept;

// Whether this CPU can run kernels of `level` (tests run every supported level).
bool simd_level_supported(SimdLevel level) noexcept;

constexpr std::string_view to_string(SimdLevel level) noexcept {
  switch (level) {
    case SimdLevel::scalar: return "scalar";
    case SimdLevel::ssse3: return "ssse3";
    case SimdLevel::avx2: return "avx2";
  }
  return "?";
}

}  // namespace ringcast
