#include <ringcast/net/http/http_response.hpp>

#include <cassert>
#include <charconv>
#include <cstring>

namespace ringcast {

namespace {

constexpr bool is_tchar(char c) noexcept {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// RFC 9110 §5.5: field-value bytes are VCHAR, obs-text, SP and HTAB.
constexpr bool is_value_byte(char c) noexcept {
  const auto u = uint8_t(c);
  return (u >= 0x20 && u != 0x7f) || u == '\t';
}

constexpr size_t decimal_digits(uint64_t v) noexcept {
  size_t n = 1;
  while (v >= 10) {
    v /= 10;
    ++n;
  }
  return n;
}

char* put(char* p, std::string_view s) noexcept {
  if (!s.empty()) std::memcpy(p, s.data(), s.size());
  return p + s.size();
}

constexpr std::string_view kCrlf = "\r\n";
constexpr std::string_view kContentLength = "Content-Length: ";
constexpr std::string_view kConnectionClose = "Connection: close\r\n";
constexpr std::string_view kDate = "Date: ";

}  // namespace

std::string_view http_reason_phrase(int status) noexcept {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 203: return "Non-Authoritative Information";
    case 204: return "No Content";
    case 205: return "Reset Content";
    case 206: return "Partial Content";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 421: return "Misdirected Request";
    case 422: return "Unprocessable Content";
    case 426: return "Upgrade Required";
    case 428: return "Precondition Required";            // RFC 6585
    case 429: return "Too Many Requests";                // RFC 6585
    case 431: return "Request Header Fields Too Large";  // RFC 6585
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "";
  }
}

std::string_view format_http_date(std::time_t t, std::span<char, kHttpDateSize> buf) noexcept {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::tm tm{};
  gmtime_r(&t, &tm);
  auto two = [](char* p, int v) {
    p[0] = char('0' + v / 10);
    p[1] = char('0' + v % 10);
  };
  char* p = buf.data();
  std::memcpy(p, kDays[tm.tm_wday], 3);
  p[3] = ',';
  p[4] = ' ';
  two(p + 5, tm.tm_mday);
  p[7] = ' ';
  std::memcpy(p + 8, kMonths[tm.tm_mon], 3);
  p[11] = ' ';
  const int year = (tm.tm_year + 1900) % 10000;
  two(p + 12, year / 100);
  two(p + 14, year % 100);
  p[16] = ' ';
  two(p + 17, tm.tm_hour);
  p[19] = ':';
  two(p + 20, tm.tm_min);
  p[22] = ':';
  two(p + 23, tm.tm_sec);
  std::memcpy(p + 25, " GMT", 4);
  return {buf.data(), kHttpDateSize};
}

HttpResponse& HttpResponse::set_status(int status) noexcept {
  assert(status >= 100 && status <= 999 && "RFC 9110 §15: a status code is three digits");
  status_ = (status >= 100 && status <= 999) ? status : 500;
  return *this;
}

bool HttpResponse::add_header(std::string_view name, std::string_view value) noexcept {
  if (header_count_ == kMaxHeaders || name.empty()) return false;
  for (const char c : name) {
    if (!is_tchar(c)) return false;
  }
  for (const char c : value) {
    if (!is_value_byte(c)) return false;
  }
  if (ascii_iequals(name, "content-length") || ascii_iequals(name, "transfer-encoding")) return false;
  headers_[header_count_++] = {name, value};
  return true;
}

size_t HttpResponse::serialized_size() const noexcept {
  // "HTTP/1.1 200 " reason CRLF
  size_t n = 13 + http_reason_phrase(status_).size() + 2;
  for (uint32_t i = 0; i < header_count_; ++i) n += headers_[i].name.size() + 2 + headers_[i].value.size() + 2;
  if (!date_.empty()) n += kDate.size() + date_.size() + 2;
  if (sends_length()) n += kContentLength.size() + decimal_digits(length()) + 2;
  if (!keep_alive_) n += kConnectionClose.size();
  n += 2;
  if (sends_body()) n += body_.size();
  return n;
}

char* HttpResponse::write(char* p) const noexcept {
  p = put(p, "HTTP/1.1 ");
  p[0] = char('0' + status_ / 100);
  p[1] = char('0' + status_ / 10 % 10);
  p[2] = char('0' + status_ % 10);
  p[3] = ' ';
  p = put(p + 4, http_reason_phrase(status_));
  p = put(p, kCrlf);
  for (uint32_t i = 0; i < header_count_; ++i) {
    p = put(p, headers_[i].name);
    p = put(p, ": ");
    p = put(p, headers_[i].value);
    p = put(p, kCrlf);
  }
  if (!date_.empty()) {
    p = put(p, kDate);
    p = put(p, date_);
    p = put(p, kCrlf);
  }
  if (sends_length()) {
    p = put(p, kContentLength);
    p = std::to_chars(p, p + 20, length()).ptr;
    p = put(p, kCrlf);
  }
  if (!keep_alive_) p = put(p, kConnectionClose);
  p = put(p, kCrlf);
  if (sends_body()) p = put(p, body_);
  return p;
}

void HttpResponse::serialize(std::string& out) const {
  const size_t n = serialized_size();
  const size_t at = out.size();
  out.resize(at + n);
  [[maybe_unused]] char* end = write(out.data() + at);
  assert(end == out.data() + at + n);
}

size_t HttpResponse::serialize(std::span<char> buf) const noexcept {
  const size_t n = serialized_size();
  if (n > buf.size()) return 0;
  [[maybe_unused]] char* end = write(buf.data());
  assert(end == buf.data() + n);
  return n;
}

void write_simple_response(std::string& out, int status, std::string_view content_type, std::string_view body,
                           bool keep_alive) {
  HttpResponse r(status);
  if (!content_type.empty()) r.add_header("Content-Type", content_type);
  r.body(body).keep_alive(keep_alive).serialize(out);
}

void write_method_not_allowed(std::string& out, HttpMethodSet allowed, bool keep_alive) {
  std::array<char, 96> allow{};  // every known method: "GET, HEAD, POST, ..., TRACE" is 62 bytes
  size_t n = 0;
  for (size_t i = 0; i < kHttpMethodCount; ++i) {
    const std::string_view name = http_method_name(HttpMethod(i));
    if (name.empty() || !(allowed & http_method_bit(HttpMethod(i)))) continue;
    if (n != 0) {
      allow[n++] = ',';
      allow[n++] = ' ';
    }
    std::memcpy(allow.data() + n, name.data(), name.size());
    n += name.size();
  }
  HttpResponse r(405);
  r.add_header("Allow", std::string_view(allow.data(), n));
  r.body("").keep_alive(keep_alive).serialize(out);
}

}  // namespace ringcast
