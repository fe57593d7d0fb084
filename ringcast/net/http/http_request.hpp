#pragma once
// HttpRequest: one parsed HTTP/1.1 request head (RFC 9112 §3, §5), as views into the caller's bytes.
//
// Zero copy: every string_view points into the buffer that was handed to HttpParser::parse, so a request
// is valid only while that buffer is. Filled by HttpParser; the rest of the code only reads it.
//
// Size: about 3.3 KB (100 header slots of 32 bytes). It is scratch space, one per shard (or on the
// stack of the code that parses), never a member of a per-connection struct. Not thread-safe; used by
// the thread that parsed it.
//
// Also here: the small text functions that other HTTP code shares (case-insensitive compare, comma-list
// tokens, percent-decoding) and the method enum.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace ringcast {

// RFC 9110 §9: methods the framework knows by name. `other` is any other (valid token) method. `any`
// never comes from a request: HttpRouter uses it for routes that accept every method.
enum class HttpMethod : uint8_t { get, head, post, put, del, patch, options, connect, trace, other, any };
inline constexpr size_t kHttpMethodCount = 10;  // get .. other; `any` is not counted

// A set of methods, one bit per HttpMethod (bit 1 << int(method)); used for the Allow header.
using HttpMethodSet = uint16_t;
constexpr HttpMethodSet http_method_bit(HttpMethod m) noexcept { return HttpMethodSet(1u << unsigned(m)); }

// RFC 9110 §9.1: method names are case-sensitive ("get" is `other`).
HttpMethod http_method_from(std::string_view name) noexcept;
// "GET", "DELETE", ...; "" for `other` and `any`.
std::string_view http_method_name(HttpMethod m) noexcept;
// Appends the Allow header value for `set` (RFC 9110 §10.2.1), e.g. "GET, HEAD, POST", in enum order.
void append_allow(std::string& out, HttpMethodSet set);

enum class HttpVersion : uint8_t { http10, http11 };

// RFC 9112 §6.3: how the request body is delimited.
enum class BodyKind : uint8_t { none, length, chunked };

struct HttpHeader {
  std::string_view name;   // as received (case preserved)
  std::string_view value;  // leading and trailing OWS removed
};

inline constexpr size_t kMaxHttpHeaders = 100;

// ASCII case-insensitive equality (header names, tokens).
bool ascii_iequals(std::string_view a, std::string_view b) noexcept;

// True when the comma-separated list `value` (RFC 9110 §5.6.1: elements separated by "," with optional
// whitespace, empty elements ignored) has an element equal to `token`, case-insensitively.
// Example: header_has_token("keep-alive, Upgrade", "upgrade") is true.
bool header_has_token(std::string_view value, std::string_view token) noexcept;

// RFC 3986 §2.1 percent-decoding of `in` into `out`, which must have room for in.size() bytes (decoding
// in place, out == in.data(), is allowed). With `plus_as_space`, '+' becomes ' ' (form encoding, used
// for query strings). Returns the decoded length, or nullopt when a '%' is not followed by two hex
// digits.
std::optional<size_t> percent_decode(std::string_view in, char* out, bool plus_as_space) noexcept;

class HttpRequest {
 public:
  std::string_view method() const noexcept { return method_; }
  HttpMethod method_id() const noexcept { return method_id_; }
  // The request-target as received (RFC 9112 §3.2): origin-form "/a?b", absolute-form
  // "http://host/a?b", or "*" (asterisk-form, OPTIONS only).
  std::string_view target() const noexcept { return target_; }
  // The path part of the target, still percent-encoded: "/a" for "/a?b" and for "http://host/a?b";
  // "/" for "http://host"; "*" for the asterisk-form.
  std::string_view path() const noexcept { return path_; }
  // What follows the first '?', without the '?'; empty when there is none.
  std::string_view query() const noexcept { return query_; }
  HttpVersion version() const noexcept { return version_; }

  std::span<const HttpHeader> headers() const noexcept { return {headers_.data(), header_count_}; }
  // The first header named `name` (case-insensitive), or nullptr.
  const HttpHeader* find_header(std::string_view name) const noexcept;
  // The value of the first header named `name`, or an empty view when there is none.
  std::string_view header(std::string_view name) const noexcept;
  // True when any Connection header lists `token` (e.g. "upgrade").
  bool connection_has(std::string_view token) const noexcept;

  // RFC 9112 §9.3: HTTP/1.1 stays open unless "Connection: close"; HTTP/1.0 closes unless
  // "Connection: keep-alive".
  bool keep_alive() const noexcept;

  BodyKind body_kind() const noexcept { return body_kind_; }
  // The Content-Length when body_kind() is `length` (may be 0), else 0.
  uint64_t content_length() const noexcept { return content_length_; }

  // The still-encoded value of the first query parameter named `name` ("a" in "a&b=1" has value "");
  // names are compared after decoding. nullopt when absent.
  std::optional<std::string_view> query_param_raw(std::string_view name) const noexcept;
  // The decoded value ('+' is a space) written into `buf`; nullopt when absent, badly encoded, or longer
  // than `buf`. No allocation.
  std::optional<std::string_view> query_param(std::string_view name, std::span<char> buf) const noexcept;
  // The decoded value assigned to `out`; false (and `out` cleared) when absent or badly encoded.
  bool query_param(std::string_view name, std::string& out) const;

 private:
  friend class HttpParser;

  std::string_view method_;
  std::string_view target_;
  std::string_view path_;
  std::string_view query_;
  uint64_t content_length_ = 0;
  uint32_t header_count_ = 0;
  HttpMethod method_id_ = HttpMethod::other;
  HttpVersion version_ = HttpVersion::http11;
  BodyKind body_kind_ = BodyKind::none;
  bool connection_close_ = false;       // a Connection header lists "close"
  bool connection_keep_alive_ = false;  // a Connection header lists "keep-alive"
  std::array<HttpHeader, kMaxHttpHeaders> headers_;
};

// The status to answer before reading a body larger than the route accepts: 413 when the request
// declares a Content-Length above `limit` (RFC 9110 §15.5.14), else 0. Chunked bodies are limited
// while they are decoded (ChunkedDecoder).
int http_status_for_body(const HttpRequest& request, uint64_t limit) noexcept;

}  // namespace ringcast
