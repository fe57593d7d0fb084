#include <ringcast/net/http/detail/chunked_decoder.hpp>

#include <algorithm>

namespace ringcast {

namespace {

constexpr int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 9110 §5.5: field-value bytes (VCHAR, obs-text, SP, HTAB); chunk extensions use the same set.
constexpr bool is_value_byte(char c) noexcept {
  const auto u = uint8_t(c);
  return (u >= 0x20 && u != 0x7f) || u == '\t';
}

// RFC 9110 §5.6.2: tchar, the bytes a field name is made of.
constexpr bool is_tchar(char c) noexcept {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

int status_for(ChunkedError error) noexcept {
  switch (error) {
    case ChunkedError::none: return 0;
    case ChunkedError::body_too_large: return 413;
    case ChunkedError::trailers_too_large: return 431;
    case ChunkedError::framing_too_large: return 413;
    default: return 400;
  }
}

}  // namespace

ChunkedResult ChunkedDecoder::feed(std::string_view in, std::string& out) {
  return feed_to(in, [&out](std::string_view piece) { out.append(piece); });
}

ChunkedResult ChunkedDecoder::fail(ChunkedError error, size_t consumed) noexcept {
  fed_ += consumed;
  state_ = kError;
  error_ = error;
  return {ChunkedStatus::error, consumed, status_for(error), error};
}

ChunkedResult ChunkedDecoder::run(std::string_view in, void* ctx, SinkFn sink) {
  if (state_ == kDone) return {ChunkedStatus::done, 0, 0, ChunkedError::none};
  if (state_ == kError) return {ChunkedStatus::error, 0, status_for(error_), error_};
  const size_t n = in.size();
  size_t i = 0;
  while (i < n) {
    const char c = in[i];
    switch (state_) {
      case kSizeStart: {
        // RFC 9112 §7.1: chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF; chunk-size = 1*HEXDIG
        const int h = hex_value(c);
        if (h < 0) return fail(ChunkedError::bad_chunk_size, i);
        remaining_ = uint64_t(h);
        line_ = 1;
        state_ = kSize;
        ++i;
        break;
      }
      case kSize: {
        const int h = hex_value(c);
        if (h >= 0) {
          if (remaining_ > (UINT64_MAX >> 4)) return fail(ChunkedError::size_overflow, i);
          remaining_ = (remaining_ << 4) | uint64_t(h);
        } else if (c == '\r') {
          state_ = kSizeLf;
          ++i;
          break;
        } else if (c == ';') {
          state_ = kExtension;
        } else if (c == ' ' || c == '\t') {
          state_ = kSizeSpace;  // RFC 9112 §7.1.1: BWS is allowed only before ';'
        } else {
          return fail(ChunkedError::bad_chunk_size, i);
        }
        if (++line_ > kMaxSizeLine) return fail(ChunkedError::bad_extension, i);
        ++i;
        break;
      }
      case kSizeSpace:
        if (c == ';') {
          state_ = kExtension;
        } else if (c != ' ' && c != '\t') {
          return fail(ChunkedError::bad_chunk_size, i);
        }
        if (++line_ > kMaxSizeLine) return fail(ChunkedError::bad_extension, i);
        ++i;
        break;
      case kExtension:
        // RFC 9112 §7.1.1: extensions we do not understand are ignored; they are only checked for
        // line structure and bounded in length.
        while (i < n && in[i] != '\r') {
          if (!is_value_byte(in[i])) {
            return fail(in[i] == '\n' ? ChunkedError::bad_line_ending : ChunkedError::bad_extension, i);
          }
          if (++line_ > kMaxSizeLine) return fail(ChunkedError::bad_extension, i);
          ++i;
        }
        if (i < n) {
          state_ = kSizeLf;
          ++i;
        }
        break;
      case kSizeLf:
        if (c != '\n') return fail(ChunkedError::bad_line_ending, i);
        ++i;
        if (!framing_ok(i)) return fail(ChunkedError::framing_too_large, i);
        if (remaining_ == 0) {  // last-chunk: the trailer section follows
          state_ = kTrailerStart;
        } else if (remaining_ > max_body_ - decoded_) {
          return fail(ChunkedError::body_too_large, i);
        } else {
          state_ = kData;
        }
        break;
      case kData: {
        const size_t take = size_t(std::min<uint64_t>(remaining_, n - i));
        sink(ctx, in.substr(i, take));
        i += take;
        remaining_ -= take;
        decoded_ += take;
        if (remaining_ == 0) state_ = kDataCr;
        break;
      }
      case kDataCr:
        if (c != '\r') return fail(ChunkedError::bad_line_ending, i);
        state_ = kDataLf;
        ++i;
        break;
      case kDataLf:
        if (c != '\n') return fail(ChunkedError::bad_line_ending, i);
        state_ = kSizeStart;
        ++i;
        break;
      case kTrailerStart:
        // RFC 9112 §7.1.2: trailer-section = *( field-line CRLF ), then the final CRLF.
        if (++trailer_ > kMaxTrailerBytes) return fail(ChunkedError::trailers_too_large, i);
        if (c == '\r') {
          state_ = kFinalLf;
        } else if (c == '\n') {
          return fail(ChunkedError::bad_line_ending, i);
        } else if (!is_tchar(c)) {
          return fail(ChunkedError::bad_trailer, i);  // includes obs-fold (SP/HTAB first)
        } else {
          state_ = kTrailer;
        }
        ++i;
        break;
      case kTrailer:
        while (i < n && in[i] != '\r') {
          if (++trailer_ > kMaxTrailerBytes) return fail(ChunkedError::trailers_too_large, i);
          if (!is_value_byte(in[i])) {
            return fail(in[i] == '\n' ? ChunkedError::bad_line_ending : ChunkedError::bad_trailer, i);
          }
          ++i;
        }
        if (i < n) {
          if (++trailer_ > kMaxTrailerBytes) return fail(ChunkedError::trailers_too_large, i);
          state_ = kTrailerLf;
          ++i;
        }
        break;
      case kTrailerLf:
        if (++trailer_ > kMaxTrailerBytes) return fail(ChunkedError::trailers_too_large, i);
        if (c != '\n') return fail(ChunkedError::bad_line_ending, i);
        state_ = kTrailerStart;
        ++i;
        if (!framing_ok(i)) return fail(ChunkedError::framing_too_large, i);
        break;
      case kFinalLf:
        if (++trailer_ > kMaxTrailerBytes) return fail(ChunkedError::trailers_too_large, i);
        if (c != '\n') return fail(ChunkedError::bad_line_ending, i);
        state_ = kDone;
        fed_ += i + 1;
        return {ChunkedStatus::done, i + 1, 0, ChunkedError::none};
      case kDone:
      case kError:
        break;  // handled before the loop
    }
  }
  fed_ += n;
  return {ChunkedStatus::need_more, n, 0, ChunkedError::none};
}

}  // namespace ringcast
