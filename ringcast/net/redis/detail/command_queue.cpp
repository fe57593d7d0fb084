#include <ringcast/net/redis/detail/command_queue.hpp>

#include <cstring>

namespace ringcast {

void CommandQueue::compact() {
  if (empty()) {
    entries_.clear();
    log_.clear();
    head_ = sent_ = 0;
    return;
  }
  // Amortized: the front is dropped once it is at least half of what is kept.
  if (head_ >= 64 && head_ * 2 >= entries_.size()) {
    entries_.erase(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(head_));
    sent_ -= head_;
    head_ = 0;
  }
  const uint32_t start = entries_[head_].offset;
  if (start >= 65536 && size_t{start} * 2 >= log_.size()) {
    log_.erase(log_.begin(), log_.begin() + start);
    for (size_t i = head_; i < entries_.size(); ++i) entries_[i].offset -= start;
  }
}

uint8_t* CommandQueue::append(Entry entry, size_t size) {
  compact();
  entry.offset = static_cast<uint32_t>(log_.size());
  entry.size = static_cast<uint32_t>(size);
  entry.sent_ms = 0;
  entries_.push_back(std::move(entry));
  log_.resize(log_.size() + size);
  return log_.data() + entries_.back().offset;
}

void CommandQueue::append(Entry entry, std::string_view bytes) {
  uint8_t* out = append(std::move(entry), bytes.size());
  if (!bytes.empty()) std::memcpy(out, bytes.data(), bytes.size());
}

std::string_view CommandQueue::unsent() const noexcept {
  if (sent_ == entries_.size()) return {};
  const uint32_t start = entries_[sent_].offset;
  return {reinterpret_cast<const char*>(log_.data()) + start, log_.size() - start};
}

void CommandQueue::mark_sent(uint64_t now_ms) noexcept {
  for (size_t i = sent_; i < entries_.size(); ++i) entries_[i].sent_ms = now_ms;
  sent_ = entries_.size();
}

CommandQueue::Entry CommandQueue::pop_front() noexcept {
  Entry e = std::move(entries_[head_]);
  ++head_;
  if (sent_ < head_) sent_ = head_;  // a waiting command taken out (failed before it was written)
  return e;
}

}  // namespace ringcast
