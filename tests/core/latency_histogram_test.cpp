#include <ringcast/core/latency_histogram.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <vector>

using namespace ringcast;

TEST_CASE("latency histogram: small values are exact, large ones within 1/64") {
  LatencyHistogram h;
  for (uint64_t v = 0; v < 64; ++v) h.record(v);
  CHECK(h.percentile(0.5) == 31);
  CHECK(h.min() == 0);
  CHECK(h.max() == 63);
  LatencyHistogram big;
  for (uint64_t v : {100ull, 1000ull, 123456ull, 987654321ull, 1ull << 40}) {
    big.reset();
    big.record(v);
    big.record(v + 1'000'000'000'000ull);  // a larger value so the first is not capped by max
    const uint64_t p = big.percentile(0.5);
    CHECK(p >= v);
    CHECK(p <= v + v / 64 + 1);
  }
}

TEST_CASE("latency histogram: percentiles match a sorted sample, and merging adds") {
  std::mt19937_64 rng(9);
  std::lognormal_distribution<double> d(10.0, 1.5);
  std::vector<uint64_t> values;
  LatencyHistogram a, b;
  for (int i = 0; i < 200'000; ++i) {
    const auto v = static_cast<uint64_t>(d(rng));
    values.push_back(v);
    (i % 2 ? a : b).record(v);
  }
  a.merge(b);
  CHECK(a.count() == values.size());
  std::sort(values.begin(), values.end());
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    const uint64_t exact = values[static_cast<size_t>(q * static_cast<double>(values.size())) - 1];
    const uint64_t got = a.percentile(q);
    CAPTURE(q);
    CHECK(got >= exact);
    CHECK(got <= exact + exact / 32 + 1);
  }
  CHECK(a.percentile(1.0) == values.back());
}
