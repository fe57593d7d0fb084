#pragma once
// HttpResponseHead: the status line and headers of an HTTP/1.1 response, parsed in place — what a
// client needs to check an upgrade answer (101) or report a refusal. Bodies are not parsed.
// Limits: 16 KiB of head, 100 headers. Pure function, zero copy: views into the caller's bytes.
#include <array>
#include <cstddef>
#include <span>
#include <string_view>

#include <ringcast/net/http/http_request.hpp>

namespace ringcast {

struct HttpResponseHead {
  enum class Status : uint8_t { complete, incomplete, error };

  Status status = Status::incomplete;
  size_t head_bytes = 0;      // complete: bytes up to and including the blank line
  int code = 0;               // the status code, 100..999
  std::string_view reason;    // the reason phrase (may be empty)
  std::string_view error;     // error: what was wrong, in a few words

  std::string_view header(std::string_view name) const noexcept;
  bool header_has_token(std::string_view name, std::string_view token) const noexcept;
  std::span<const HttpHeader> headers() const noexcept { return {headers_.data(), count_}; }

  static constexpr size_t kMaxHeadBytes = 16 * 1024;

  // Parses `data` (the bytes received so far); re-run on more bytes when incomplete.
  static HttpResponseHead parse(std::string_view data) noexcept;

 private:
  std::array<HttpHeader, kMaxHttpHeaders> headers_;
  size_t count_ = 0;
};

}  // namespace ringcast
