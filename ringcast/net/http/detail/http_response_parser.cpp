#include <ringcast/net/http/detail/http_response_parser.hpp>

namespace ringcast {
namespace {

bool is_tchar(char c) noexcept {
  // RFC 9110 §5.6.2 token characters.
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

bool is_field_char(char c) noexcept {
  const auto u = static_cast<unsigned char>(c);
  return u == '\t' || (u >= 0x20 && u != 0x7f);  // VCHAR, SP, HTAB, obs-text
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

HttpResponseHead failed(std::string_view why) noexcept {
  HttpResponseHead h;
  h.status = HttpResponseHead::Status::error;
  h.error = why;
  return h;
}

}  // namespace

std::string_view HttpResponseHead::header(std::string_view name) const noexcept {
  for (size_t i = 0; i < count_; ++i) {
    if (ascii_iequals(headers_[i].name, name)) return headers_[i].value;
  }
  return {};
}

bool HttpResponseHead::header_has_token(std::string_view name, std::string_view token) const noexcept {
  for (size_t i = 0; i < count_; ++i) {
    if (ascii_iequals(headers_[i].name, name) && ringcast::header_has_token(headers_[i].value, token)) return true;
  }
  return false;
}

HttpResponseHead HttpResponseHead::parse(std::string_view data) noexcept {
  const size_t end = data.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    if (data.size() > kMaxHeadBytes) return failed("response head too large");
    // Fail early on a first line that cannot be a status line.
    const std::string_view prefix = data.substr(0, 5);
    if (prefix != std::string_view("HTTP/").substr(0, prefix.size())) return failed("not an HTTP response");
    return HttpResponseHead{};
  }
  if (end + 4 > kMaxHeadBytes) return failed("response head too large");
  HttpResponseHead h;
  const std::string_view head = data.substr(0, end + 2);  // every line with its CRLF
  size_t pos = head.find("\r\n");
  const std::string_view line = head.substr(0, pos);
  // status-line = HTTP-version SP status-code SP [ reason-phrase ]  (RFC 9112 §4)
  if (line.size() < 12 || line.substr(0, 5) != "HTTP/" || line[6] != '.' || line[8] != ' ' || line[5] < '0' ||
      line[5] > '9' || line[7] < '0' || line[7] > '9') {
    return failed("bad status line");
  }
  if (line[5] != '1') return failed("not HTTP/1.x");
  int code = 0;
  for (int i = 9; i < 12; ++i) {
    if (line[i] < '0' || line[i] > '9') return failed("bad status code");
    code = code * 10 + (line[i] - '0');
  }
  if (code < 100) return failed("bad status code");
  if (line.size() > 12 && line[12] != ' ') return failed("bad status line");
  for (char c : line) {
    if (!is_field_char(c)) return failed("bad status line");
  }
  h.code = code;
  h.reason = line.size() > 13 ? line.substr(13) : std::string_view{};
  pos += 2;
  while (pos < head.size()) {
    const size_t eol = head.find("\r\n", pos);
    const std::string_view field = head.substr(pos, eol - pos);
    pos = eol + 2;
    const size_t colon = field.find(':');
    if (colon == std::string_view::npos || colon == 0) return failed("bad header line");
    const std::string_view name = field.substr(0, colon);
    for (char c : name) {
      if (!is_tchar(c)) return failed("bad header name");  // also refuses obs-fold and "Name :"
    }
    const std::string_view value = field.substr(colon + 1);
    for (char c : value) {
      if (!is_field_char(c)) return failed("bad header value");
    }
    if (h.count_ == h.headers_.size()) return failed("too many headers");
    h.headers_[h.count_++] = HttpHeader{name, trim(value)};
  }
  // A bare CR or LF, or a NUL, inside a line fails the character checks above.
  h.status = Status::complete;
  h.head_bytes = end + 4;
  return h;
}

}  // namespace ringcast
