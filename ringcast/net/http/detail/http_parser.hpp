#pragma once
// HttpParser: a strict, incremental, zero-copy parser of HTTP/1.1 request heads (RFC 9112, RFC 9110).
//
// Use: hand parse() every byte received so far for the current request, starting at its first byte.
// When it says `incomplete`, keep those bytes (the next call must pass them again, followed by more);
// the parser remembers how far it has checked, so a call costs only the new bytes until the head is
// complete (then the head is scanned once more to fill the HttpRequest, if it took several calls).
// `complete` gives the HttpRequest (views into `data`) and `header_bytes`, where the body or the next
// pipelined request starts. `error` gives the HTTP status to answer (400, 414, 431, 501, 505) before
// closing. After `complete` or `error` the parser is ready for the next request.
//
// Every verdict depends only on the bytes up to the one that decides it, so feeding a request whole or
// in pieces of any size gives the same answer; a bad byte is refused as soon as it arrives.
//
// Limits: request line ≤ 8 KiB (else 414), whole head (leading empty lines, request line, field lines
// and the final CRLF) ≤ 16 KiB (else 431), at most 100 field lines (else 431).
//
// Size: 12 bytes, so it can live in per-connection state while a head is arriving. One parser per
// connection; not thread-safe.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <ringcast/net/http/http_request.hpp>

namespace ringcast {

enum class ParseStatus : uint8_t { complete, incomplete, error };

// Why a head was refused; http_status_for() maps each to the status to answer.
enum class HttpParseError : uint8_t {
  none,
  bad_line_ending,            // 400: bare CR or bare LF (RFC 9112 §2.2)
  bad_request_line,           // 400: byte outside VCHAR/SP, or not "method SP target SP version"
  bad_method,                 // 400: method is not a token (RFC 9110 §9.1)
  bad_target,                 // 400: not origin-, absolute- or asterisk-form (RFC 9112 §3.2)
  bad_version,                // 400: not "HTTP/" DIGIT "." DIGIT (RFC 9112 §2.3)
  unsupported_version,        // 505: HTTP/x.y other than 1.0 and 1.1
  request_line_too_long,      // 414
  bad_header_name,            // 400: empty or not a token, or no colon (RFC 9112 §5)
  space_before_colon,         // 400: RFC 9112 §5.1
  obs_fold,                   // 400: line folding, or whitespace before the first field (RFC 9112 §5.2, §2.2)
  bad_header_value,           // 400: control character in a field value (RFC 9110 §5.5)
  header_section_too_large,   // 431
  too_many_headers,           // 431
  missing_host,               // 400: RFC 9112 §3.2
  duplicate_host,             // 400: RFC 9112 §3.2
  empty_host,                 // 400: an http URI has a host (RFC 9110 §4.2.1, RFC 9112 §3.2)
  bad_content_length,         // 400: RFC 9110 §8.6
  conflicting_content_length, // 400: RFC 9112 §6.3
  duplicate_content_length,   // 400: the same length twice, which RFC 9110 §8.6 lets a recipient refuse
  bad_transfer_encoding,      // 400: chunked missing, not final, repeated or with parameters (RFC 9112 §6.3)
  unsupported_transfer_encoding,  // 501: a coding other than chunked (RFC 9112 §6.1)
  length_and_chunked,         // 400: Content-Length with Transfer-Encoding (RFC 9112 §6.3, smuggling)
  chunked_in_http10,          // 400: Transfer-Encoding in HTTP/1.0 (RFC 9112 §6.1)
};

int http_status_for(HttpParseError error) noexcept;
std::string_view http_parse_error_name(HttpParseError error) noexcept;

struct HttpParseResult {
  ParseStatus status = ParseStatus::incomplete;
  size_t header_bytes = 0;  // complete: bytes of the head, including the final CRLF; else 0
  int http_status = 0;      // error: the status to answer; else 0
  HttpParseError error = HttpParseError::none;

  friend bool operator==(const HttpParseResult&, const HttpParseResult&) = default;
};

class HttpParser {
 public:
  static constexpr size_t kMaxRequestLine = 8192;  // bytes before the CRLF
  static constexpr size_t kMaxHeadBytes = 16384;   // header_bytes at most
  static constexpr size_t kMaxHeaders = kMaxHttpHeaders;

  // `data`: every byte of the request received so far (the bytes of the previous call, then more).
  // `out` is filled on `complete` and meaningless otherwise.
  HttpParseResult parse(std::string_view data, HttpRequest& out) noexcept;

  // Forgets a partly parsed head (e.g. when its connection is reused for something else).
  void reset() noexcept { *this = HttpParser{}; }

  // Bytes checked so far of the current head (0 when no head is in progress).
  size_t scanned() const noexcept { return pos_; }

 private:
  enum Phase : uint8_t { kLeading, kRequestLine, kFieldName, kFieldValue };

  // One pass from the saved state over the new bytes. `record`: the pass started at byte 0, so it fills
  // `out` and checks the framing headers when the head is complete.
  HttpParseResult run(std::string_view data, HttpRequest& out, bool record) noexcept;
  HttpParseResult fail(HttpParseError error) noexcept;
  static HttpParseError parse_request_line(std::string_view line, HttpRequest& out) noexcept;
  // The framing rules that need the whole head: Host, Content-Length, Transfer-Encoding, Connection.
  static HttpParseError check_head(HttpRequest& out) noexcept;

  uint32_t pos_ = 0;         // next byte to check
  uint32_t line_start_ = 0;  // first byte of the line being checked
  Phase phase_ = kLeading;
  uint8_t headers_ = 0;      // complete field lines so far
};
static_assert(sizeof(HttpParser) == 12);

}  // namespace ringcast
