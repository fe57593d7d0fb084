#include <ringcast/net/http/http_request.hpp>


namespace ringcast {

namespace {

constexpr char ascii_lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? char(c + ('a' - 'A')) : c; }

constexpr int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr bool is_ows(char c) noexcept { return c == ' ' || c == '\t'; }

std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

// Percent-decodes `in` into `out` (capacity `cap`). nullopt on a bad escape or when the result does
// not fit.
std::optional<size_t> decode_bounded(std::string_view in, char* out, size_t cap, bool plus_as_space) noexcept {
  size_t j = 0;
  for (size_t i = 0; i < in.size(); ++i, ++j) {
    char c = in[i];
    if (c == '%') {
      if (in.size() - i < 3) return std::nullopt;
      const int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      c = char(hi * 16 + lo);
      i += 2;
    } else if (plus_as_space && c == '+') {
      c = ' ';
    }
    if (j == cap) return std::nullopt;
    out[j] = c;
  }
  return j;
}

// True when `raw` percent-decodes (with '+' as space) to exactly `name`; a bad escape never matches.
bool decoded_equals(std::string_view raw, std::string_view name) noexcept {
  size_t j = 0;
  for (size_t i = 0; i < raw.size(); ++i, ++j) {
    char c = raw[i];
    if (c == '+') {
      c = ' ';
    } else if (c == '%') {
      if (raw.size() - i < 3) return false;
      const int hi = hex_value(raw[i + 1]), lo = hex_value(raw[i + 2]);
      if (hi < 0 || lo < 0) return false;
      c = char(hi * 16 + lo);
      i += 2;
    }
    if (j >= name.size() || name[j] != c) return false;
  }
  return j == name.size();
}

constexpr std::string_view kMethodNames[] = {"GET",     "HEAD",    "POST",  "PUT", "DELETE",
                                             "PATCH",   "OPTIONS", "CONNECT", "TRACE"};

}  // namespace

HttpMethod http_method_from(std::string_view name) noexcept {
  switch (name.size()) {
    case 3:
      if (name == "GET") return HttpMethod::get;
      if (name == "PUT") return HttpMethod::put;
      break;
    case 4:
      if (name == "POST") return HttpMethod::post;
      if (name == "HEAD") return HttpMethod::head;
      break;
    case 5:
      if (name == "PATCH") return HttpMethod::patch;
      if (name == "TRACE") return HttpMethod::trace;
      break;
    case 6:
      if (name == "DELETE") return HttpMethod::del;
      break;
    case 7:
      if (name == "OPTIONS") return HttpMethod::options;
      if (name == "CONNECT") return HttpMethod::connect;
      break;
    default:
      break;
  }
  return HttpMethod::other;
}

std::string_view http_method_name(HttpMethod m) noexcept {
  const auto i = size_t(m);
  return i < std::size(kMethodNames) ? kMethodNames[i] : std::string_view{};
}

void append_allow(std::string& out, HttpMethodSet set) {
  bool first = true;
  for (size_t i = 0; i < std::size(kMethodNames); ++i) {
    if (!(set & http_method_bit(HttpMethod(i)))) continue;
    if (!first) out += ", ";
    out += kMethodNames[i];
    first = false;
  }
}

bool ascii_iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

bool header_has_token(std::string_view value, std::string_view token) noexcept {
  while (!value.empty()) {
    const size_t comma = value.find(',');
    const std::string_view element = trim_ows(value.substr(0, comma));
    if (ascii_iequals(element, token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

std::optional<size_t> percent_decode(std::string_view in, char* out, bool plus_as_space) noexcept {
  return decode_bounded(in, out, in.size(), plus_as_space);
}

const HttpHeader* HttpRequest::find_header(std::string_view name) const noexcept {
  for (uint32_t i = 0; i < header_count_; ++i) {
    if (ascii_iequals(headers_[i].name, name)) return &headers_[i];
  }
  return nullptr;
}

std::string_view HttpRequest::header(std::string_view name) const noexcept {
  const HttpHeader* h = find_header(name);
  return h ? h->value : std::string_view{};
}

bool HttpRequest::connection_has(std::string_view token) const noexcept {
  for (uint32_t i = 0; i < header_count_; ++i) {
    if (ascii_iequals(headers_[i].name, "connection") && header_has_token(headers_[i].value, token)) return true;
  }
  return false;
}

bool HttpRequest::keep_alive() const noexcept {
  if (connection_close_) return false;
  return version_ == HttpVersion::http11 || connection_keep_alive_;
}

std::optional<std::string_view> HttpRequest::query_param_raw(std::string_view name) const noexcept {
  std::string_view rest = query_;
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    const size_t eq = pair.find('=');
    const std::string_view key = pair.substr(0, eq);
    if (decoded_equals(key, name)) {
      return eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    }
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

std::optional<std::string_view> HttpRequest::query_param(std::string_view name, std::span<char> buf) const noexcept {
  const auto raw = query_param_raw(name);
  if (!raw) return std::nullopt;
  const auto n = decode_bounded(*raw, buf.data(), buf.size(), true);
  if (!n) return std::nullopt;
  return std::string_view(buf.data(), *n);
}

bool HttpRequest::query_param(std::string_view name, std::string& out) const {
  out.clear();
  const auto raw = query_param_raw(name);
  if (!raw) return false;
  out.resize(raw->size());
  const auto n = percent_decode(*raw, out.data(), true);
  if (!n) {
    out.clear();
    return false;
  }
  out.resize(*n);
  return true;
}

int http_status_for_body(const HttpRequest& request, uint64_t limit) noexcept {
  return (request.body_kind() == BodyKind::length && request.content_length() > limit) ? 413 : 0;
}

}  // namespace ringcast
