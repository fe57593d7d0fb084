#include <ringcast/ws/deflate/detail/inflater.hpp>

#include <zlib.h>

#include <algorithm>
#include <cassert>
#include <climits>
#include <cstdint>
#include <new>

namespace ringcast {

namespace detail {

// A zlib raw inflate stream and where the current message stands in it. ~7 KiB of zlib state plus its
// window (allocated by zlib at first use, 2^window_bits bytes).
struct InflateStream {
  z_stream z{};
  std::size_t produced = 0;       // bytes the current message has decompressed to so far
  std::uint8_t window_bits = 0;
  bool takeover = false;          // the window carries over to the next message
  bool in_message = false;        // some bytes of the current message were fed
  bool after_final = false;       // a DEFLATE stream just ended (BFINAL) and nothing followed it yet
  bool at_boundary = false;       // zlib stopped between two blocks (data_type bit 128)
};

}  // namespace detail

namespace {

using detail::InflateStream;

// RFC 7692 §7.2.2 step 1.
constexpr unsigned char kTail[4] = {0x00, 0x00, 0xff, 0xff};

// Output space offered to zlib per step: starts near the expected expansion of the input, doubles while
// zlib fills it, never beyond what the limit allows.
constexpr std::size_t kMinStep = 256;
constexpr std::size_t kMaxStep = std::size_t{1} << 20;

void destroy(InflateStream* s) noexcept {
  if (s == nullptr) return;
  inflateEnd(&s->z);
  delete s;
}

// A final block ended the DEFLATE stream inside the message. The rest of the message (if any) starts a
// new stream; with context takeover it keeps the window, since the peer's next data may refer into it.
[[gnu::noinline]] void restart_stream(InflateStream& s) {
  if (!s.takeover) {
    inflateReset(&s.z);
    return;
  }
  unsigned char window[1u << kMaxWindowBits];
  uInt size = sizeof window;
  inflateGetDictionary(&s.z, window, &size);
  inflateReset(&s.z);
  inflateSetDictionary(&s.z, window, size);
}

// Inflates in[0..n) into `out`, counting against `limit`.
InflateStatus run(InflateStream& s, const unsigned char* in, std::size_t n, std::size_t limit, std::string& out) {
  z_stream& z = s.z;
  z.next_in = const_cast<Bytef*>(in);
  std::size_t in_left = n;
  std::size_t step = std::clamp(n * 4, kMinStep, kMaxStep);
  for (;;) {
    assert(s.produced <= limit);
    // One byte beyond the limit tells "exactly at the limit" from "over it".
    const std::size_t left = limit - s.produced;
    const std::size_t room = left == SIZE_MAX ? left : left + 1;
    const auto out_step = static_cast<uInt>(std::min({step, room, std::size_t{UINT_MAX}}));
    const auto in_step = static_cast<uInt>(std::min<std::size_t>(in_left, UINT_MAX));
    const std::size_t old = out.size();
    out.resize(old + out_step);
    z.next_out = reinterpret_cast<Bytef*>(out.data() + old);
    z.avail_out = out_step;
    z.avail_in = in_step;
    const int rc = inflate(&z, Z_NO_FLUSH);
    const std::size_t got = out_step - z.avail_out;
    const std::size_t used = in_step - z.avail_in;
    out.resize(old + got);
    s.produced += got;
    in_left -= used;
    if (used > 0) s.after_final = false;
    // zlib marks "between blocks" in data_type, but a later call without input or output turns that state
    // into the next header's (TYPE into TYPEDO): only calls that moved data tell where the stream stands.
    if (used > 0 || got > 0) s.at_boundary = (z.data_type & 128) != 0;
    if (s.produced > limit) {
      out.resize(out.size() - (s.produced - limit));
      return InflateStatus::too_big;
    }
    switch (rc) {
      case Z_OK:
        break;
      case Z_STREAM_END:
        restart_stream(s);
        s.after_final = true;
        break;
      case Z_BUF_ERROR:  // no progress possible: all input consumed (or none offered)
        if (in_left == 0) return InflateStatus::ok;
        if (used == 0 && got == 0) return InflateStatus::corrupt;  // input and room but no progress
        break;
      case Z_MEM_ERROR:
        throw std::bad_alloc();
      default:  // Z_DATA_ERROR; Z_NEED_DICT and Z_STREAM_ERROR cannot happen on a raw stream
        return InflateStatus::corrupt;
    }
    // Done once the input is used up and zlib left output space unused (no output pending); a stream
    // that ended has none pending either.
    if (in_left == 0 && (z.avail_out > 0 || rc == Z_STREAM_END)) return InflateStatus::ok;
    if (z.avail_out == 0) step = std::min(step * 2, kMaxStep);
  }
}

}  // namespace

InflaterPool::~InflaterPool() {
  for (InflateStream* s : idle_) destroy(s);
}

InflateStream* InflaterPool::acquire(std::uint8_t window_bits, bool takeover) {
  InflateStream* s;
  if (!idle_.empty()) {
    s = idle_.back();
    idle_.pop_back();
    // Idle streams are reset; a different window size frees the old window (zlib allocates it lazily).
    if (s->window_bits != window_bits) inflateReset2(&s->z, -window_bits);
  } else {
    s = new InflateStream;
    if (inflateInit2(&s->z, -window_bits) != Z_OK) {
      delete s;
      throw std::bad_alloc();
    }
    ++created_;
  }
  s->window_bits = window_bits;
  s->takeover = takeover;
  s->produced = 0;
  s->in_message = false;
  s->after_final = false;
  s->at_boundary = false;
  return s;
}

void InflaterPool::give_back(InflateStream* s) noexcept {
  if (idle_.size() >= max_idle_) {
    destroy(s);
    return;
  }
  inflateReset(&s->z);
  try {
    idle_.push_back(s);
  } catch (...) {
    destroy(s);
  }
}

Inflater::~Inflater() { destroy(s_); }

Inflater& Inflater::operator=(Inflater&& other) noexcept {
  if (this != &other) {
    destroy(s_);
    s_ = other.s_;
    other.s_ = nullptr;
  }
  return *this;
}

void Inflater::release(InflaterPool& pool) noexcept {
  if (s_ == nullptr) return;
  pool.give_back(s_);
  s_ = nullptr;
}

InflateStatus Inflater::fail(InflaterPool& pool, InflateStatus status) noexcept {
  release(pool);
  return status;
}

InflateStatus Inflater::feed(InflaterPool& pool, const InflateParams& params, std::string_view chunk,
                             std::string& out) {
  if (chunk.empty()) return InflateStatus::ok;
  if (s_ == nullptr) {
    // Without context takeover any stream will do: borrow one with the largest window, so that the pool's
    // streams keep their windows from one use to the next. With takeover the agreed window is enough.
    s_ = params.no_context_takeover ? pool.acquire(kMaxWindowBits, false)
                                    : pool.acquire(params.window_bits, true);
  }
  InflateStream& s = *s_;
  if (!s.in_message) {
    s.in_message = true;
    s.produced = 0;
    s.after_final = false;
  }
  const InflateStatus st = run(s, reinterpret_cast<const unsigned char*>(chunk.data()), chunk.size(),
                               params.max_message_size, out);
  return st == InflateStatus::ok ? st : fail(pool, st);
}

InflateStatus Inflater::finish(InflaterPool& pool, const InflateParams& params, std::string& out) {
  if (s_ == nullptr) return InflateStatus::ok;  // an empty payload: an empty message
  InflateStream& s = *s_;
  if (s.in_message && !s.after_final) {
    const InflateStatus st = run(s, kTail, sizeof kTail, params.max_message_size, out);
    if (st != InflateStatus::ok) return fail(pool, st);
    // Anything but the end of a block (or of a whole DEFLATE stream) is a truncated block.
    if (!s.after_final && !s.at_boundary) return fail(pool, InflateStatus::corrupt);
  }
  s.in_message = false;
  s.after_final = false;
  s.produced = 0;
  if (!s.takeover) release(pool);
  return InflateStatus::ok;
}

InflateStatus Inflater::inflate_message(InflaterPool& pool, const InflateParams& params, std::string_view payload,
                                        std::string& out) {
  const InflateStatus st = feed(pool, params, payload, out);
  return st == InflateStatus::ok ? finish(pool, params, out) : st;
}

}  // namespace ringcast
