#pragma once
// Incremental, bounded inflation of permessage-deflate messages (RFC 7692 §7.2.2): the payload of a
// compressed message (RSV1 on its first frame) spans its frames, each arriving in any number of chunks;
// the receiver appends 00 00 ff ff at the end and inflates. Output is appended to a message buffer the
// caller owns.
//
// Limits. A message may decompress to at most `max_message_size` bytes: inflation stops as soon as the
// output would pass it (close code 1009), whatever the input still holds, so a few KiB that would expand
// to GiBs cost at most the limit in memory and time. Data that is not valid DEFLATE, or a message that
// does not end on a block boundary once 00 00 ff ff is appended (a truncated block), is corrupt (close code
// 1007, as for invalid UTF-8: the payload is not the data it claims to be).
//
// Streams. A zlib inflate stream is ~7 KiB plus a 2^bits window. An Inflater (8 bytes per connection)
// holds one only while it needs it:
//  - no context takeover (client_no_context_takeover agreed, the default): from the first chunk of a
//    compressed message to its end. The stream is borrowed from the shard's InflaterPool and returned,
//    reset, at the end, so one stream serves every connection whose messages arrive whole, and a few
//    more serve those whose messages span reads. The pool keeps them, so steady state allocates nothing.
//  - context takeover: from the first compressed message until release(), since each message may refer
//    to the previous 2^window_bits bytes. Nothing is allocated before that first message.
//
// Windows. Without context takeover every stream has a 32 KiB window, whatever was agreed: a match can
// only reach into the current message, which zlib then always checks exactly. With takeover the stream's
// window is the agreed one (less memory); zlib checks a match against it only when the match also reaches
// before the output of the current inflate call, so a peer overreaching its agreed window either decodes
// to the right bytes or fails with 1007, depending on how its message was split into reads.
//
// DEFLATE streams that end inside a message (a block with BFINAL = 1, RFC 7692 §7.2.3.4) are accepted: the
// rest of the message is inflated as a new stream, and with context takeover the window carries over to
// it and to the next message. A message that ends right after such a final block needs no empty block.
// An empty payload with RSV1 set is an empty message.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <ringcast/ws/deflate/permessage_deflate.hpp>

namespace ringcast {

enum class InflateStatus : std::uint8_t {
  ok,
  too_big,  // the message would exceed max_message_size: close with 1009
  corrupt,  // invalid DEFLATE data or a truncated message: close with 1007
};

// RFC 6455 §7.4.1 close code for a failed inflation; 1000 for ok.
constexpr std::uint16_t inflate_close_code(InflateStatus s) noexcept {
  return s == InflateStatus::too_big ? 1009 : s == InflateStatus::corrupt ? 1007 : 1000;
}

// How to inflate what one peer sends.
struct InflateParams {
  bool no_context_takeover = true;
  std::uint8_t window_bits = kMaxWindowBits;  // the peer's agreed window (8..15)
  std::size_t max_message_size = 64 << 10;
};

// A server inflates with the client_* half of the agreement, a client with the server_* half.
inline InflateParams server_inflate_params(const DeflateAgreement& a, std::size_t max_message_size) noexcept {
  return {.no_context_takeover = a.client_no_context_takeover,
          .window_bits = a.client_max_window_bits,
          .max_message_size = max_message_size};
}
inline InflateParams client_inflate_params(const DeflateAgreement& a, std::size_t max_message_size) noexcept {
  return {.no_context_takeover = a.server_no_context_takeover,
          .window_bits = a.server_max_window_bits,
          .max_message_size = max_message_size};
}

namespace detail {
struct InflateStream;
}

// Shard-wide cache of inflate streams. Owned by one shard, used by its thread only. Keeps at most
// `max_idle` idle streams (~40 KiB each once their window exists) and frees the others on return.
class InflaterPool {
 public:
  explicit InflaterPool(std::size_t max_idle = 16) noexcept : max_idle_(max_idle) {}
  ~InflaterPool();
  InflaterPool(const InflaterPool&) = delete;
  InflaterPool& operator=(const InflaterPool&) = delete;

  std::size_t idle() const noexcept { return idle_.size(); }
  std::size_t created() const noexcept { return created_; }  // streams allocated over the pool's life

 private:
  friend class Inflater;
  detail::InflateStream* acquire(std::uint8_t window_bits, bool takeover);
  void give_back(detail::InflateStream* s) noexcept;

  std::vector<detail::InflateStream*> idle_;
  std::size_t max_idle_;
  std::size_t created_ = 0;
};

// One connection's inflation state: 8 bytes, a stream only while one is needed (see above). Owned by the
// connection and called by its shard's thread, always with the same pool and params. For each compressed
// message: feed() every chunk of every frame's payload, then finish() after the last frame. On any status
// but ok the stream is already returned; the connection is to be closed with inflate_close_code(status), and `out`
// then holds at most max_message_size bytes of the failed message.
class Inflater {
 public:
  // What one stream costs with a full window (zlib's ~7 KiB of state and 32 KiB of window): what a
  // connection holds while it borrows one, counted in the shard's budget of messages in progress.
  static constexpr std::size_t kStreamBytes = 40 << 10;

  Inflater() noexcept = default;
  ~Inflater();
  Inflater(Inflater&& other) noexcept : s_(other.s_) { other.s_ = nullptr; }
  Inflater& operator=(Inflater&& other) noexcept;
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;

  InflateStatus feed(InflaterPool& pool, const InflateParams& params, std::string_view chunk, std::string& out);
  // Ends the message: appends 00 00 ff ff and checks that the data ends on a block boundary.
  InflateStatus finish(InflaterPool& pool, const InflateParams& params, std::string& out);
  // A whole message at once: feed() then finish().
  InflateStatus inflate_message(InflaterPool& pool, const InflateParams& params, std::string_view payload,
                                std::string& out);

  // Returns the stream to the pool (connection closed). A later message starts a fresh context.
  void release(InflaterPool& pool) noexcept;
  bool holds_stream() const noexcept { return s_ != nullptr; }

 private:
  InflateStatus fail(InflaterPool& pool, InflateStatus status) noexcept;

  detail::InflateStream* s_ = nullptr;
};

}  // namespace ringcast
