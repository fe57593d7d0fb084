#pragma once
// LatencyHistogram: a log-linear histogram of non-negative integer values (nanoseconds, say), the
// shape HdrHistogram uses: values are grouped by power of two, and each power of two is split into
// 64 linear sub-buckets, so every recorded value is kept within 1/64 (1.6 %) of itself. Recording is
// a few instructions and never allocates; histograms merge by adding counts. One thread at a time.
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace ringcast {

class LatencyHistogram {
 public:
  static constexpr int kSubBits = 6;
  static constexpr int kSub = 1 << kSubBits;
  static constexpr int kGroups = 64 - kSubBits + 1;

  void record(uint64_t v, uint64_t times = 1) noexcept {
    counts_[index_of(v)] += times;
    count_ += times;
    sum_ += v * times;
    if (v < min_) min_ = v;
    if (v > max_) max_ = v;
  }

  void merge(const LatencyHistogram& o) noexcept {
    for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += o.counts_[i];
    count_ += o.count_;
    sum_ += o.sum_;
    if (o.min_ < min_) min_ = o.min_;
    if (o.max_ > max_) max_ = o.max_;
  }

  void reset() noexcept { *this = LatencyHistogram{}; }

  uint64_t count() const noexcept { return count_; }
  uint64_t min() const noexcept { return count_ ? min_ : 0; }
  uint64_t max() const noexcept { return max_; }
  double mean() const noexcept { return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0.0; }

  // The value at quantile q in [0, 1] (upper edge of its bucket, capped at max()).
  uint64_t percentile(double q) const noexcept {
    if (count_ == 0) return 0;
    if (q <= 0) return min();
    auto rank = static_cast<uint64_t>(q * static_cast<double>(count_) + 0.5);
    if (rank < 1) rank = 1;
    if (rank > count_) rank = count_;
    uint64_t seen = 0;
    for (size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= rank) {
        const uint64_t top = upper_edge(i);
        return top < max_ ? top : max_;
      }
    }
    return max_;
  }

 private:
  static size_t index_of(uint64_t v) noexcept {
    if (v < kSub) return static_cast<size_t>(v);
    const int group = std::bit_width(v) - kSubBits;  // >= 1
    const uint64_t sub = (v >> (group - 1)) - kSub;   // 0..63 within the group
    return static_cast<size_t>(group) * kSub + static_cast<size_t>(sub);
  }
  static uint64_t upper_edge(size_t index) noexcept {
    const size_t group = index / kSub;
    const uint64_t sub = index % kSub;
    if (group == 0) return sub;
    return ((kSub + sub + 1) << (group - 1)) - 1;
  }

  std::array<uint64_t, kGroups * kSub> counts_{};
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
};

}  // namespace ringcast
