#pragma once
// ChunkedDecoder: an incremental decoder of the chunked transfer coding (RFC 9112 §7.1).
//
// Feed it the bytes after the request head in slices of any size (one byte at a time works); it
// hands the decoded data to a sink (or appends it to a std::string) and keeps only a few counters
// between calls, so the caller never has to keep undecoded bytes. `done` says where the body ended
// (`consumed`), so the next pipelined request can start there. Chunk extensions and trailer fields are
// checked for well-formed line endings and dropped.
//
// Peer errors are values: 400 for a malformed chunk size, a missing CRLF or a size that overflows,
// 413 when the decoded body would exceed `max_body` (reported as soon as a chunk size says so, before
// its data arrives) or when the framing outgrows the data (below), 431 when the trailer section
// exceeds kMaxTrailerBytes.
//
// What is not body — size lines with their extensions, CRLFs, trailers — may exceed the data by at
// most kFramingAllowance bytes in all (checked at each line's end). A body within its limit then
// takes at most twice its size plus 16 KiB on the wire, so the bytes a server keeps for it are bounded
// by its limit, not by how many chunks or extensions a client cares to send. Chunks of 16 bytes or
// more never come near it; a flood of 1-byte chunks with long extensions is refused within 17 KiB.
//
// Size: 48 bytes. One decoder per request body; not thread-safe.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

namespace ringcast {

enum class ChunkedStatus : uint8_t { done, need_more, error };

enum class ChunkedError : uint8_t {
  none,
  bad_chunk_size,      // 400: not 1*HEXDIG, or whitespace not followed by ';'
  size_overflow,       // 400: the size does not fit in 64 bits
  bad_extension,       // 400: control character in, or too long, a chunk extension
  bad_line_ending,     // 400: missing CRLF after the size line or the data, or bare CR/LF
  bad_trailer,         // 400: control character or folding in a trailer field line
  body_too_large,      // 413
  trailers_too_large,  // 431
  framing_too_large,   // 413: more framing than data, by over kFramingAllowance bytes
};

struct ChunkedResult {
  ChunkedStatus status = ChunkedStatus::need_more;
  size_t consumed = 0;  // bytes of this slice that were used; all of it unless `done`
  int http_status = 0;  // error: the status to answer
  ChunkedError error = ChunkedError::none;
};

class ChunkedDecoder {
 public:
  static constexpr size_t kMaxSizeLine = 1024;     // chunk-size line with its extensions, before CRLF
  static constexpr size_t kMaxTrailerBytes = 8192;  // the trailer section with its final CRLF
  static constexpr size_t kFramingAllowance = 16384;  // framing bytes beyond the data's own count

  explicit ChunkedDecoder(uint64_t max_body) noexcept : max_body_(max_body) {}

  // Decodes `in`, appending the data to `out`.
  ChunkedResult feed(std::string_view in, std::string& out);

  // Decodes `in`, calling `sink(std::string_view)` for each contiguous piece of data (a piece never
  // spans two calls to feed_to; it may be a part of a chunk).
  template <typename Sink>
  ChunkedResult feed_to(std::string_view in, Sink&& sink) {
    using S = std::remove_reference_t<Sink>;
    return run(in, const_cast<void*>(static_cast<const void*>(&sink)),
               [](void* ctx, std::string_view piece) { (*static_cast<S*>(ctx))(piece); });
  }

  bool done() const noexcept { return state_ == kDone; }
  uint64_t decoded_size() const noexcept { return decoded_; }
  // Bytes consumed so far that were not data (framing).
  uint64_t framing_size() const noexcept { return fed_ - decoded_; }

  // Starts a new body.
  void reset(uint64_t max_body) noexcept { *this = ChunkedDecoder(max_body); }

 private:
  using SinkFn = void (*)(void*, std::string_view);
  enum State : uint8_t {
    kSizeStart,    // first hex digit of a chunk size
    kSize,         // more hex digits
    kSizeSpace,    // BWS after the size: ';' must follow
    kExtension,    // skipping a chunk extension until CR
    kSizeLf,       // LF after the size line
    kData,         // remaining_ bytes of chunk data
    kDataCr,       // CR after the data
    kDataLf,       // LF after the data
    kTrailerStart, // start of a trailer field line, or CR of the final empty line
    kTrailer,      // inside a trailer field line
    kTrailerLf,    // LF after a trailer field line
    kFinalLf,      // LF of the final empty line
    kDone,
    kError,
  };

  ChunkedResult run(std::string_view in, void* ctx, SinkFn sink);
  ChunkedResult fail(ChunkedError error, size_t consumed) noexcept;
  // The framing so far, with `i` bytes of the current slice consumed, is within its allowance.
  bool framing_ok(size_t i) const noexcept { return fed_ + i - decoded_ <= kFramingAllowance + decoded_; }

  uint64_t max_body_;
  uint64_t fed_ = 0;        // bytes consumed by earlier calls (then by this one, once it returns)
  uint64_t decoded_ = 0;    // data bytes delivered so far
  uint64_t remaining_ = 0;  // kSize*: the size read so far; kData: data bytes left in this chunk
  uint32_t line_ = 0;       // bytes of the current size line
  uint32_t trailer_ = 0;    // bytes of the trailer section
  State state_ = kSizeStart;
  ChunkedError error_ = ChunkedError::none;  // kError: why
};
static_assert(sizeof(ChunkedDecoder) == 48);

}  // namespace ringcast
