#pragma once
// The client side of the compression groups (Autobahn 12 and 13, RFC 7692): the suite's own parser of
// Sec-WebSocket-Extensions, the check of a server's answer against the offer it took (what was
// agreed), and DeflateClient, a raw connection that compresses and inflates with zlib alone
// (PeerDeflater, PeerInflater), never with ringcast's deflater or inflater. Used by
// compression_test.cpp; one thread per client.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <ringcast/ws/app.hpp>
#include "tests/support/deflate_test_support.hpp"
#include "tests/support/raw_ws_client.hpp"

namespace ringcast::test {

inline constexpr std::string_view kPmd = "permessage-deflate";
inline constexpr size_t kBytewiseMax = 16 << 10;   // larger sends on a byte-by-byte connection go in chunks
inline constexpr size_t kLargeChunk = 1021;
inline constexpr size_t kStrictMax = 256 << 10;    // replies up to this size are inflated one byte per call
inline constexpr int kReplyTimeoutMs = 10'000;

// ---- Sec-WebSocket-Extensions, parsed the test's own way (RFC 6455 §9.1, RFC 7230 §3.2.6) ----

struct ExtensionParam {
  std::string name;
  std::optional<std::string> value;  // unquoted
};

struct Extension {
  std::string name;
  std::vector<ExtensionParam> params;
  bool well_formed = true;
};

inline bool is_tchar(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

inline bool is_token(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar); }

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Splits at `sep` outside quoted strings.
inline std::vector<std::string_view> split_outside_quotes(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  bool quoted = false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (quoted && s[i] == '\\') {
      ++i;
    } else if (s[i] == '"') {
      quoted = !quoted;
    } else if (!quoted && s[i] == sep) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  out.push_back(s.substr(start));
  return out;
}

// A parameter value: a token, or a quoted-string whose unescaped content is a token (RFC 6455 §9.1).
inline std::optional<std::string> param_value(std::string_view v) {
  if (v.empty() || v.front() != '"') {
    if (!is_token(v)) return std::nullopt;
    return std::string(v);
  }
  if (v.size() < 2 || v.back() != '"') return std::nullopt;
  std::string out;
  for (size_t i = 1; i + 1 < v.size(); ++i) {
    if (v[i] == '\\' && i + 2 < v.size()) ++i;
    out.push_back(v[i]);
  }
  if (!is_token(out)) return std::nullopt;
  return out;
}

inline std::vector<Extension> parse_extensions(std::string_view header) {
  std::vector<Extension> list;
  for (std::string_view element : split_outside_quotes(header, ',')) {
    element = trim(element);
    if (element.empty()) continue;  // RFC 7230 §7: empty list elements do not count
    const std::vector<std::string_view> parts = split_outside_quotes(element, ';');
    Extension e;
    e.name = std::string(trim(parts[0]));
    e.well_formed = is_token(e.name);
    for (size_t i = 1; i < parts.size(); ++i) {
      const std::string_view p = trim(parts[i]);
      const size_t eq = p.find('=');
      ExtensionParam param;
      param.name = std::string(trim(p.substr(0, eq)));
      if (!is_token(param.name)) e.well_formed = false;
      if (eq != std::string_view::npos) {
        param.value = param_value(trim(p.substr(eq + 1)));
        if (!param.value) e.well_formed = false;
      }
      e.params.push_back(std::move(param));
    }
    list.push_back(std::move(e));
  }
  return list;
}

// RFC 7692 §7.1.2: "a decimal integer value without leading zeroes between 8 to 15, inclusive"; 0 otherwise.
inline int window_bits(const std::optional<std::string>& v) {
  if (!v || v->empty() || v->size() > 2 || (*v)[0] == '0') return 0;
  if (!std::all_of(v->begin(), v->end(), [](char c) { return c >= '0' && c <= '9'; })) return 0;
  const int bits = std::stoi(*v);
  return bits >= 8 && bits <= 15 ? bits : 0;
}

// The values of every Sec-WebSocket-Extensions line of the server's answer, joined with ", ".
inline std::string extensions_header(const RawWsClient& c) {
  std::string joined;
  for (const std::string& v : c.headers("Sec-WebSocket-Extensions")) joined += (joined.empty() ? "" : ", ") + v;
  return joined;
}

// ---- What was offered and what was agreed ----

inline constexpr int kNoValue = -1;

// One permessage-deflate offer as the client wrote it.
struct Offer {
  bool server_no_context_takeover = false;
  bool client_no_context_takeover = false;
  int server_max_window_bits = 0;  // 0: absent
  int client_max_window_bits = 0;  // 0: absent, kNoValue: without a value
};

inline Offer offer_of(const Extension& e) {
  REQUIRE(e.name == kPmd);
  REQUIRE(e.well_formed);
  Offer o;
  for (const ExtensionParam& p : e.params) {
    if (p.name == "server_no_context_takeover") o.server_no_context_takeover = true;
    if (p.name == "client_no_context_takeover") o.client_no_context_takeover = true;
    if (p.name == "server_max_window_bits") o.server_max_window_bits = window_bits(p.value);
    if (p.name == "client_max_window_bits") o.client_max_window_bits = p.value ? window_bits(p.value) : kNoValue;
  }
  return o;
}

// Both ends' parameters for one connection: `server_*` for what the server sends, `client_*` for ours.
struct Agreement {
  bool enabled = false;
  bool server_no_context_takeover = false;
  bool client_no_context_takeover = false;
  int server_window = 15;
  int client_window = 15;
};

// Checks the response's Sec-WebSocket-Extensions against RFC 7692 for the offer the server should have
// taken (none: the extension must be absent) and returns what was agreed.
inline Agreement check_response(const RawWsClient& c, const std::optional<Offer>& taken) {
  const std::string header = extensions_header(c);
  INFO("Sec-WebSocket-Extensions: ", header);
  Agreement a;
  if (!taken) {
    // RFC 6455 §9.1: only extensions the server accepted are named; declining all offers names none.
    CHECK(header.empty());
    return a;
  }
  const std::vector<Extension> answer = parse_extensions(header);
  // RFC 6455 §9.1 / RFC 7692 §5: one element, for an extension the client offered.
  REQUIRE(answer.size() == 1);
  const Extension& e = answer[0];
  CHECK(e.name == kPmd);
  CHECK(e.well_formed);
  const Offer& offer = *taken;
  int server_bits = 0;
  int client_bits = 0;
  std::vector<std::string> seen;
  for (const ExtensionParam& p : e.params) {
    INFO("parameter ", p.name);
    // RFC 7692 §7: no parameter twice.
    CHECK(std::find(seen.begin(), seen.end(), p.name) == seen.end());
    seen.push_back(p.name);
    if (p.name == "server_no_context_takeover") {
      CHECK_FALSE(p.value.has_value());  // §7.1.1.1: no value
      a.server_no_context_takeover = true;
    } else if (p.name == "client_no_context_takeover") {
      CHECK_FALSE(p.value.has_value());  // §7.1.1.2: no value
      a.client_no_context_takeover = true;
    } else if (p.name == "server_max_window_bits") {
      server_bits = window_bits(p.value);  // §7.1.2.1: 8..15
      CHECK(server_bits != 0);
    } else if (p.name == "client_max_window_bits") {
      client_bits = window_bits(p.value);  // §7.1.2.2: in a response, with a value 8..15
      CHECK(client_bits != 0);
      // §7.1.2.2: "the corresponding extension negotiation response to the offer MUST NOT include" it
      // when the offer did not have it.
      CHECK(offer.client_max_window_bits != 0);
      if (offer.client_max_window_bits > 0) CHECK(client_bits <= offer.client_max_window_bits);
    } else {
      FAIL_CHECK("a parameter RFC 7692 does not define");
    }
  }
  // §7.1.1.1: an offered server_no_context_takeover is accepted only by answering it.
  if (offer.server_no_context_takeover) CHECK(a.server_no_context_takeover);
  // §7.1.2.1: an offered server_max_window_bits is accepted only by answering the same or a smaller value.
  if (offer.server_max_window_bits != 0) {
    CHECK(server_bits != 0);
    CHECK(server_bits <= offer.server_max_window_bits);
  }
  a.enabled = true;
  a.server_window = server_bits != 0 ? server_bits : 15;
  // §7.1.1.2 and §7.1.2.2: the client keeps the promises of its own offer whatever the answer says.
  a.client_no_context_takeover = a.client_no_context_takeover || offer.client_no_context_takeover;
  a.client_window = client_bits != 0 ? client_bits : offer.client_max_window_bits > 0 ? offer.client_max_window_bits : 15;
  return a;
}

// `s` in `n` pieces cut at random points (pieces may be empty).
inline std::vector<std::string_view> split_into(std::mt19937& rng, std::string_view s, size_t n) {
  std::vector<size_t> cuts;
  for (size_t i = 1; i < n; ++i) cuts.push_back(s.empty() ? 0 : rng() % (s.size() + 1));
  std::sort(cuts.begin(), cuts.end());
  std::vector<std::string_view> pieces;
  size_t pos = 0;
  for (const size_t cut : cuts) {
    pieces.push_back(s.substr(pos, cut - pos));
    pos = cut;
  }
  pieces.push_back(s.substr(pos));
  return pieces;
}

// ---- A client connection with permessage-deflate on zlib alone ----

enum class Reply : uint8_t { compressed, uncompressed, either };

// The client's half of one connection: the raw client, what the handshake agreed, the client's
// compressor (with context takeover unless client_no_context_takeover was agreed) and the inflater of the
// server's messages (a fresh one per message under server_no_context_takeover).
class DeflateClient {
 public:
  // Connects and offers `lines` (the values of Sec-WebSocket-Extensions header lines). The server must
  // take the permessage-deflate offer at index `taken` (counted across lines), or none when -1.
  DeflateClient(uint16_t port, Delivery d, const std::vector<std::string>& lines, int taken, uint32_t seed = 1)
      : c_(port, d), rng_(seed) {
    REQUIRE(c_.connected());
    std::string headers;
    std::string offers;
    for (const std::string& line : lines) {
      headers += "Sec-WebSocket-Extensions: " + line + "\r\n";
      offers += (offers.empty() ? "" : ", ") + line;
    }
    REQUIRE(c_.handshake("/", headers));
    std::optional<Offer> offer;
    if (taken >= 0) {
      std::vector<Extension> pmd;
      for (Extension& e : parse_extensions(offers)) {
        if (e.name == kPmd) pmd.push_back(std::move(e));
      }
      REQUIRE(static_cast<size_t>(taken) < pmd.size());
      offer = offer_of(pmd[static_cast<size_t>(taken)]);
    }
    a_ = check_response(c_, offer);
    if (a_.enabled) {
      // zlib cannot compress with a 256-byte window; its 9-bit window never reaches back further than
      // 250 bytes, so it serves client_max_window_bits = 8.
      deflater_ = std::make_unique<PeerDeflater>(std::max(a_.client_window, 9), !a_.client_no_context_takeover);
    }
  }

  RawWsClient& raw() { return c_; }
  const Agreement& agreement() const { return a_; }
  std::mt19937& rng() { return rng_; }

  // The payload of one compressed message (RFC 7692 §7.2.1), with a sync flush every `flush_every` bytes.
  std::string compress(std::string_view msg, size_t flush_every = 0) {
    REQUIRE(deflater_);
    return deflater_->compress(msg, flush_every);
  }

  // Frames carrying `payload` as one message in `frames` frames: `rsv` on the first only (RFC 7692 §6.1).
  std::string frames_of(uint8_t opcode, std::string_view payload, size_t frames, uint8_t rsv) {
    std::string out;
    const std::vector<std::string_view> pieces = split_into(rng_, payload, frames);
    for (size_t i = 0; i < pieces.size(); ++i) {
      out += c_.encode({.opcode = i == 0 ? opcode : op::kContinuation, .payload = pieces[i],
                        .fin = i + 1 == pieces.size(), .rsv = i == 0 ? rsv : uint8_t{0}});
    }
    return out;
  }

  // Bytes as the delivery says, except that a byte-by-byte connection sends large ones in chunks.
  bool send(std::string_view bytes) {
    const Delivery d = c_.delivery();
    if (d.chunk == 1 && bytes.size() > kBytewiseMax) c_.set_delivery(Delivery::chunks(kLargeChunk));
    const bool ok = c_.send_raw(bytes);
    c_.set_delivery(d);
    return ok;
  }

  bool send_compressed(uint8_t opcode, std::string_view msg, size_t frames = 1, size_t flush_every = 0) {
    return send(frames_of(opcode, compress(msg, flush_every), frames, kRsv1Bit));
  }
  bool send_plain(uint8_t opcode, std::string_view msg, size_t frames = 1) {
    return send(frames_of(opcode, msg, frames, 0));
  }

  // The next frame is the echo of `msg`: one final frame, unmasked, minimal length, RSV2 and RSV3 clear,
  // RSV1 only if the extension is in use; compressed, it inflates (honouring the agreed server window) to
  // exactly `msg`.
  void expect_echo(uint8_t opcode, std::string_view msg, Reply want = Reply::either) {
    RawFrame f;
    const ReadStatus s = c_.read_frame(f, kReplyTimeoutMs);
    INFO("read: ", std::string(to_string(s)));
    REQUIRE(s == ReadStatus::frame);
    CHECK(int{f.opcode} == int{opcode});
    CHECK(f.fin);
    CHECK_FALSE(f.masked);
    CHECK(f.minimal_length);
    CHECK((f.rsv & (kRsv2Bit | kRsv3Bit)) == 0);
    const bool compressed = (f.rsv & kRsv1Bit) != 0;
    if (want != Reply::either) CHECK(compressed == (want == Reply::compressed));
    std::string got;
    if (compressed) {
      REQUIRE(a_.enabled);  // RFC 7692 §6.1: RSV1 only when the extension is in use
      CHECK(inflate_reply(f.payload, msg.size(), got));
    } else {
      got = std::move(f.payload);
    }
    CHECK(got.size() == msg.size());
    const bool same = got == msg;  // not printed: it may be megabytes
    CHECK(same);
  }

 private:
  bool inflate_reply(std::string_view payload, size_t expected, std::string& out) {
    // Replies up to kStrictMax are inflated one output byte per zlib call: every match must then come
    // from the 2^server_window bytes zlib keeps, so a server reaching further back fails here.
    if (a_.server_no_context_takeover || !inflater_) {
      inflater_ = std::make_unique<PeerInflater>(a_.server_window, expected <= kStrictMax);
    }
    return inflater_->inflate_message(payload, out);
  }

  RawWsClient c_;
  std::mt19937 rng_;
  Agreement a_;
  std::unique_ptr<PeerDeflater> deflater_;
  std::unique_ptr<PeerInflater> inflater_;
};

inline DeflateClient open_deflate(uint16_t port, Delivery d, std::string offer = std::string(kPmd), uint32_t seed = 1) {
  return DeflateClient(port, d, {std::move(offer)}, 0, seed);
}

// The route options of this group's echo servers: permessage-deflate on, and no threshold, so that every
// reply sent with compress = true goes compressed whenever that makes it smaller.
inline DeflateOptions deflate_options(DeflateOptions o = {}) {
  o.enabled = true;
  o.threshold = 0;
  return o;
}

}  // namespace ringcast::test
