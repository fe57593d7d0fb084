#pragma once
// OutputQueue: the bytes a connection has yet to send, as a FIFO of segments. A segment is either
// a pool block that writes are copied into (16 KiB, see BufferPool), a dedicated heap block for a
// single large write, or external bytes someone else owns (a frame shared by many connections) with
// a release callback. Exists only while a connection has something to send: an idle connection
// holds a null pointer, and the shard recycles queues.
//
// Sending gathers up to kMaxIov segments (bounded by bytes, not by how many messages they hold) into
// one writev/sendmsg; the iovec array and msghdr live here because io_uring reads them after submit.
#include <sys/socket.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include <ringcast/net/backend/detail/buffer_pool.hpp>

namespace ringcast {

class OutputQueue {
 public:
  static constexpr size_t kMaxIov = 64;
  using Release = void (*)(void* owner);

  size_t bytes() const noexcept { return bytes_; }
  bool empty() const noexcept { return bytes_ == 0; }

  // Contiguous room for at least `min` bytes at the tail; commit() what was written.
  std::span<uint8_t> reserve(size_t min, BufferPool& pool);
  void commit(size_t n) noexcept;
  void append(const void* data, size_t n, BufferPool& pool);
  // Queues bytes owned elsewhere; `release(owner)` runs once they are sent or dropped.
  void append_external(const uint8_t* data, size_t n, void* owner, Release release);
  // Joins `n` bytes at `data` to the last segment when it is external, of the same `owner`, and ends
  // exactly at `data` (the next frame in a buffer of frames shared by many connections): no new
  // segment and no new reference. False when it cannot.
  bool extend_external(const uint8_t* data, size_t n, const void* owner) noexcept {
    if (head_ == segs_.size()) return false;
    Segment& s = segs_.back();
    if (s.owner != owner || !s.release || s.data + s.size != data) return false;
    s.size += static_cast<uint32_t>(n);
    bytes_ += n;
    return true;
  }

  // Fills `iov` from the head: at most kMaxIov segments and about `max_bytes` bytes.
  size_t gather(iovec* iov, size_t max_iov, size_t max_bytes) const noexcept;
  // Describes the next send in the queue's own iovec/msghdr (stable until consume()).
  msghdr& prepare_send(size_t max_bytes) noexcept;
  // The first segment alone (fast path for a single-segment send).
  std::span<const uint8_t> front() const noexcept;
  size_t segments() const noexcept { return segs_.size() - head_; }
  // Drops `n` sent bytes from the head, releasing finished segments.
  void consume(size_t n, BufferPool& pool) noexcept;
  // Drops everything.
  void clear(BufferPool& pool) noexcept;

 private:
  struct Segment {             // 32 bytes
    uint8_t* data;             // first unsent byte
    uint32_t size;             // unsent bytes
    uint32_t room;             // writable bytes after data + size (pool and dedicated blocks)
    void* owner;               // block start (pool/dedicated) or the external owner
    Release release;           // nullptr: pool block; otherwise called with owner when done
  };
  void release(Segment& s, BufferPool& pool) noexcept;

  std::vector<Segment> segs_;  // [head_, size) are live
  size_t head_ = 0;
  size_t bytes_ = 0;
  msghdr msg_{};
  iovec iov_[kMaxIov];
};

}  // namespace ringcast
