#include <ringcast/ws/deflate/detail/deflater.hpp>

#include <libdeflate.h>
#include <zlib.h>

#include <algorithm>
#include <cassert>
#include <climits>
#include <cstring>
#include <new>

namespace ringcast {
namespace {

// RFC 7692 §7.2.1: the 4 bytes removed from the end of every compressed message.
[[maybe_unused]] constexpr unsigned char kTail[4] = {0x00, 0x00, 0xff, 0xff};

// zlib refuses a raw 8-bit window; its 9-bit window suits 8-bit receivers (see deflater.hpp).
int zlib_window_bits(std::uint8_t bits) noexcept { return std::max<int>(bits, 9); }

// The smallest window a receiver needs for what zlib produced with `bits`: matches reach at most
// 2^zbits - 262 bytes back, which for zbits = 9 is 250 < 256.
std::uint8_t zlib_min_window(std::uint8_t bits) noexcept { return bits <= 9 ? kMinWindowBits : bits; }

// The smallest window that holds a whole message of `size` bytes, which libdeflate's matches (within the
// message) cannot exceed.
std::uint8_t message_window(std::size_t size) noexcept {
  std::uint8_t bits = kMinWindowBits;
  while (bits < kMaxWindowBits && (std::size_t{1} << bits) < size) ++bits;
  return bits;
}

z_stream* new_deflate_stream(int level, int window_bits, int mem_level) {
  auto* z = new z_stream{};
  if (deflateInit2(z, level, Z_DEFLATED, -window_bits, mem_level, Z_DEFAULT_STRATEGY) != Z_OK) {
    delete z;
    throw std::bad_alloc();
  }
  return z;
}

void free_deflate_stream(z_stream* z) noexcept {
  if (z == nullptr) return;
  deflateEnd(z);
  delete z;
}

// Compresses `in` through `z` with Z_SYNC_FLUSH into out[0..cap). Returns the bytes written including the
// trailing 00 00 ff ff, or 0 if `out` was too small (the stream is then left mid-message).
std::size_t deflate_sync(z_stream* z, std::string_view in, char* out, std::size_t cap) noexcept {
  z->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z->next_out = reinterpret_cast<Bytef*>(out);
  std::size_t in_left = in.size();
  std::size_t out_left = cap;
  for (;;) {
    const auto in_step = static_cast<uInt>(std::min<std::size_t>(in_left, UINT_MAX));
    const auto out_step = static_cast<uInt>(std::min<std::size_t>(out_left, UINT_MAX));
    z->avail_in = in_step;
    z->avail_out = out_step;
    const int rc = deflate(z, in_step == in_left ? Z_SYNC_FLUSH : Z_NO_FLUSH);
    const bool moved = z->avail_in < in_step || z->avail_out < out_step;
    in_left -= in_step - z->avail_in;
    out_left -= out_step - z->avail_out;
    if (rc != Z_OK && (rc != Z_BUF_ERROR || !moved)) return 0;
    // The flush is complete once all input is in and deflate left output space unused.
    if (in_left == 0 && z->avail_in == 0 && z->avail_out > 0) break;
    if (out_left == 0) return 0;
  }
  return cap - out_left;
}

}  // namespace

std::size_t deflate_bound(std::size_t size) noexcept {
  // zlib's bound for any windowBits/memLevel (deflateBound's conservative case), plus the empty stored
  // block of the sync flush; libdeflate's own bound plus the 0x00 appended after its final block.
  const std::size_t zlib = size + ((size + 7) >> 3) + ((size + 63) >> 6) + 5 + 6;
  const std::size_t ld = libdeflate_deflate_compress_bound(nullptr, size) + 1;
  return std::max(zlib, ld);
}

SharedDeflater::SharedDeflater(int level, DeflateEngine engine) noexcept : level_(level), engine_(engine) {}

SharedDeflater::~SharedDeflater() {
  for (z_stream_s* z : zlib_) free_deflate_stream(z);
  if (libdeflate_ != nullptr) libdeflate_free_compressor(libdeflate_);
}

std::size_t SharedDeflater::zlib_streams() const noexcept {
  return static_cast<std::size_t>(std::count_if(zlib_.begin(), zlib_.end(), [](z_stream_s* z) { return z != nullptr; }));
}

DeflateResult SharedDeflater::compress(std::string_view in, std::uint8_t window_bits, std::span<char> out) {
  assert(window_bits >= kMinWindowBits && window_bits <= kMaxWindowBits);
  if (in.empty()) {
    // An empty stored block minus its last 4 bytes: valid for every window, touches no stream.
    if (out.empty()) return {};
    out[0] = 0;
    return {1, kMinWindowBits};
  }
  // libdeflate's matches stay within the message: fine when the receiver's window holds all of it.
  const bool libdeflate_fits = window_bits == kMaxWindowBits || in.size() <= (std::size_t{1} << window_bits);
  if (engine_ == DeflateEngine::libdeflate && libdeflate_fits) return compress_libdeflate(in, out);
  return compress_zlib(in, window_bits, out);
}

DeflateResult SharedDeflater::compress(std::string_view in, std::uint8_t window_bits, std::string& out) {
  const std::size_t old = out.size();
  out.resize(old + deflate_bound(in.size()));
  const DeflateResult r = compress(in, window_bits, std::span<char>(out.data() + old, out.size() - old));
  out.resize(old + r.size);
  return r;
}

DeflateResult SharedDeflater::compress_zlib(std::string_view in, std::uint8_t window_bits, std::span<char> out) {
  const int zbits = zlib_window_bits(window_bits);
  z_stream*& z = zlib_[static_cast<std::size_t>(zbits - 9)];
  if (z == nullptr) {
    z = new_deflate_stream(level_, zbits, 8);
  } else {
    deflateReset(z);  // no context takeover: every message starts with an empty window
  }
  const std::size_t n = deflate_sync(z, in, out.data(), out.size());
  if (n == 0) return {};
  // RFC 7692 §7.2.1 step 3: Z_SYNC_FLUSH ended the data with an empty stored block; drop its 00 00 ff ff.
  assert(n >= 4 && std::memcmp(out.data() + n - 4, kTail, 4) == 0);
  return {n - 4, zlib_min_window(static_cast<std::uint8_t>(zbits))};
}

DeflateResult SharedDeflater::compress_libdeflate(std::string_view in, std::span<char> out) {
  if (libdeflate_ == nullptr) {
    libdeflate_ = libdeflate_alloc_compressor(level_);
    if (libdeflate_ == nullptr) throw std::bad_alloc();
  }
  if (out.size() < 2) return {};
  const std::size_t n = libdeflate_deflate_compress(libdeflate_, in.data(), in.size(), out.data(), out.size() - 1);
  if (n == 0) return {};
  // RFC 7692 §7.2.1 step 2 after a final block (§7.2.3.4): an empty stored block follows, 00 00 00 ff ff,
  // of which step 3 keeps the first byte.
  out[n] = 0;
  return {n + 1, message_window(in.size())};
}

ContextDeflater& ContextDeflater::operator=(ContextDeflater&& other) noexcept {
  if (this != &other) {
    release();
    z_ = other.z_;
    other.z_ = nullptr;
  }
  return *this;
}

void ContextDeflater::release() noexcept {
  free_deflate_stream(z_);
  z_ = nullptr;
}

void ContextDeflater::compress(std::string_view in, std::uint8_t window_bits, int level, int mem_level,
                               std::string& out) {
  assert(window_bits >= kMinWindowBits && window_bits <= kMaxWindowBits);
  if (in.empty()) {
    // The stream is byte-aligned after the previous sync flush, so an empty stored block (of which 0x00
    // remains) can be written without it; the window does not change.
    out.push_back('\0');
    return;
  }
  if (z_ == nullptr) z_ = new_deflate_stream(level, zlib_window_bits(window_bits), mem_level);
  // Unlike SharedDeflater, this stream cannot give up halfway (its window already holds part of the
  // message), so the output grows until the flush completes.
  const std::size_t old = out.size();
  std::size_t used = 0;
  std::size_t in_left = in.size();
  out.resize(old + deflate_bound(in.size()));
  z_->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  for (;;) {
    if (old + used == out.size()) out.resize(out.size() + out.size() / 2 + 64);
    z_->next_out = reinterpret_cast<Bytef*>(out.data() + old + used);  // the string may have moved
    const auto in_step = static_cast<uInt>(std::min<std::size_t>(in_left, UINT_MAX));
    const auto out_step = static_cast<uInt>(std::min<std::size_t>(out.size() - old - used, UINT_MAX));
    z_->avail_in = in_step;
    z_->avail_out = out_step;
    [[maybe_unused]] const int rc = deflate(z_, in_step == in_left ? Z_SYNC_FLUSH : Z_NO_FLUSH);
    assert(rc == Z_OK || rc == Z_BUF_ERROR);
    in_left -= in_step - z_->avail_in;
    used += out_step - z_->avail_out;
    if (in_left == 0 && z_->avail_out > 0) break;  // all input in and the sync flush complete
  }
  // RFC 7692 §7.2.1 step 3.
  assert(used >= 4 && std::memcmp(out.data() + old + used - 4, kTail, 4) == 0);
  out.resize(old + used - 4);
}

}  // namespace ringcast
