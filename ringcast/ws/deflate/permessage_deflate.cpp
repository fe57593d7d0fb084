#include <ringcast/ws/deflate/permessage_deflate.hpp>

#include <algorithm>
#include <array>
#include <cstring>

namespace ringcast {
namespace {

constexpr std::string_view kExtensionName = "permessage-deflate";
constexpr std::string_view kServerNoContextTakeover = "server_no_context_takeover";
constexpr std::string_view kClientNoContextTakeover = "client_no_context_takeover";
constexpr std::string_view kServerMaxWindowBits = "server_max_window_bits";
constexpr std::string_view kClientMaxWindowBits = "client_max_window_bits";

// RFC 7230 §3.2.6: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" /
// "|" / "~" / DIGIT / ALPHA
bool is_tchar(char c) noexcept {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-': case '.':
    case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

bool is_ows(char c) noexcept { return c == ' ' || c == '\t'; }

// A parameter value after quoted-string unescaping. Values longer than the buffer are only ever invalid
// for permessage-deflate (its values are one or two digits), so they are reported as `overflow`.
struct ParamValue {
  bool present = false;
  bool overflow = false;
  std::string_view text;
};

// Tokenizer for RFC 6455 §9.1 (with RFC 7230 list and whitespace rules):
//   extension-list = 1#extension
//   extension      = extension-token *( ";" extension-param )
//   extension-param = token [ "=" (token | quoted-string) ]
// Empty list elements are skipped (RFC 7230 §7); optional whitespace is allowed around ",", ";" and "=".
class ExtensionList {
 public:
  explicit ExtensionList(std::string_view s) noexcept : s_(s) {}

  // Moves to the next non-empty element and reads its name. False at the end of the list.
  bool next(std::string_view& name) noexcept {
    while (pos_ < s_.size() && (is_ows(s_[pos_]) || s_[pos_] == ',')) ++pos_;
    if (pos_ >= s_.size()) return false;
    name = token();
    syntax_ok_ = !name.empty();
    if (!syntax_ok_) recover();
    return true;
  }

  // Reads the next parameter of the current element. False at the element's end, or on a syntax error
  // (then syntax_ok() is false and the list resumes at the next top-level comma).
  bool param(std::string_view& name, ParamValue& value) noexcept {
    if (!syntax_ok_) return false;
    skip_ows();
    if (pos_ >= s_.size() || s_[pos_] == ',') return false;
    if (s_[pos_] != ';') return fail();
    ++pos_;
    skip_ows();
    name = token();
    if (name.empty()) return fail();
    skip_ows();
    value = ParamValue{};
    if (pos_ < s_.size() && s_[pos_] == '=') {
      ++pos_;
      skip_ows();
      value.present = true;
      if (pos_ < s_.size() && s_[pos_] == '"') {
        if (!quoted(value)) return fail();
      } else {
        value.text = token();
        if (value.text.empty()) return fail();
      }
    }
    return true;
  }

  bool syntax_ok() const noexcept { return syntax_ok_; }

 private:
  void skip_ows() noexcept {
    while (pos_ < s_.size() && is_ows(s_[pos_])) ++pos_;
  }

  std::string_view token() noexcept {
    const std::size_t start = pos_;
    while (pos_ < s_.size() && is_tchar(s_[pos_])) ++pos_;
    return s_.substr(start, pos_ - start);
  }

  // RFC 7230 §3.2.6: quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE
  //   qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text; quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
  bool quoted(ParamValue& value) noexcept {
    ++pos_;  // opening quote
    std::size_t n = 0;
    while (pos_ < s_.size()) {
      auto c = static_cast<unsigned char>(s_[pos_++]);
      if (c == '"') {
        value.text = std::string_view(buf_.data(), n);
        return true;
      }
      if (c == '\\') {
        if (pos_ >= s_.size()) return false;
        c = static_cast<unsigned char>(s_[pos_++]);
        if (c != '\t' && (c < 0x20 || c == 0x7f)) return false;
      } else if (c != '\t' && (c < 0x20 || c == 0x7f)) {
        return false;
      }
      if (n < buf_.size()) {
        buf_[n++] = static_cast<char>(c);
      } else {
        value.overflow = true;
      }
    }
    return false;  // unterminated
  }

  bool fail() noexcept {
    syntax_ok_ = false;
    recover();
    return false;
  }

  // Skips the rest of a malformed element: up to the next comma outside a quoted string.
  void recover() noexcept {
    bool in_quotes = false;
    while (pos_ < s_.size()) {
      const char c = s_[pos_];
      if (in_quotes) {
        if (c == '\\') ++pos_;
        else if (c == '"') in_quotes = false;
      } else if (c == '"') {
        in_quotes = true;
      } else if (c == ',') {
        return;
      }
      ++pos_;
    }
    pos_ = s_.size();
  }

  std::string_view s_;
  std::size_t pos_ = 0;
  bool syntax_ok_ = true;
  std::array<char, 16> buf_{};
};

// RFC 7692 §7.1.2.1/§7.1.2.2: "a decimal integer value without leading zeroes between 8 to 15, inclusive".
// Returns 0 for anything else.
std::uint8_t parse_window_bits(const ParamValue& v) noexcept {
  if (v.overflow) return 0;
  const std::string_view s = v.text;
  if (s.size() == 1 && (s[0] == '8' || s[0] == '9')) return static_cast<std::uint8_t>(s[0] - '0');
  if (s.size() == 2 && s[0] == '1' && s[1] >= '0' && s[1] <= '5') return static_cast<std::uint8_t>(10 + (s[1] - '0'));
  return 0;
}

enum class Side : std::uint8_t { offer, response };

// Collects the parameters of one permessage-deflate element. RFC 7692 §7: an element with a parameter
// not defined for its side, a parameter with an invalid value, or the same parameter twice is invalid.
struct ParamCollector {
  DeflateParams params;
  bool valid = true;
  std::uint8_t seen = 0;

  void add(std::string_view name, const ParamValue& value, Side side) noexcept {
    std::uint8_t bit = 0;
    if (name == kServerNoContextTakeover) {
      bit = 1;
      params.server_no_context_takeover = true;
      if (value.present) valid = false;  // §7.1.1.1: "has no value"
    } else if (name == kClientNoContextTakeover) {
      bit = 2;
      params.client_no_context_takeover = true;
      if (value.present) valid = false;  // §7.1.1.2: "has no value"
    } else if (name == kServerMaxWindowBits) {
      bit = 4;
      // §7.1.2.1: a value is required in offers and responses alike.
      params.server_max_window_bits = value.present ? parse_window_bits(value) : 0;
      if (params.server_max_window_bits == 0) valid = false;
    } else if (name == kClientMaxWindowBits) {
      bit = 8;
      if (value.present) {
        params.client_max_window_bits = parse_window_bits(value);
        if (params.client_max_window_bits == 0) valid = false;
      } else if (side == Side::offer) {
        params.client_max_window_bits = kWindowBitsNoValue;  // §7.1.2.2: "no value or a decimal integer"
      } else {
        valid = false;  // §7.1.2.2: in a response it carries the limit, so it needs a value
      }
    } else {
      valid = false;  // unknown parameter
      return;
    }
    if (seen & bit) valid = false;  // duplicate parameter
    seen |= bit;
  }
};

// Reads the current element's parameters into a collector; false if the element is malformed.
bool collect(ExtensionList& list, ParamCollector& c, Side side) noexcept {
  std::string_view name;
  ParamValue value;
  while (list.param(name, value)) c.add(name, value, side);
  return list.syntax_ok();
}

// Skips the current element's parameters; false if the element is malformed.
bool skip(ExtensionList& list) noexcept {
  std::string_view name;
  ParamValue value;
  while (list.param(name, value)) {
  }
  return list.syntax_ok();
}

class Writer {
 public:
  Writer(char* out, std::size_t cap) noexcept : out_(out), cap_(cap) {}
  void put(std::string_view s) noexcept {
    const std::size_t n = std::min(s.size(), cap_ - size_);
    std::memcpy(out_ + size_, s.data(), n);
    size_ += n;
  }
  void put_param(std::string_view name, std::uint8_t bits) noexcept {
    put("; ");
    put(name);
    if (bits != 0 && bits != kWindowBitsNoValue) {
      char digits[3] = {'=', 0, 0};
      std::size_t n = 2;
      if (bits >= 10) {
        digits[1] = '1';
        digits[2] = static_cast<char>('0' + bits - 10);
        n = 3;
      } else {
        digits[1] = static_cast<char>('0' + bits);
      }
      put(std::string_view(digits, n));
    }
  }
  std::size_t size() const noexcept { return size_; }

 private:
  char* out_;
  std::size_t cap_;
  std::size_t size_ = 0;
};

// Decides whether the server accepts one valid offer, and with which parameters. `response` receives the
// parameters to write back (0 for a window parameter that is left out).
bool accept_offer(const DeflateParams& offer, const DeflateOptions& o, DeflateAgreement& a,
                  DeflateParams& response) noexcept {
  a = DeflateAgreement{};
  response = DeflateParams{};
  a.enabled = true;

  // §7.1.1.1: an offered server_no_context_takeover is accepted by answering it; the server MAY also
  // answer it unasked, which it does unless it keeps a dedicated compressor per connection.
  a.server_no_context_takeover = offer.server_no_context_takeover || !o.dedicated_compressor;

  // §7.1.1.2: "A server MAY include the client_no_context_takeover extension parameter in an extension
  // negotiation response", whether or not the offer had it.
  switch (o.client_context_takeover) {
    case ClientContextTakeover::forbid: a.client_no_context_takeover = true; break;
    case ClientContextTakeover::forbid_if_offered: a.client_no_context_takeover = offer.client_no_context_takeover; break;
    case ClientContextTakeover::allow: a.client_no_context_takeover = false; break;
  }

  // §7.1.2.1: accepted "with the same or smaller value as the offer"; the server MAY also limit its own
  // window unasked. A window of 8 is served by zlib's 9-bit window, whose matches never reach back more
  // than 512 - 262 = 250 bytes (see deflater.hpp).
  a.server_max_window_bits = o.server_max_window_bits;
  if (offer.server_max_window_bits != 0) {
    a.server_max_window_bits = std::min(offer.server_max_window_bits, o.server_max_window_bits);
    response.server_max_window_bits = a.server_max_window_bits;
  } else if (o.server_max_window_bits < kMaxWindowBits) {
    response.server_max_window_bits = a.server_max_window_bits;
  }

  // §7.1.2.2: "If a received extension negotiation offer doesn't have the client_max_window_bits extension
  // parameter, the corresponding extension negotiation response to the offer MUST NOT include" it. A
  // value in the offer is a promise the client keeps either way; the answer restates it (or less).
  if (offer.client_max_window_bits == 0) {
    // A client that cannot be limited sends up to 32 KiB windows. That only costs memory when its
    // inflater outlives a message, i.e. with client context takeover.
    if (o.client_max_window_bits < kMaxWindowBits && !a.client_no_context_takeover) return false;
    a.client_max_window_bits = kMaxWindowBits;
  } else {
    const std::uint8_t offered =
        offer.client_max_window_bits == kWindowBitsNoValue ? kMaxWindowBits : offer.client_max_window_bits;
    a.client_max_window_bits = std::min(offered, o.client_max_window_bits);
    if (offer.client_max_window_bits != kWindowBitsNoValue || a.client_max_window_bits < kMaxWindowBits) {
      response.client_max_window_bits = a.client_max_window_bits;
    }
  }
  response.server_no_context_takeover = a.server_no_context_takeover;
  response.client_no_context_takeover = a.client_no_context_takeover;
  return true;
}

std::size_t write_element(const DeflateParams& p, char* out, std::size_t cap) noexcept {
  Writer w(out, cap);
  w.put(kExtensionName);
  if (p.server_no_context_takeover) w.put_param(kServerNoContextTakeover, 0);
  if (p.client_no_context_takeover) w.put_param(kClientNoContextTakeover, 0);
  if (p.server_max_window_bits != 0) w.put_param(kServerMaxWindowBits, p.server_max_window_bits);
  if (p.client_max_window_bits != 0) w.put_param(kClientMaxWindowBits, p.client_max_window_bits);
  return w.size();
}

bool valid_bits(std::uint8_t bits) noexcept { return bits >= kMinWindowBits && bits <= kMaxWindowBits; }

}  // namespace

const char* DeflateOptions::check() const noexcept {
  if (!valid_bits(server_max_window_bits)) return "server_max_window_bits must be 8..15";
  if (!valid_bits(client_max_window_bits)) return "client_max_window_bits must be 8..15";
  if (level < 1 || level > 9) return "level must be 1..9";
  if (mem_level < 1 || mem_level > 9) return "mem_level must be 1..9";
  return nullptr;
}

DeflateNegotiation negotiate_deflate(std::string_view header, const DeflateOptions& options) {
  DeflateNegotiation result;
  if (!options.enabled) return result;
  ExtensionList list(header);
  std::string_view name;
  while (list.next(name)) {
    if (name != kExtensionName) {
      skip(list);
      continue;
    }
    if (result.offers < 255) ++result.offers;
    ParamCollector c;
    const bool well_formed = collect(list, c, Side::offer);
    DeflateParams response;
    if (well_formed && c.valid && accept_offer(c.params, options, result.agreement, response)) {
      result.offer = c.params;
      result.response_size =
          static_cast<std::uint8_t>(write_element(response, result.response, sizeof result.response));
      return result;
    }
    if (result.declined < 255) ++result.declined;
  }
  result.agreement = DeflateAgreement{};
  return result;
}

std::string format_deflate_offer(const DeflateParams& offer) {
  char buf[128];
  return std::string(buf, write_element(offer, buf, sizeof buf));
}

DeflateResponse check_deflate_response(std::string_view header, const DeflateParams& offer,
                                       DeflateAgreement& agreement) {
  agreement = DeflateAgreement{};
  ExtensionList list(header);
  std::string_view name;
  ParamCollector c;
  int elements = 0;
  while (list.next(name)) {
    // RFC 6455 §4.1: an extension that was not requested fails the connection. Only permessage-deflate
    // was offered, once, so a second element accepts something that was not offered either.
    if (name != kExtensionName || ++elements > 1) return DeflateResponse::fail;
    if (!collect(list, c, Side::response) || !c.valid) return DeflateResponse::fail;
  }
  if (elements == 0) return DeflateResponse::declined;

  const DeflateParams& r = c.params;
  // §7.1.1.1: an offered server_no_context_takeover is accepted only by answering it.
  if (offer.server_no_context_takeover && !r.server_no_context_takeover) return DeflateResponse::fail;
  // §7.1.2.1: an offered server_max_window_bits is accepted with "the same or smaller value".
  if (offer.server_max_window_bits != 0 &&
      (r.server_max_window_bits == 0 || r.server_max_window_bits > offer.server_max_window_bits)) {
    return DeflateResponse::fail;
  }
  // §7.1.2.2: client_max_window_bits only in answer to an offer that had it, and not above its value.
  if (r.client_max_window_bits != 0) {
    if (offer.client_max_window_bits == 0) return DeflateResponse::fail;
    if (offer.client_max_window_bits != kWindowBitsNoValue && r.client_max_window_bits > offer.client_max_window_bits) {
      return DeflateResponse::fail;
    }
  }

  agreement.enabled = true;
  agreement.server_no_context_takeover = r.server_no_context_takeover;
  // §7.1.1.2: an offered client_no_context_takeover tells the server "the client is not going to use
  // context takeover" even if the response leaves it out; the client keeps its word. (The server, for its
  // part, must then still keep its window, §7.2.2.)
  agreement.client_no_context_takeover = r.client_no_context_takeover || offer.client_no_context_takeover;
  agreement.server_max_window_bits = r.server_max_window_bits != 0 ? r.server_max_window_bits : kMaxWindowBits;
  if (r.client_max_window_bits != 0) {
    agreement.client_max_window_bits = r.client_max_window_bits;
  } else if (offer.client_max_window_bits != 0 && offer.client_max_window_bits != kWindowBitsNoValue) {
    agreement.client_max_window_bits = offer.client_max_window_bits;  // the offer's value is a promise too
  } else {
    agreement.client_max_window_bits = kMaxWindowBits;
  }
  return DeflateResponse::accepted;
}

}  // namespace ringcast
