#include <ringcast/net/backend/detail/recv_buffers.hpp>

#include <sys/mman.h>

#include <algorithm>
#include <new>

namespace ringcast {

RecvBuffers::RecvBuffers(unsigned count, size_t size, unsigned hot_floor)
    : size_(size), hot_floor_(hot_floor), resident_(count, false) {
  void* p = ::mmap(nullptr, size_t{count} * size, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  base_ = static_cast<uint8_t*>(p);
  cut_.reserve(count);
}

RecvBuffers::~RecvBuffers() { ::munmap(base_, size_t{count()} * size_); }

size_t RecvBuffers::trim(std::span<const uint16_t> waiting) noexcept {
  // The next second's reads most likely take as many buffers as the last second's did, from the
  // head of the ring: those stay resident. A second without a read keeps none.
  size_t keep = filled_since_trim_ == 0 ? 0 : std::max<size_t>(filled_since_trim_, hot_floor_);
  filled_since_trim_ = 0;
  if (keep >= waiting.size()) return 0;
  cut_.clear();
  for (uint16_t bid : waiting.subspan(keep)) {
    if (resident_[bid]) cut_.push_back(bid);
  }
  // The ring's order is mostly the buffers' own: sorted, they give back in a few long runs.
  std::sort(cut_.begin(), cut_.end());
  for (size_t i = 0; i < cut_.size();) {
    size_t j = i + 1;
    while (j < cut_.size() && cut_[j] == cut_[j - 1] + 1) ++j;
    ::madvise(data(cut_[i]), (j - i) * size_, MADV_DONTNEED);
    i = j;
  }
  for (uint16_t bid : cut_) resident_[bid] = false;
  resident_count_ -= cut_.size();
  return cut_.size();
}

}  // namespace ringcast
