#pragma once
// StreamChecker: what one receiver saw of one sender's numbered messages (1, 2, 3, …) — each counted
// exactly once as in order, late (it filled a gap: reordered), duplicate, or, at the end, lost.
// Memory is proportional to the gaps outstanding, not to the messages, so a long run costs nothing
// while nothing goes wrong.
//
// A receiver that reconnected to a live room cannot get back what was sent while it was away: after
// resumed(), the gap up to the sender's first message that arrives is counted as not recovered,
// never as lost. Messages the sender cannot vouch for (sent on a connection that dropped before they
// came back: Excused) are not lost when they never arrive.
#include <cstdint>
#include <set>
#include <utility>
#include <vector>

namespace ringcast::load {

struct StreamCounts {
  uint64_t received = 0;       // distinct messages received
  uint64_t reordered = 0;      // arrived after a later message of the same sender
  uint64_t duplicates = 0;     // arrived again
  uint64_t lost = 0;           // never arrived, and nobody said so (known once the sender's last number is known)
  uint64_t not_recovered = 0;  // sent while the receiver was away, and not given back

  StreamCounts& operator+=(const StreamCounts& o) noexcept {
    received += o.received;
    reordered += o.reordered;
    duplicates += o.duplicates;
    lost += o.lost;
    not_recovered += o.not_recovered;
    return *this;
  }
};

// Inclusive ranges of a sender's numbers that may never arrive without anything being wrong.
using Excused = std::vector<std::pair<uint64_t, uint64_t>>;

inline uint64_t excused_in(const Excused& e, uint64_t from, uint64_t to) noexcept {  // how many of [from, to]
  uint64_t n = 0;
  for (const auto& [lo, hi] : e) {
    const uint64_t a = std::max(lo, from), b = std::min(hi, to);
    if (a <= b) n += b - a + 1;
  }
  return n;
}

inline bool is_excused(const Excused& e, uint64_t seq) noexcept { return excused_in(e, seq, seq) != 0; }

class StreamChecker {
 public:
  // A message numbered `seq` (from 1) arrived. `excused`: the sender's, read only after a resume.
  void on_message(uint64_t seq, const Excused* excused = nullptr) {
    if (seq > highest_) {
      if (resumed_) {
        // Away from a live room: what was sent meanwhile is gone, and the receiver knows it.
        const uint64_t gap = seq - highest_ - 1;
        counts_.not_recovered += gap - (excused && gap ? excused_in(*excused, highest_ + 1, seq - 1) : 0);
        resumed_ = false;
      } else {
        for (uint64_t s = highest_ + 1; s < seq; ++s) missing_.insert(s);  // a gap: late or lost
      }
      highest_ = seq;
      ++counts_.received;
    } else if (missing_.erase(seq)) {
      ++counts_.received;
      ++counts_.reordered;
    } else {
      ++counts_.duplicates;
    }
  }
  // The receiver reconnected (to a room that cannot give back what it missed).
  void resumed() noexcept { resumed_ = true; }
  bool resuming() const noexcept { return resumed_; }
  // The sender sent `last` messages in all: whatever has not arrived is lost, unless excused (or, for
  // a receiver that resumed and has heard nothing of this sender since, not recovered).
  StreamCounts finish(uint64_t last, const Excused& excused = {}) const {
    StreamCounts c = counts_;
    for (uint64_t s : missing_) c.lost += is_excused(excused, s) ? 0 : 1;
    if (last > highest_) {
      const uint64_t tail = last - highest_ - excused_in(excused, highest_ + 1, last);
      (resumed_ ? c.not_recovered : c.lost) += tail;
    }
    return c;
  }
  uint64_t highest() const noexcept { return highest_; }

 private:
  uint64_t highest_ = 0;
  bool resumed_ = false;
  std::set<uint64_t> missing_;
  StreamCounts counts_;
};

}  // namespace ringcast::load
