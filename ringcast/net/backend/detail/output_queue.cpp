#include <ringcast/net/backend/detail/output_queue.hpp>

#include <cstdlib>
#include <cstring>
#include <new>

namespace ringcast {
namespace {

void free_dedicated(void* owner) { std::free(owner); }

}  // namespace

std::span<uint8_t> OutputQueue::reserve(size_t min, BufferPool& pool) {
  if (segs_.size() > head_) {
    Segment& tail = segs_.back();
    if (tail.room >= min) return {tail.data + tail.size, tail.room};
  }
  Segment s{};
  if (min <= BufferPool::kBlockSize) {
    s.data = pool.get();
    s.room = BufferPool::kBlockSize;
  } else {
    s.data = static_cast<uint8_t*>(std::malloc(min));
    if (!s.data) throw std::bad_alloc();
    s.room = static_cast<uint32_t>(min);
    s.release = &free_dedicated;
  }
  s.owner = s.data;
  segs_.push_back(s);
  return {s.data, s.room};
}

void OutputQueue::commit(size_t n) noexcept {
  Segment& tail = segs_.back();
  tail.size += static_cast<uint32_t>(n);
  tail.room -= static_cast<uint32_t>(n);
  bytes_ += n;
}

void OutputQueue::append(const void* data, size_t n, BufferPool& pool) {
  auto* src = static_cast<const uint8_t*>(data);
  // Fill the tail block first; large writes span several pool blocks rather than one huge buffer,
  // except when they are far larger than a block (then one dedicated block, one copy).
  while (n > 0) {
    const size_t want = n > 4 * BufferPool::kBlockSize ? n : (n < BufferPool::kBlockSize ? n : 1);
    std::span<uint8_t> room = reserve(want, pool);
    const size_t k = room.size() < n ? room.size() : n;
    std::memcpy(room.data(), src, k);
    commit(k);
    src += k;
    n -= k;
  }
}

void OutputQueue::append_external(const uint8_t* data, size_t n, void* owner, Release release) {
  segs_.push_back(Segment{const_cast<uint8_t*>(data), static_cast<uint32_t>(n), 0, owner, release});
  bytes_ += n;
}

size_t OutputQueue::gather(iovec* iov, size_t max_iov, size_t max_bytes) const noexcept {
  size_t count = 0, total = 0;
  for (size_t i = head_; i < segs_.size() && count < max_iov && total < max_bytes; ++i) {
    if (segs_[i].size == 0) continue;
    iov[count].iov_base = segs_[i].data;
    iov[count].iov_len = segs_[i].size;
    total += segs_[i].size;
    ++count;
  }
  return count;
}

msghdr& OutputQueue::prepare_send(size_t max_bytes) noexcept {
  msg_ = msghdr{};
  msg_.msg_iov = iov_;
  msg_.msg_iovlen = gather(iov_, kMaxIov, max_bytes);
  return msg_;
}

std::span<const uint8_t> OutputQueue::front() const noexcept {
  for (size_t i = head_; i < segs_.size(); ++i) {
    if (segs_[i].size) return {segs_[i].data, segs_[i].size};
  }
  return {};
}

void OutputQueue::release(Segment& s, BufferPool& pool) noexcept {
  if (s.release) {
    s.release(s.owner);
  } else {
    pool.put(static_cast<uint8_t*>(s.owner));
  }
}

void OutputQueue::consume(size_t n, BufferPool& pool) noexcept {
  bytes_ -= n;
  while (head_ < segs_.size()) {
    Segment& s = segs_[head_];
    if (n < s.size) {
      s.data += n;
      s.size -= static_cast<uint32_t>(n);
      break;
    }
    n -= s.size;
    // A block that still has room is the tail being written into: keep it, just empty.
    if (head_ + 1 == segs_.size() && s.room > 0) {
      s.data += s.size;
      s.size = 0;
      break;
    }
    release(s, pool);
    ++head_;
  }
  if (head_ == segs_.size()) {
    segs_.clear();
    head_ = 0;
  } else if (head_ > 64 && head_ * 2 > segs_.size()) {
    segs_.erase(segs_.begin(), segs_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
}

void OutputQueue::clear(BufferPool& pool) noexcept {
  for (size_t i = head_; i < segs_.size(); ++i) release(segs_[i], pool);
  segs_.clear();
  head_ = 0;
  bytes_ = 0;
}

}  // namespace ringcast
