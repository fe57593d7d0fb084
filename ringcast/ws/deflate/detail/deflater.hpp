#pragma once
// Compression of whole messages for permessage-deflate (RFC 7692 §7.2.1): DEFLATE the payload, end it
// with an empty stored block, drop that block's last 4 bytes (00 00 ff ff). The output is the payload of
// a frame with RSV1 set (on the first frame only, if the message is fragmented).
//
// Two compressors, by who may read the bytes:
//  - SharedDeflater, one per shard: no context takeover (the agreement has server_no_context_takeover),
//    so each message is a self-contained DEFLATE stream that any receiver can inflate. A message
//    published to many connections is compressed once and the same bytes go to all of them.
//  - ContextDeflater, one per connection that agreed to context takeover (dedicated compressor): later
//    messages refer back into earlier ones. Its bytes are for that connection only.
// A connection with a ContextDeflater must never be sent SharedDeflater bytes: its peer's window would
// then hold data the ContextDeflater never saw, and the next message would decode to garbage. It may
// always be sent uncompressed messages (RSV1 = 0), which never touch the LZ77 window.
//
// Window sizes. A receiver that agreed server_max_window_bits = b holds only the last 2^b bytes, so no
// match may reach further back. zlib honours this with windowBits b for b = 9..15; it refuses raw
// windowBits 8, but its 9-bit window never emits a distance above 512 - 262 = 250 (MAX_DIST), which fits
// a 256-byte window, so b = 8 is served by b = 9. libdeflate always uses a 32 KiB window, but a match
// cannot reach before the start of a message compressed without context, so its output for a message of
// n bytes fits any window of at least n bytes (and every window when b = 15).
//
// Engines. zlib (the default) ends every message with Z_SYNC_FLUSH's empty stored block, as browsers and
// every common library do. libdeflate is one-shot and faster (bench/deflate_bench.cpp: about 25% on
// 200-byte JSON, twice on 16 KiB text) but always ends its output with a final block (BFINAL = 1). RFC
// 7692 §7.2.3.4 makes such messages valid and §7.2.1 step 2 then appends an empty stored block, so the
// payload is libdeflate's stream plus one 0x00 byte, the exact form of the RFC's example. A receiver that
// keeps one inflater across messages meets the end of a DEFLATE stream there and must start the next
// message in a fresh one; with server_no_context_takeover agreed it needs nothing from the old window, so
// the RFC is satisfied: this is only done in SharedDeflater, never on a stream with context takeover.
// Chromium and WebKit reset their inflater at a stream end and read the 0x00 as the empty block; but
// some libraries fail on final blocks (boostorg/beast#923, websockets/ws#1669), so libdeflate is opt-in
// (DeflateOptions::engine) for deployments that know their clients.
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include <ringcast/ws/deflate/permessage_deflate.hpp>

struct z_stream_s;
struct libdeflate_compressor;

namespace ringcast {

// Largest payload SharedDeflater::compress can produce for `size` input bytes.
std::size_t deflate_bound(std::size_t size) noexcept;

struct DeflateResult {
  std::size_t size = 0;              // bytes written; 0: `out` was too small, send the message uncompressed
  std::uint8_t min_window_bits = 0;  // the bytes suit every receiver whose server_max_window_bits ≥ this
};

// Shard-wide compressor without context takeover. Owned by one shard and called by its thread only.
// Memory: nothing until used; then one libdeflate compressor (200 KiB at level 1, 650 KiB at 2-9) and one
// zlib stream per window size actually used (262 KiB at 15 bits, memLevel 8), kept for the shard's life.
class SharedDeflater {
 public:
  // With DeflateEngine::libdeflate, messages longer than a receiver's window still go through zlib.
  explicit SharedDeflater(int level = 1, DeflateEngine engine = DeflateEngine::zlib) noexcept;
  ~SharedDeflater();
  SharedDeflater(const SharedDeflater&) = delete;
  SharedDeflater& operator=(const SharedDeflater&) = delete;

  // Compresses one whole message into `out` for a receiver whose agreed server_max_window_bits is
  // `window_bits` (8..15). The result's min_window_bits (≤ window_bits) tells which other receivers may
  // get the same bytes: for a publish, compress for the largest window among the receivers, and again
  // only for receivers whose window is below min_window_bits. `out` should hold deflate_bound(in.size())
  // bytes. Compressed output that is not smaller than `in` is still valid; sending `in` uncompressed
  // instead is the caller's choice.
  DeflateResult compress(std::string_view in, std::uint8_t window_bits, std::span<char> out);
  // Same, appending to `out`.
  DeflateResult compress(std::string_view in, std::uint8_t window_bits, std::string& out);

  std::size_t zlib_streams() const noexcept;  // zlib streams allocated so far
  bool libdeflate_allocated() const noexcept { return libdeflate_ != nullptr; }

 private:
  DeflateResult compress_zlib(std::string_view in, std::uint8_t window_bits, std::span<char> out);
  DeflateResult compress_libdeflate(std::string_view in, std::span<char> out);

  std::array<z_stream_s*, 7> zlib_{};  // by zlib window bits 9..15
  libdeflate_compressor* libdeflate_ = nullptr;
  int level_;
  DeflateEngine engine_;
};

// Per-connection compressor with context takeover: each message may refer to the previous 2^bits bytes
// the connection sent compressed. 8 bytes until the first compressed message, then one zlib stream of
// about (1 << (window_bits + 2)) + (1 << (mem_level + 9)) + 6 KiB until release(). Owned by the
// connection, called by its shard's thread only. Every byte it returns must be sent, in order: a message
// compressed and then dropped leaves the peer's window behind ours.
class ContextDeflater {
 public:
  ContextDeflater() noexcept = default;
  ~ContextDeflater() { release(); }
  ContextDeflater(ContextDeflater&& other) noexcept : z_(other.z_) { other.z_ = nullptr; }
  ContextDeflater& operator=(ContextDeflater&& other) noexcept;
  ContextDeflater(const ContextDeflater&) = delete;
  ContextDeflater& operator=(const ContextDeflater&) = delete;

  // Appends the payload of the next compressed message to `out`. window_bits (8..15, the agreed
  // server_max_window_bits on a server), level and mem_level take effect when the stream is created, at
  // the first call.
  void compress(std::string_view in, std::uint8_t window_bits, int level, int mem_level, std::string& out);

  bool allocated() const noexcept { return z_ != nullptr; }
  void release() noexcept;

 private:
  z_stream_s* z_ = nullptr;
};

}  // namespace ringcast
