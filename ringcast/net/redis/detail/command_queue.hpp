#pragma once
// CommandQueue: one Redis connection's commands, oldest first — those written and awaiting their
// reply, then those waiting for the connection to come up. Each keeps its callback and its bytes
// (in one log shared by all, reused from command to command), so that a command Redis redirects can
// be sent again to another node, and those not written yet leave in one write once the connection
// is up. Replies come in the order commands were written: the front entry is the next reply's.
//
// Memory: the entries and the log grow to the connection's peak and are reused; they are compacted
// as the front is consumed, so a connection that never drains still holds only what is in flight.
//
// Owned by RedisCluster, used on its shard's thread only.
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include <ringcast/net/redis/redis_reply.hpp>

namespace ringcast {

class RedisScript;

class CommandQueue {
 public:
  static constexpr uint16_t kNoSlot = 0xffff;
  // What a reply is for.
  enum class Kind : uint8_t {
    command,   // a caller's: its callback gets the reply
    asking,    // ASKING before an ASK-redirected command: its +OK is dropped
    topology,  // CLUSTER SHARDS for RedisCluster itself
  };

  struct Entry {
    RedisCallback callback;
    const RedisScript* script = nullptr;  // EVALSHA: sent again with EVAL on NOSCRIPT
    uint64_t sent_ms = 0;                 // when written (0 while waiting)
    uint32_t offset = 0;                  // its bytes in the log
    uint32_t size = 0;
    uint32_t tail = 0;                    // EVALSHA: where numkeys starts, from `offset`
    uint16_t slot = kNoSlot;
    uint8_t redirects = 0;
    Kind kind = Kind::command;
    bool drains_hold = false;             // later commands of its slot wait for its answer
  };

  // Appends a command of `size` bytes; returns where to write them (valid until the next change of
  // the queue).
  uint8_t* append(Entry entry, size_t size);
  // Appends a copy of `bytes`.
  void append(Entry entry, std::string_view bytes);

  bool empty() const noexcept { return head_ == entries_.size(); }
  size_t size() const noexcept { return entries_.size() - head_; }
  size_t in_flight() const noexcept { return sent_ - head_; }
  size_t waiting() const noexcept { return entries_.size() - sent_; }
  // Bytes kept: in flight and waiting.
  size_t bytes() const noexcept { return empty() ? 0 : log_.size() - entries_[head_].offset; }
  // Bytes stored, those of answered commands not yet dropped included.
  size_t stored_bytes() const noexcept { return log_.size(); }

  // The waiting commands' bytes, in order and contiguous; then mark_sent() once they are written.
  std::string_view unsent() const noexcept;
  void mark_sent(uint64_t now_ms) noexcept;

  // The oldest entry (the next reply's, when it was written).
  Entry& front() noexcept { return entries_[head_]; }
  // Takes the oldest entry out; its bytes stay readable (bytes_of) until the next append.
  Entry pop_front() noexcept;
  std::string_view bytes_of(const Entry& e) const noexcept {
    return {reinterpret_cast<const char*>(log_.data()) + e.offset, e.size};
  }

  // Calls fn(Entry&) for every command written and not answered, oldest first.
  template <typename Fn>
  void for_each_in_flight(Fn&& fn) {
    for (size_t i = head_; i < sent_; ++i) fn(entries_[i]);
  }

 private:
  void compact();

  std::vector<Entry> entries_;
  std::vector<uint8_t> log_;
  size_t head_ = 0;  // first entry not yet answered
  size_t sent_ = 0;  // first entry not yet written
};

}  // namespace ringcast
