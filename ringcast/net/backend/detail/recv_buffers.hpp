#pragma once
// RecvBuffers: the memory behind a shard's io_uring provided receive buffers, and which of it is
// resident.
//
// The kernel takes provided buffers in ring order and each goes back to the tail once handled, so
// reads walk through every buffer of the ring in turn: after a few thousand messages — a connect
// burst's upgrade requests — every buffer has at least one resident page (1024 buffers: 4 MiB), and
// they stay, though an idle connection holds none. So the owner calls trim() about once a second
// while buffers are resident: it keeps the pages of the buffers the next second's reads will take
// first (as many as were filled in the last second, at least `hot_floor`; none after a second
// without a read) and gives the others' back to the kernel (MADV_DONTNEED). A page given back is
// zero-filled again by the kernel's next write into it. One shard only (not thread-safe).
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace ringcast {

class RecvBuffers {
 public:
  // `count` buffers of `size` bytes (a multiple of the page size), mapped untouched. Throws
  // std::bad_alloc when the mapping fails.
  RecvBuffers(unsigned count, size_t size, unsigned hot_floor = 16);
  ~RecvBuffers();
  RecvBuffers(const RecvBuffers&) = delete;
  RecvBuffers& operator=(const RecvBuffers&) = delete;

  uint8_t* data(unsigned bid) const noexcept { return base_ + size_t{bid} * size_; }
  size_t buffer_size() const noexcept { return size_; }
  unsigned count() const noexcept { return static_cast<unsigned>(resident_.size()); }

  // The kernel wrote into buffer `bid` (a completion named it): its pages are resident.
  void filled(unsigned bid) noexcept {
    ++filled_since_trim_;
    if (!resident_[bid]) {
      resident_[bid] = true;
      ++resident_count_;
    }
  }
  // Buffers with resident pages: a trim would have something to consider.
  bool has_surplus() const noexcept { return resident_count_ > 0; }
  size_t resident_buffers() const noexcept { return resident_count_; }

  // `waiting`: the buffers in the ring, in the order the kernel will take them; none may be written
  // by the kernel during the call, nor hold bytes not yet handled. Returns the buffers given back.
  size_t trim(std::span<const uint16_t> waiting) noexcept;

 private:
  uint8_t* base_ = nullptr;
  size_t size_;
  unsigned hot_floor_;
  std::vector<bool> resident_;  // by buffer id: written since its pages were last given back
  size_t resident_count_ = 0;
  size_t filled_since_trim_ = 0;
  std::vector<uint16_t> cut_;  // trim's scratch: the buffers to give back, sorted into address runs
};

}  // namespace ringcast
