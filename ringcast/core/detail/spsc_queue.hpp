#pragma once
// SpscQueue: a bounded, lock-free, single-producer/single-consumer FIFO.
//
// Exactly one thread may push (the producer) and exactly one thread may pop (the consumer); they may be
// the same thread. Capacity is rounded up to a power of two. Nothing allocates after construction.
//
// Layout (why it is fast): the producer's index and the consumer's index sit on separate cache lines,
// each side keeps a cached copy of the other's index and reloads it only when the cached value says
// the queue looks full (producer) or empty (consumer), and `consume` publishes the read index once per
// batch. Indices grow monotonically (64-bit, never wrap in practice) and are masked into the slots.
#include <atomic>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace ringcast {

inline constexpr size_t kCacheLine = 64;

template <typename T>
class SpscQueue {
  static_assert(std::is_nothrow_move_constructible_v<T>, "queue items are moved in and out without failure");

 public:
  explicit SpscQueue(size_t capacity) : capacity_(round_up_pow2(capacity < 2 ? 2 : capacity)), mask_(capacity_ - 1) {
    slots_ = static_cast<T*>(::operator new(capacity_ * sizeof(T), std::align_val_t{alignof(T) > kCacheLine ? alignof(T) : kCacheLine}));
  }
  SpscQueue(const SpscQueue&) = delete;
  SpscQueue& operator=(const SpscQueue&) = delete;

  // Destroys every item still queued, published or staged. Neither side may be in use any more.
  ~SpscQueue() {
    publish();
    while (front()) pop();
    ::operator delete(slots_, std::align_val_t{alignof(T) > kCacheLine ? alignof(T) : kCacheLine});
  }

  size_t capacity() const noexcept { return capacity_; }

  // Producer: constructs an item in place and makes it visible; false when full (nothing constructed).
  template <typename... Args>
  bool try_emplace(Args&&... args) noexcept(std::is_nothrow_constructible_v<T, Args...>) {
    if (!try_stage(std::forward<Args>(args)...)) return false;
    publish();
    return true;
  }
  bool try_push(T&& item) noexcept { return try_emplace(std::move(item)); }

  // Producer: constructs an item that the consumer sees only after the next publish(). Staging a batch
  // and publishing once moves the producer's cache line to the consumer once per batch, not per item.
  template <typename... Args>
  bool try_stage(Args&&... args) noexcept(std::is_nothrow_constructible_v<T, Args...>) {
    const uint64_t w = producer_.staged;
    if (w - producer_.read_cache == capacity_) {
      producer_.read_cache = consumer_.read.load(std::memory_order_acquire);
      if (w - producer_.read_cache == capacity_) return false;
    }
    new (&slots_[w & mask_]) T(std::forward<Args>(args)...);
    producer_.staged = w + 1;
    return true;
  }

  // Producer: makes every staged item visible. Returns true when there was something to publish.
  bool publish() noexcept {
    if (producer_.staged == producer_.write.load(std::memory_order_relaxed)) return false;
    producer_.write.store(producer_.staged, std::memory_order_release);
    return true;
  }

  // Producer: how many more items fit right now (may under-estimate, never over-estimates).
  size_t free_slots() noexcept {
    producer_.read_cache = consumer_.read.load(std::memory_order_acquire);
    return capacity_ - static_cast<size_t>(producer_.staged - producer_.read_cache);
  }

  // Consumer: the oldest item, or nullptr when empty.
  T* front() noexcept {
    const uint64_t r = consumer_.read.load(std::memory_order_relaxed);
    if (r == consumer_.write_cache) {
      consumer_.write_cache = producer_.write.load(std::memory_order_acquire);
      if (r == consumer_.write_cache) return nullptr;
    }
    return &slots_[r & mask_];
  }

  // Consumer: destroys the item front() returned.
  void pop() noexcept {
    const uint64_t r = consumer_.read.load(std::memory_order_relaxed);
    assert(r != producer_.write.load(std::memory_order_acquire) && "pop on an empty queue");
    slots_[r & mask_].~T();
    consumer_.read.store(r + 1, std::memory_order_release);
  }

  // Consumer: calls fn(T&) for up to `max` items in FIFO order, destroying each after the call, and
  // publishes the read index once at the end. Returns how many items it consumed.
  template <typename Fn>
  size_t consume(Fn&& fn, size_t max = SIZE_MAX) {
    const uint64_t r = consumer_.read.load(std::memory_order_relaxed);
    consumer_.write_cache = producer_.write.load(std::memory_order_acquire);
    uint64_t n = consumer_.write_cache - r;
    if (n > max) n = max;
    for (uint64_t i = 0; i < n; ++i) {
      T& item = slots_[(r + i) & mask_];
      fn(item);
      item.~T();
    }
    if (n) consumer_.read.store(r + n, std::memory_order_release);
    return static_cast<size_t>(n);
  }

  // Either side: a snapshot; exact only when the other side is quiet.
  bool empty() const noexcept {
    return producer_.write.load(std::memory_order_acquire) == consumer_.read.load(std::memory_order_acquire);
  }
  size_t size() const noexcept {
    return static_cast<size_t>(producer_.write.load(std::memory_order_acquire) -
                               consumer_.read.load(std::memory_order_acquire));
  }

 private:
  static size_t round_up_pow2(size_t v) {
    size_t p = 1;
    while (p < v) p <<= 1;
    return p;
  }

  struct alignas(kCacheLine) ProducerSide {
    std::atomic<uint64_t> write{0};  // published: the consumer may read below this
    uint64_t staged = 0;             // constructed: write <= staged
    uint64_t read_cache = 0;         // last read index the producer saw
  };
  struct alignas(kCacheLine) ConsumerSide {
    std::atomic<uint64_t> read{0};
    uint64_t write_cache = 0;  // last write index the consumer saw
  };

  const size_t capacity_;
  const size_t mask_;
  T* slots_;
  ProducerSide producer_;
  ConsumerSide consumer_;
};

}  // namespace ringcast
