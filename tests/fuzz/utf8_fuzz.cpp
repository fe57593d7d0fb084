// libFuzzer target for Utf8Validator: compares every kernel (scalar, SSSE3, AVX2 where the CPU has
// them), fed whole and at fuzzer-chosen split points, with the reference checker of
// tests/support/utf8_reference.hpp, including the index of the first invalid byte. A prefix of valid mixed
// text (length chosen by the input) moves the interesting bytes across the 64-byte blocks of the
// vector kernels.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdlib>
#include <string>
#include <vector>

#include <ringcast/ws/codec/utf8_validator.hpp>
#include "tests/support/utf8_reference.hpp"

using namespace ringcast;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

const std::string kText =
    "Grüße, κόσμε! 你好，世界。 \xf0\x9f\x98\x80\xf0\x9f\x8e\x89 naïve café — 日本語のテキスト \xf0\x9f\x9a\x80 end. "
    "Grüße, κόσμε! 你好，世界。 \xf0\x9f\x98\x80\xf0\x9f\x8e\x89 naïve café — 日本語のテキスト \xf0\x9f\x9a\x80 end. "
    "plain ASCII text to finish with, long enough to fill a block or two of sixty-four bytes each.";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider fdp(data, size);
  const size_t prefix_len = fdp.ConsumeIntegralInRange<size_t>(0, 160);
  std::vector<size_t> sizes(fdp.ConsumeIntegralInRange<size_t>(0, 16));
  for (size_t& s : sizes) s = fdp.ConsumeIntegralInRange<size_t>(1, 100);
  const std::vector<uint8_t> tail = fdp.ConsumeRemainingBytes<uint8_t>();

  const std::string_view prefix = utf8_truncate(kText, prefix_len);
  std::vector<uint8_t> input(prefix.begin(), prefix.end());
  input.insert(input.end(), tail.begin(), tail.end());

  const test::Utf8Reference ref = test::utf8_reference(input);
  check(utf8_valid(input) == ref.complete);
  for (SimdLevel level : {SimdLevel::scalar, SimdLevel::ssse3, SimdLevel::avx2}) {
    if (!simd_level_supported(level)) continue;
    // Whole.
    uint8_t state = Utf8Validator::kAccept;
    const size_t r = detail::utf8_feed_with(level, state, input.data(), input.size());
    check(r == ref.invalid_at);
    check((r == input.size() && state == Utf8Validator::kAccept) == ref.complete);
    // Split: the first invalid byte is found at the same index of the whole input.
    state = Utf8Validator::kAccept;
    size_t pos = 0;
    size_t k = 0;
    size_t invalid_at = input.size();
    while (pos < input.size()) {
      size_t len = k < sizes.size() ? sizes[k++] : input.size() - pos;
      if (len > input.size() - pos) len = input.size() - pos;
      const size_t got = detail::utf8_feed_with(level, state, input.data() + pos, len);
      if (got != len) {
        invalid_at = pos + got;
        break;
      }
      pos += len;
    }
    check(invalid_at == ref.invalid_at);
    check((invalid_at == input.size() && state == Utf8Validator::kAccept) == ref.complete);
  }
  return 0;
}
