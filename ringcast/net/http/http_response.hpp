#pragma once
// HttpResponse: builds an HTTP/1.1 response head and body and writes them out in one piece.
//
// The builder holds views: header names and values and the body are not copied until serialize(), so
// the bytes they point to must live until then. serialize() computes the exact size first and writes
// once (one reservation in a std::string, or into a caller buffer), so a response costs no allocation
// beyond the output's own growth.
//
// Managed for you: the status line (always "HTTP/1.1", RFC 9110 §6.2), Content-Length (always, from
// the body, except where RFC 9110 §8.6 forbids it: 1xx and 204; and 304, whose length would be the
// 200's), "Connection: close" when keep_alive(false), Date when given. Handlers may not set
// Content-Length or Transfer-Encoding themselves. For an HTTP/1.0 client that asked to stay open,
// add "Connection: keep-alive" (RFC 9112 §9.3).
//
// Size: about 600 bytes (16 header slots of views); a short-lived value on the stack of the code that
// answers. Not thread-safe.
#include <array>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <span>
#include <string>
#include <string_view>

#include <ringcast/net/http/http_request.hpp>

namespace ringcast {

// The reason phrase of a status code (RFC 9110 §15), or "" for a code the table does not know (the
// status line is still valid: the phrase may be empty).
std::string_view http_reason_phrase(int status) noexcept;

// IMF-fixdate (RFC 9110 §5.6.7), e.g. "Sun, 06 Nov 1994 08:49:37 GMT": always kHttpDateSize bytes.
inline constexpr size_t kHttpDateSize = 29;
std::string_view format_http_date(std::time_t t, std::span<char, kHttpDateSize> buf) noexcept;

class HttpResponse {
 public:
  static constexpr size_t kMaxHeaders = 16;

  explicit HttpResponse(int status = 200) noexcept { set_status(status); }

  // A three-digit status (100-999).
  HttpResponse& set_status(int status) noexcept;
  int status() const noexcept { return status_; }

  // Adds a header. False, and nothing added, when the name is not a token (RFC 9110 §5.1), the value
  // has a control character other than HTAB (no CR/LF: no response splitting, RFC 9110 §5.5), the name
  // is Content-Length or Transfer-Encoding (the writer owns framing), or kMaxHeaders are already set.
  bool add_header(std::string_view name, std::string_view value) noexcept;

  HttpResponse& body(std::string_view bytes) noexcept {
    body_ = bytes;
    return *this;
  }
  // false: the connection closes after this response ("Connection: close").
  HttpResponse& keep_alive(bool on) noexcept {
    keep_alive_ = on;
    return *this;
  }
  // An IMF-fixdate for the Date header (RFC 9110 §6.6.1), e.g. from format_http_date once a second.
  HttpResponse& date(std::string_view imf_fixdate) noexcept {
    date_ = imf_fixdate;
    return *this;
  }
  // The answer to HEAD (RFC 9110 §9.3.2): the same head as for GET, Content-Length of the body, but
  // the body itself is not sent.
  HttpResponse& head_only(bool on) noexcept {
    head_only_ = on;
    return *this;
  }

  // Declares a body of `n` bytes that the caller writes itself after the head (a file read straight
  // into the output buffer): Content-Length says `n` and serialize() writes the head only.
  HttpResponse& external_body(uint64_t n) noexcept {
    external_length_ = n;
    has_external_ = true;
    return *this;
  }

  // The bytes serialize() writes.
  size_t serialized_size() const noexcept;
  // Appends the response to `out`.
  void serialize(std::string& out) const;
  // Writes the response into `buf`; returns its size, or 0 when `buf` is too small.
  size_t serialize(std::span<char> buf) const noexcept;

 private:
  struct Header {
    std::string_view name;
    std::string_view value;
  };

  bool sends_length() const noexcept { return status_ >= 200 && status_ != 204 && status_ != 304; }
  bool sends_body() const noexcept { return sends_length() && !head_only_ && !has_external_; }
  uint64_t length() const noexcept { return has_external_ ? external_length_ : body_.size(); }
  char* write(char* p) const noexcept;

  std::array<Header, kMaxHeaders> headers_;
  std::string_view body_;
  std::string_view date_;
  uint64_t external_length_ = 0;
  uint32_t header_count_ = 0;
  int status_ = 200;
  bool keep_alive_ = true;
  bool head_only_ = false;
  bool has_external_ = false;
};

// Appends a complete response with `body` (and Content-Type, when not empty): the replies to errors
// such as 400, 404, 413 and 431, and other one-line answers.
void write_simple_response(std::string& out, int status, std::string_view content_type, std::string_view body,
                           bool keep_alive);

// Appends a 405 with the Allow header (RFC 9110 §15.5.6: a 405 MUST carry Allow).
void write_method_not_allowed(std::string& out, HttpMethodSet allowed, bool keep_alive);

}  // namespace ringcast
