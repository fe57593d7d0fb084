#pragma once
// StreamChecker: what one receiver saw of one sender's numbered messages (1, 2, 3, …) — each counted
// exactly once as in order, late (it filled a gap: reordered), duplicate, or, at the end, lost.
// Memory is proportional to the gaps outstanding, not to the messages, so a long run costs nothing
// while nothing goes wrong.
#include <cstdint>
#include <set>

namespace ringcast::load {

struct StreamCounts {
  uint64_t received = 0;    // distinct messages received
  uint64_t reordered = 0;   // arrived after a later message of the same sender
  uint64_t duplicates = 0;  // arrived again
  uint64_t lost = 0;        // never arrived (known once the sender's last number is known)

  StreamCounts& operator+=(const StreamCounts& o) noexcept {
    received += o.received;
    reordered += o.reordered;
    duplicates += o.duplicates;
    lost += o.lost;
    return *this;
  }
};

class StreamChecker {
 public:
  // A message numbered `seq` (from 1) arrived.
  void on_message(uint64_t seq) {
    if (seq > highest_) {
      for (uint64_t s = highest_ + 1; s < seq; ++s) missing_.insert(s);  // a gap: late or lost
      highest_ = seq;
      ++counts_.received;
    } else if (missing_.erase(seq)) {
      ++counts_.received;
      ++counts_.reordered;
    } else {
      ++counts_.duplicates;
    }
  }
  // The sender sent `last` messages in all: whatever has not arrived is lost.
  StreamCounts finish(uint64_t last) const {
    StreamCounts c = counts_;
    c.lost = missing_.size() + (last > highest_ ? last - highest_ : 0);
    return c;
  }
  uint64_t highest() const noexcept { return highest_; }

 private:
  uint64_t highest_ = 0;
  std::set<uint64_t> missing_;
  StreamCounts counts_;
};

}  // namespace ringcast::load
