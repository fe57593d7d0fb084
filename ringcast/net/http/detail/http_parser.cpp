#include <ringcast/net/http/detail/http_parser.hpp>

#include <algorithm>
#include <array>
#include <cassert>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace ringcast {

namespace {

// RFC 9110 §5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" /
// "|" / "~" / DIGIT / ALPHA.
constexpr std::array<bool, 256> kTchar = [] {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[size_t(c)] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[size_t(c)] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[size_t(c)] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[uint8_t(c)] = true;
  return t;
}();

inline bool is_tchar(char c) noexcept { return kTchar[uint8_t(c)]; }
inline bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
inline bool is_alpha(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
inline bool is_ows(char c) noexcept { return c == ' ' || c == '\t'; }

std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

// The first index in [pos, end) whose byte may not appear in a request line (RFC 9112 §3: SP and
// VCHAR only), or `end`. 16 bytes a step: a request line is mostly a long target.
inline size_t scan_request_line(const char* p, size_t pos, size_t end) noexcept {
#if defined(__SSE2__)
  const __m128i k1f = _mm_set1_epi8(0x1f);
  const __m128i k7f = _mm_set1_epi8(0x7f);
  while (end - pos >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + pos));
    const __m128i ctl = _mm_cmpeq_epi8(_mm_min_epu8(v, k1f), v);  // v <= 0x1f
    const __m128i del = _mm_cmpeq_epi8(v, k7f);
    const unsigned mask = unsigned(_mm_movemask_epi8(_mm_or_si128(ctl, del))) | unsigned(_mm_movemask_epi8(v));
    if (mask != 0) return pos + unsigned(__builtin_ctz(mask));
    pos += 16;
  }
#endif
  for (; pos < end; ++pos) {
    const auto c = uint8_t(p[pos]);
    if (c < 0x20 || c >= 0x7f) return pos;
  }
  return pos;
}

// The first index in [pos, end) whose byte may not appear in a field value (RFC 9110 §5.5: VCHAR,
// obs-text, SP, HTAB), or `end`.
inline size_t scan_field_value(const char* p, size_t pos, size_t end) noexcept {
#if defined(__SSE2__)
  const __m128i k1f = _mm_set1_epi8(0x1f);
  const __m128i k7f = _mm_set1_epi8(0x7f);
  while (end - pos >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + pos));
    const __m128i ctl = _mm_cmpeq_epi8(_mm_min_epu8(v, k1f), v);
    const __m128i del = _mm_cmpeq_epi8(v, k7f);
    const unsigned mask = unsigned(_mm_movemask_epi8(_mm_or_si128(ctl, del)));
    if (mask == 0) {
      pos += 16;
      continue;
    }
    pos += unsigned(__builtin_ctz(mask));
    if (p[pos] != '\t') return pos;
    ++pos;
  }
#endif
  for (; pos < end; ++pos) {
    const auto c = uint8_t(p[pos]);
    if ((c < 0x20 && c != '\t') || c == 0x7f) return pos;
  }
  return pos;
}

// `name` equals `lower`, a lowercase literal of letters and '-', ignoring the case of `name`. Exact for
// tokens: the only other byte that ORs to '-' is CR.
inline bool name_is(std::string_view name, std::string_view lower) noexcept {
  if (name.size() != lower.size()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (char(name[i] | 0x20) != lower[i]) return false;
  }
  return true;
}

// RFC 9112 §3.2: origin-form ("/path?query"), absolute-form ("scheme://authority/path?query") or
// asterisk-form ("*", OPTIONS only). Authority-form (CONNECT) is not served.
HttpParseError parse_target(std::string_view target, HttpMethod method, std::string_view& path,
                            std::string_view& query) noexcept {
  std::string_view rest;
  if (target[0] == '/') {
    rest = target;
  } else if (target == "*") {
    if (method != HttpMethod::options) return HttpParseError::bad_target;
    path = target;
    query = {};
    return HttpParseError::none;
  } else {
    // RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
    if (!is_alpha(target[0])) return HttpParseError::bad_target;
    size_t i = 1;
    while (i < target.size() && (is_alpha(target[i]) || is_digit(target[i]) || target[i] == '+' ||
                                 target[i] == '-' || target[i] == '.')) {
      ++i;
    }
    if (target.substr(i, 3) != "://") return HttpParseError::bad_target;
    const size_t authority = i + 3;
    size_t end = target.find_first_of("/?", authority);
    if (end == std::string_view::npos) end = target.size();
    if (end == authority) return HttpParseError::bad_target;  // RFC 9110 §4.2.1: http(s) needs a host
    rest = target.substr(end);
  }
  const size_t q = rest.find('?');
  path = rest.substr(0, q);
  if (path.empty()) path = "/";  // RFC 9110 §4.2.3: an empty path is "/"
  query = q == std::string_view::npos ? std::string_view{} : rest.substr(q + 1);
  return HttpParseError::none;
}

// RFC 9110 §8.6: Content-Length = 1*DIGIT. A list ("5, 5", "5, 6") is refused, as conflicting or
// duplicate: §8.6 lets a recipient take identical values as one, but a server that does while a proxy
// in front of it refuses them, or reads only the first, no longer agrees with it where the body ends.
HttpParseError parse_content_length(std::string_view value, uint64_t& out) noexcept {
  bool first = true;
  for (;;) {
    const size_t comma = value.find(',');
    const std::string_view element = trim_ows(value.substr(0, comma));
    if (element.empty()) return HttpParseError::bad_content_length;
    uint64_t n = 0;
    for (const char c : element) {
      if (!is_digit(c)) return HttpParseError::bad_content_length;
      const auto d = uint64_t(c - '0');
      if (n > (UINT64_MAX - d) / 10) return HttpParseError::bad_content_length;  // overflow
      n = n * 10 + d;
    }
    if (!first && n != out) return HttpParseError::conflicting_content_length;
    out = n;
    if (comma == std::string_view::npos) return first ? HttpParseError::none : HttpParseError::duplicate_content_length;
    first = false;
    value.remove_prefix(comma + 1);
  }
}

// What the Transfer-Encoding field lines of one request say, in order (RFC 9112 §6.1).
struct Codings {
  bool present = false;
  bool malformed = false;     // a coding is not a token, chunked repeats or has parameters
  bool chunked_last = false;  // the last coding so far is chunked
  bool chunked_seen = false;
  bool other = false;         // a coding other than chunked
};

void scan_codings(std::string_view value, Codings& c) noexcept {
  c.present = true;
  for (;;) {
    const size_t comma = value.find(',');
    const std::string_view element = trim_ows(value.substr(0, comma));
    if (!element.empty()) {  // RFC 9110 §5.6.1: empty list elements are ignored
      const size_t semi = element.find(';');
      const std::string_view name = trim_ows(element.substr(0, semi));
      const bool has_params = semi != std::string_view::npos;
      if (name.empty() || !std::all_of(name.begin(), name.end(), is_tchar)) {
        c.malformed = true;
      } else if (ascii_iequals(name, "chunked")) {
        // RFC 9112 §7: chunked is applied once, and has no parameters.
        if (c.chunked_seen || has_params) c.malformed = true;
        c.chunked_seen = true;
        c.chunked_last = true;
      } else {
        c.other = true;
        c.chunked_last = false;
      }
    }
    if (comma == std::string_view::npos) return;
    value.remove_prefix(comma + 1);
  }
}

}  // namespace

int http_status_for(HttpParseError error) noexcept {
  switch (error) {
    case HttpParseError::none: return 0;
    case HttpParseError::unsupported_version: return 505;
    case HttpParseError::request_line_too_long: return 414;
    case HttpParseError::header_section_too_large:
    case HttpParseError::too_many_headers: return 431;
    case HttpParseError::unsupported_transfer_encoding: return 501;
    default: return 400;
  }
}

std::string_view http_parse_error_name(HttpParseError error) noexcept {
  switch (error) {
    case HttpParseError::none: return "none";
    case HttpParseError::bad_line_ending: return "bad line ending (bare CR or LF)";
    case HttpParseError::bad_request_line: return "malformed request line";
    case HttpParseError::bad_method: return "method is not a token";
    case HttpParseError::bad_target: return "malformed request target";
    case HttpParseError::bad_version: return "malformed HTTP version";
    case HttpParseError::unsupported_version: return "unsupported HTTP version";
    case HttpParseError::request_line_too_long: return "request line too long";
    case HttpParseError::bad_header_name: return "malformed field name";
    case HttpParseError::space_before_colon: return "whitespace before colon";
    case HttpParseError::obs_fold: return "obsolete line folding";
    case HttpParseError::bad_header_value: return "control character in field value";
    case HttpParseError::header_section_too_large: return "header section too large";
    case HttpParseError::too_many_headers: return "too many header fields";
    case HttpParseError::missing_host: return "missing Host";
    case HttpParseError::duplicate_host: return "more than one Host";
    case HttpParseError::empty_host: return "empty Host";
    case HttpParseError::bad_content_length: return "malformed Content-Length";
    case HttpParseError::conflicting_content_length: return "conflicting Content-Length values";
    case HttpParseError::duplicate_content_length: return "Content-Length given more than once";
    case HttpParseError::bad_transfer_encoding: return "chunked is not the final transfer coding";
    case HttpParseError::unsupported_transfer_encoding: return "unsupported transfer coding";
    case HttpParseError::length_and_chunked: return "both Content-Length and Transfer-Encoding";
    case HttpParseError::chunked_in_http10: return "Transfer-Encoding in HTTP/1.0";
  }
  return "unknown";
}

HttpParseResult HttpParser::fail(HttpParseError error) noexcept {
  reset();
  return {ParseStatus::error, 0, http_status_for(error), error};
}

HttpParseResult HttpParser::parse(std::string_view data, HttpRequest& out) noexcept {
  assert(data.size() >= pos_ && "parse() must see the bytes of the previous call again");
  if (data.size() < pos_) reset();  // a caller bug; never read past `data` because of it
  const bool fresh = pos_ == 0;
  if (fresh) reset();
  HttpParseResult result = run(data, out, fresh);
  if (result.status == ParseStatus::complete && !fresh) {
    // The head came in pieces, and views from earlier calls would point into buffers that are gone:
    // one more pass over the whole head fills `out`. It ends at the same byte.
    reset();
    result = run(data, out, true);
    assert(result.status != ParseStatus::incomplete);
  }
  return result;
}

HttpParseResult HttpParser::run(std::string_view data, HttpRequest& out, bool record) noexcept {
  const char* p = data.data();
  const size_t end = std::min(data.size(), kMaxHeadBytes);  // bytes past the limit are never examined
  size_t pos = pos_;
  size_t ls = line_start_;
  size_t colon = 0;
  Phase phase = phase_;
  unsigned count = headers_;

  auto need_more = [&]() -> HttpParseResult {
    if (data.size() > kMaxHeadBytes) return fail(HttpParseError::header_section_too_large);
    pos_ = uint32_t(pos);
    line_start_ = uint32_t(ls);
    phase_ = phase;
    headers_ = uint8_t(count);
    return {};
  };

  for (;;) {
    switch (phase) {
      case kLeading: {
        // RFC 9112 §2.2: empty lines received before the request line are ignored.
        if (pos == end) return need_more();
        const char c = p[pos];
        if (c == '\r') {
          if (pos + 1 == end) return need_more();
          if (p[pos + 1] != '\n') return fail(HttpParseError::bad_line_ending);
          pos += 2;
          ls = pos;
          continue;
        }
        if (c == '\n') return fail(HttpParseError::bad_line_ending);  // RFC 9112 §2.2: CRLF only
        phase = kRequestLine;
        ls = pos;
        [[fallthrough]];
      }
      case kRequestLine: {
        // The byte at ls + kMaxRequestLine is the last one looked at: it must be the CR.
        const size_t limit = std::min(end, ls + kMaxRequestLine + 1);
        pos = scan_request_line(p, pos, limit);
        if (pos == limit) {
          if (limit == ls + kMaxRequestLine + 1) return fail(HttpParseError::request_line_too_long);
          return need_more();
        }
        if (p[pos] != '\r') {
          if (pos - ls >= kMaxRequestLine) return fail(HttpParseError::request_line_too_long);
          return fail(p[pos] == '\n' ? HttpParseError::bad_line_ending : HttpParseError::bad_request_line);
        }
        if (pos + 1 == end) return need_more();
        if (p[pos + 1] != '\n') return fail(HttpParseError::bad_line_ending);
        const HttpParseError e = parse_request_line(std::string_view(p + ls, pos - ls), out);
        if (e != HttpParseError::none) return fail(e);
        pos += 2;
        ls = pos;
        phase = kFieldName;
        continue;
      }
      case kFieldName: {
        if (pos == ls) {
          if (pos == end) return need_more();
          const char c = p[pos];
          if (c == '\r') {  // the empty line that ends the head
            if (pos + 1 == end) return need_more();
            if (p[pos + 1] != '\n') return fail(HttpParseError::bad_line_ending);
            pos += 2;
            if (!record) return {ParseStatus::complete, pos, 0, HttpParseError::none};
            reset();
            out.header_count_ = count;
            const HttpParseError e = check_head(out);
            if (e != HttpParseError::none) return fail(e);
            return {ParseStatus::complete, pos, 0, HttpParseError::none};
          }
          // RFC 9112 §5.2: obs-fold is refused; §2.2: so is whitespace before the first field line.
          if (c == ' ' || c == '\t') return fail(HttpParseError::obs_fold);
          if (count == kMaxHeaders) return fail(HttpParseError::too_many_headers);
        }
        while (pos < end && is_tchar(p[pos])) ++pos;  // names are short: a table beats SIMD here
        if (pos == end) return need_more();
        const char c = p[pos];
        if (c != ':' || pos == ls) {
          // RFC 9112 §5.1: no whitespace is allowed between the field name and colon.
          if (c == ' ' || c == '\t') return fail(HttpParseError::space_before_colon);
          if (c == '\n') return fail(HttpParseError::bad_line_ending);
          return fail(HttpParseError::bad_header_name);
        }
        colon = pos++;
        phase = kFieldValue;
        [[fallthrough]];
      }
      case kFieldValue: {
        pos = scan_field_value(p, pos, end);
        if (pos == end) return need_more();
        if (p[pos] != '\r') {
          return fail(p[pos] == '\n' ? HttpParseError::bad_line_ending : HttpParseError::bad_header_value);
        }
        if (pos + 1 == end) return need_more();
        if (p[pos + 1] != '\n') return fail(HttpParseError::bad_line_ending);
        if (record) {
          // RFC 9112 §5: OWS around the value is not part of it.
          out.headers_[count] = {std::string_view(p + ls, colon - ls),
                                 trim_ows(std::string_view(p + colon + 1, pos - colon - 1))};
        }
        ++count;
        pos += 2;
        ls = pos;
        phase = kFieldName;
        continue;
      }
    }
  }
}

// RFC 9112 §3: request-line = method SP request-target SP HTTP-version. `line` holds SP and VCHAR only.
HttpParseError HttpParser::parse_request_line(std::string_view line, HttpRequest& out) noexcept {
  size_t i = 0;
  while (i < line.size() && is_tchar(line[i])) ++i;
  if (i == line.size()) return HttpParseError::bad_request_line;
  if (i == 0 || line[i] != ' ') return HttpParseError::bad_method;
  const std::string_view method = line.substr(0, i);
  const size_t t = i + 1;
  const size_t sp = line.find(' ', t);
  if (sp == std::string_view::npos) return HttpParseError::bad_request_line;  // no version (HTTP/0.9)
  const std::string_view target = line.substr(t, sp - t);
  if (target.empty()) return HttpParseError::bad_target;
  const std::string_view v = line.substr(sp + 1);
  // RFC 9112 §2.3: HTTP-version = "HTTP" "/" DIGIT "." DIGIT, case-sensitive.
  if (v.size() != 8 || v.substr(0, 5) != "HTTP/" || !is_digit(v[5]) || v[6] != '.' || !is_digit(v[7])) {
    return v.find(' ') != std::string_view::npos ? HttpParseError::bad_request_line : HttpParseError::bad_version;
  }
  if (v[5] != '1' || (v[7] != '0' && v[7] != '1')) return HttpParseError::unsupported_version;
  out.version_ = v[7] == '1' ? HttpVersion::http11 : HttpVersion::http10;
  out.method_ = method;
  out.method_id_ = http_method_from(method);
  out.target_ = target;
  return parse_target(target, out.method_id_, out.path_, out.query_);
}

HttpParseError HttpParser::check_head(HttpRequest& r) noexcept {
  unsigned hosts = 0;
  bool empty_host = false;
  bool have_length = false;
  uint64_t length = 0;
  Codings codings;
  r.connection_close_ = false;
  r.connection_keep_alive_ = false;
  for (const HttpHeader& h : r.headers()) {
    switch (h.name.size()) {
      case 4:
        if (name_is(h.name, "host")) {
          ++hosts;
          empty_host |= h.value.empty();
        }
        break;
      case 10:
        if (name_is(h.name, "connection")) {
          r.connection_close_ |= header_has_token(h.value, "close");
          r.connection_keep_alive_ |= header_has_token(h.value, "keep-alive");
        }
        break;
      case 14:
        if (name_is(h.name, "content-length")) {
          uint64_t n = 0;
          const HttpParseError e = parse_content_length(h.value, n);
          if (e != HttpParseError::none) return e;
          // RFC 9112 §6.3: differing Content-Length values make the framing unreliable; equal ones
          // are refused too (see parse_content_length).
          if (have_length) {
            return n != length ? HttpParseError::conflicting_content_length : HttpParseError::duplicate_content_length;
          }
          have_length = true;
          length = n;
        }
        break;
      case 17:
        if (name_is(h.name, "transfer-encoding")) scan_codings(h.value, codings);
        break;
      default:
        break;
    }
  }
  // RFC 9112 §3.2: an HTTP/1.1 request has exactly one Host; more than one is refused in any version.
  if (hosts > 1) return HttpParseError::duplicate_host;
  if (hosts == 0 && r.version_ == HttpVersion::http11) return HttpParseError::missing_host;
  // RFC 9112 §3.3: the target URI's authority is the Host value, and RFC 9110 §4.2.1 has a recipient
  // reject an http URI with an empty host; an empty Host (allowed only for URIs without an authority,
  // which this server does not serve) is "a Host header field with an invalid field value": 400.
  if (empty_host) return HttpParseError::empty_host;
  r.body_kind_ = BodyKind::none;
  r.content_length_ = 0;
  if (codings.present) {
    // RFC 9112 §6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing.
    if (r.version_ == HttpVersion::http10) return HttpParseError::chunked_in_http10;
    // RFC 9112 §6.3: both framings at once is how requests are smuggled.
    if (have_length) return HttpParseError::length_and_chunked;
    // RFC 9112 §6.3: chunked must be the final coding, else the length cannot be known.
    if (codings.malformed || !codings.chunked_last) return HttpParseError::bad_transfer_encoding;
    // RFC 9112 §6.1: a coding we do not implement is 501.
    if (codings.other) return HttpParseError::unsupported_transfer_encoding;
    r.body_kind_ = BodyKind::chunked;
  } else if (have_length) {
    r.body_kind_ = BodyKind::length;
    r.content_length_ = length;
  }
  return HttpParseError::none;
}

}  // namespace ringcast
