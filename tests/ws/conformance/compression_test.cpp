// Conformance, Autobahn groups 12 and 13 (permessage-deflate, RFC 7692). The client compresses and
// inflates with zlib itself (PeerDeflater and PeerInflater in deflate_test_support.hpp), never with
// ringcast's deflater or inflater, and checks the handshake's answer against the RFC with its own parser.
//
//   12  negotiation and compressed echo: every offer form (Autobahn 13.x runs its echoes under each
//       of them: client_no_context_takeover, client windows, several offers), offers the server must
//       decline, server windows 8..15 honoured by every reply, text and binary messages of 16 B to
//       1 MiB (compressible and random) whole and fragmented, client context takeover where the server
//       allows it, uncompressed messages alongside compressed ones, replies sent with compress = false.
//   13  errors and edge cases: RSV1 where RFC 7692 §6.1 forbids it (1002), corrupt DEFLATE data and
//       invalid UTF-8 (1007, as soon as the bad bytes come out), decompression bombs (1009, quickly and
//       in bounded memory); and what must be accepted: final blocks (§7.2.3.4), empty compressed
//       messages.
//
// Every case runs in one write and byte by byte (messages above 16 KiB on the wire go in 1021-byte
// writes on a byte-by-byte connection, to keep the group within a few seconds per backend).
#include <doctest/doctest.h>
#include <poll.h>
#include <sys/socket.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/deflate_test_support.hpp"
#include "tests/support/memory.hpp"
#include "tests/ws/conformance/conformance_support.hpp"
#include "tests/ws/conformance/deflate_client.hpp"

using namespace ringcast;
using namespace ringcast::test;
using namespace std::string_view_literals;

namespace {

// ---- Messages ----

// `n` bytes of random valid UTF-8: code points of 1 to 4 bytes, no surrogates, ASCII padding at the end.
std::string random_utf8(std::mt19937& rng, size_t n) {
  std::string s;
  s.reserve(n);
  for (;;) {
    const unsigned width = 1 + rng() % 4;
    if (s.size() + width > n) break;
    uint32_t cp;
    switch (width) {
      case 1: cp = 0x20 + rng() % 0x5F; break;
      case 2: cp = 0x80 + rng() % (0x800 - 0x80); break;
      case 3: do cp = 0x800 + rng() % (0x10000 - 0x800); while (cp >= 0xD800 && cp <= 0xDFFF); break;
      default: cp = 0x10000 + rng() % (0x110000 - 0x10000); break;
    }
    if (width == 1) {
      s.push_back(static_cast<char>(cp));
    } else {
      const uint8_t lead = width == 2 ? 0xC0 : width == 3 ? 0xE0 : 0xF0;
      s.push_back(static_cast<char>(lead | (cp >> (6 * (width - 1)))));
      for (unsigned i = width - 1; i-- > 0;) s.push_back(static_cast<char>(0x80 | ((cp >> (6 * i)) & 0x3F)));
    }
  }
  s.append(n - s.size(), '.');
  return s;
}

enum class Kind : uint8_t { compressible, random };

std::string name_of(Kind k) { return k == Kind::compressible ? "compressible" : "random"; }

// Text: English-like words, or random code points. Binary: copies of earlier bytes at distances up to
// 40,000 (past every window) in bytes that are not UTF-8, or random bytes.
std::string make_message(std::mt19937& rng, uint8_t opcode, Kind kind, size_t n) {
  if (opcode == op::kText) return kind == Kind::compressible ? text_message(rng, n) : random_utf8(rng, n);
  if (kind == Kind::random) return random_bytes(rng, n);
  std::string s = far_matches(rng, n);
  for (char& c : s) c = static_cast<char>(c ^ 0x9C);
  return s;
}


// The payload of `msg` compressed as a new DEFLATE stream whose window already holds `before` (what a
// sender with context takeover has after ending its previous message with a final block).
std::string deflate_after(std::string_view before, std::string_view msg) {
  z_stream z{};
  REQUIRE(deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  REQUIRE(deflateSetDictionary(&z, reinterpret_cast<const Bytef*>(before.data()), static_cast<uInt>(before.size())) == Z_OK);
  std::string out(deflateBound(&z, static_cast<uLong>(msg.size())) + 16, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(msg.data()));
  z.avail_in = static_cast<uInt>(msg.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_SYNC_FLUSH);
  out.resize(out.size() - z.avail_out);
  deflateEnd(&z);
  REQUIRE(rc == Z_OK);
  REQUIRE(z.avail_in == 0);
  REQUIRE(out.size() >= 4);
  REQUIRE(out.compare(out.size() - 4, 4, "\x00\x00\xff\xff"sv) == 0);
  out.resize(out.size() - 4);  // RFC 7692 §7.2.1
  return out;
}

// Peak resident memory of this process (which runs the server) since reset_peak(), in KiB; the
// current VmRSS where the peak cannot be reset.
bool g_peak_resettable = false;
void reset_peak() { g_peak_resettable = reset_peak_rss(); }
long peak_kib() { return g_peak_resettable ? peak_rss_kib() : rss_kib(); }

// Whether the server sent something (or closed) on `fd`, without waiting.
bool readable(int fd) {
  pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
  return ::poll(&p, 1, 0) > 0;
}

}  // namespace

// Pure, outside the "io" suite: the checks below rest on this parser, so it is checked first.
TEST_CASE("conformance 12 tools: the suite's own Sec-WebSocket-Extensions parser reads elements, parameters and quoted values") {
  const std::vector<Extension> list =
      parse_extensions(R"(, permessage-deflate ;client_max_window_bits; server_max_window_bits="10" , x-other; a=b,,)");
  REQUIRE(list.size() == 2);
  CHECK(list[0].name == "permessage-deflate");
  CHECK(list[0].well_formed);
  REQUIRE(list[0].params.size() == 2);
  CHECK(list[0].params[0].name == "client_max_window_bits");
  CHECK_FALSE(list[0].params[0].value.has_value());
  CHECK(list[0].params[1].value == "10");
  CHECK(list[1].name == "x-other");
  const Offer o = offer_of(list[0]);
  CHECK(o.client_max_window_bits == kNoValue);
  CHECK(o.server_max_window_bits == 10);
  CHECK_FALSE(o.server_no_context_takeover);
  // Not the RFC 6455 §9.1 grammar: a quoted value that is not a token, an empty parameter name.
  CHECK_FALSE(parse_extensions(R"(permessage-deflate; server_max_window_bits="1 0")")[0].well_formed);
  CHECK_FALSE(parse_extensions("permessage-deflate; =10")[0].well_formed);
  // RFC 7692 §7.1.2: 8..15 without leading zeroes.
  CHECK(window_bits("8") == 8);
  CHECK(window_bits("15") == 15);
  for (const char* bad : {"7", "16", "08", "1x", "", "+9"}) {
    CAPTURE(bad);
    CHECK(window_bits(std::string(bad)) == 0);
  }
}

TEST_SUITE("io") {

// =====================================================================================================
// 12: negotiation and compressed echo

TEST_CASE("conformance 12: every offer form is answered as RFC 7692 allows, and echoes honour the agreement") {
  struct OfferCase {
    std::string name;
    std::vector<std::string> lines;
    int taken;  // index of the permessage-deflate offer the server takes
  };
  std::vector<OfferCase> cases = {
      {"plain offer", {"permessage-deflate"}, 0},
      {"client_max_window_bits without a value", {"permessage-deflate; client_max_window_bits"}, 0},
      {"client_no_context_takeover", {"permessage-deflate; client_no_context_takeover"}, 0},
      {"server_no_context_takeover", {"permessage-deflate; server_no_context_takeover"}, 0},
      {"every parameter",
       {"permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; "
        "client_max_window_bits=11"},
       0},
      {"quoted values", {R"(permessage-deflate; server_max_window_bits="12"; client_max_window_bits="10")"}, 0},
      {"whitespace around separators", {"permessage-deflate ;  server_max_window_bits=13 ;client_no_context_takeover"}, 0},
      {"two offers in one header: the first is taken", {"permessage-deflate; server_max_window_bits=10, permessage-deflate"}, 0},
      {"an offer on each of two header lines: the first is taken",
       {"permessage-deflate; server_max_window_bits=11; client_max_window_bits", "permessage-deflate"}, 0},
      {"an unknown parameter declines the first offer, the second is taken",
       {"permessage-deflate; unknown_parameter, permessage-deflate; server_max_window_bits=10"}, 1},
      {"an unknown parameter declines the offer on the first line, the one on the second is taken",
       {"permessage-deflate; unknown_parameter=1", "permessage-deflate; server_max_window_bits=12"}, 1},
      {"an invalid window declines the first offer, the second is taken",
       {"permessage-deflate; server_max_window_bits=7, permessage-deflate; server_max_window_bits=9"}, 1},
      {"another extension before it is not answered",
       {"x-webkit-deflate-frame; no_context_takeover, permessage-deflate; server_max_window_bits=14"}, 0},
      {"empty list elements are skipped", {", permessage-deflate; client_max_window_bits=12 ,"}, 0},
  };
  for (int bits = 8; bits <= 15; ++bits) {
    cases.push_back({"server_max_window_bits=" + std::to_string(bits),
                     {"permessage-deflate; server_max_window_bits=" + std::to_string(bits)}, 0});
    cases.push_back({"client_max_window_bits=" + std::to_string(bits),
                     {"permessage-deflate; client_max_window_bits=" + std::to_string(bits)}, 0});
  }
  EchoServer server(kEchoMaxMessage, deflate_options(), true);
  std::mt19937 rng(12);
  const std::string text = text_message(rng, 3000);
  const std::string far = make_message(rng, op::kBinary, Kind::compressible, 48 << 10);  // matches past 32 KiB
  const std::string noise = random_bytes(rng, 100);
  const std::string fragmented = text_message(rng, 700);
  for (const Delivery d : kBothDeliveries) {
    for (const OfferCase& oc : cases) {
      CAPTURE(d.name());
      CAPTURE(oc.name);
      DeflateClient c(server.port(), d, oc.lines, oc.taken);
      REQUIRE(c.agreement().enabled);
      REQUIRE(c.send_compressed(op::kText, text));
      c.expect_echo(op::kText, text, Reply::compressed);
      REQUIRE(c.send_compressed(op::kBinary, far));
      c.expect_echo(op::kBinary, far, Reply::compressed);
      REQUIRE(c.send_compressed(op::kBinary, noise));
      c.expect_echo(op::kBinary, noise);
      REQUIRE(c.send_compressed(op::kText, fragmented, 3));
      c.expect_echo(op::kText, fragmented, Reply::compressed);
      REQUIRE(c.send_plain(op::kText, "uncompressed"));
      c.expect_echo(op::kText, "uncompressed");
      REQUIRE(c.raw().send_close(1000));
      expect_close_echo(c.raw(), 1000);
    }
  }
}

TEST_CASE("conformance 12: offers the server must decline leave the connection without the extension, and RSV1 then fails with 1002") {
  const std::vector<std::string> declined = {
      "permessage-deflate; unknown_parameter",
      "permessage-deflate; server_max_window_bits=7",
      "permessage-deflate; server_max_window_bits=16",
      "permessage-deflate; server_max_window_bits=08",   // §7.1.2.1: no leading zeroes
      "permessage-deflate; server_max_window_bits",      // §7.1.2.1: a value is required
      "permessage-deflate; server_max_window_bits=1x",
      R"(permessage-deflate; server_max_window_bits="1 0")",  // RFC 6455 §9.1: quoted content must be a token
      "permessage-deflate; client_max_window_bits=7",
      "permessage-deflate; client_max_window_bits=16",
      "permessage-deflate; server_no_context_takeover=1",  // §7.1.1.1: no value
      "permessage-deflate; client_no_context_takeover=1",  // §7.1.1.2: no value
      "permessage-deflate; server_no_context_takeover; server_no_context_takeover",  // §7: duplicate
      "permessage-deflate; client_max_window_bits=10; client_max_window_bits=10",
      "permessage-deflate; =10",
      "x-webkit-deflate-frame",
      "permessage-deflate-x",
  };
  EchoServer server(kEchoMaxMessage, deflate_options(), true);
  const std::string text(2000, 'a');
  for (const Delivery d : kBothDeliveries) {
    CAPTURE(d.name());
    {
      INFO("no offer");
      DeflateClient c(server.port(), d, {}, -1);
      REQUIRE(c.send_plain(op::kText, text));
      c.expect_echo(op::kText, text, Reply::uncompressed);
      REQUIRE(c.raw().send_frame({.opcode = op::kText, .payload = "\xf2\x48\xcd\xc9\xc9\x07\x00"sv, .rsv = kRsv1Bit}));
      expect_fail(c.raw(), 1002);  // RFC 6455 §5.2: RSV1 without an extension that defines it
    }
    for (const std::string& bad : declined) {
      CAPTURE(bad);
      {
        DeflateClient c(server.port(), d, {bad}, -1);
        REQUIRE(c.send_plain(op::kText, text));
        c.expect_echo(op::kText, text, Reply::uncompressed);
        REQUIRE(c.raw().send_frame({.opcode = op::kText, .payload = "\xf2\x48\xcd\xc9\xc9\x07\x00"sv, .rsv = kRsv1Bit}));
        expect_fail(c.raw(), 1002);
      }
      {
        // The same offer followed by a valid one: the valid one is taken (RFC 7692 §5, §7).
        const std::vector<std::string> lines = {bad + ", permessage-deflate; server_max_window_bits=11"};
        const bool bad_is_pmd = parse_extensions(bad)[0].name == kPmd;
        DeflateClient c(server.port(), d, lines, bad_is_pmd ? 1 : 0);
        REQUIRE(c.agreement().server_window <= 11);
        REQUIRE(c.send_compressed(op::kText, text));
        c.expect_echo(op::kText, text, Reply::compressed);
      }
    }
  }
}

TEST_CASE("conformance 12: a server window limit is announced unasked (RFC 7692 §7.1.2.1) and every reply fits it") {
  for (const uint8_t limit : {uint8_t{8}, uint8_t{10}, uint8_t{12}}) {
    CAPTURE(int{limit});
    EchoServer server(kEchoMaxMessage, deflate_options({.server_max_window_bits = limit}), true);
    std::mt19937 rng(limit);
    const std::string far = far_matches(rng, 64 << 10, 40000);
    for (const Delivery d : kBothDeliveries) {
      for (const char* offer : {"permessage-deflate", "permessage-deflate; server_max_window_bits=15",
                                "permessage-deflate; server_max_window_bits=9"}) {
        CAPTURE(d.name());
        CAPTURE(offer);
        DeflateClient c = open_deflate(server.port(), d, offer);
        CHECK(c.agreement().server_window <= limit);
        REQUIRE(c.send_compressed(op::kText, far));
        c.expect_echo(op::kText, far, Reply::compressed);
      }
    }
  }
}

TEST_CASE("conformance 12: text and binary messages of 16 B to 1 MiB, compressible and random, sent compressed come back intact") {
  EchoServer server(kEchoMaxMessage, deflate_options(), true);
  constexpr size_t kSizes[] = {16, 64, 256, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20};
  for (const Delivery d : kBothDeliveries) {
    for (const uint8_t opcode : {op::kText, op::kBinary}) {
      for (const Kind kind : {Kind::compressible, Kind::random}) {
        CAPTURE(d.name());
        CAPTURE(int{opcode});
        CAPTURE(name_of(kind));
        DeflateClient c = open_deflate(server.port(), d, std::string(kPmd), opcode * 10 + static_cast<uint32_t>(kind));
        for (const size_t n : kSizes) {
          CAPTURE(n);
          const std::string msg = make_message(c.rng(), opcode, kind, n);
          REQUIRE(c.send_compressed(opcode, msg));
          // Compressible replies from 256 B on must come back compressed (shorter ones may not shrink);
          // random ones may come back either way.
          c.expect_echo(opcode, msg, kind == Kind::compressible && n >= 256 ? Reply::compressed : Reply::either);
        }
      }
    }
  }
}

TEST_CASE("conformance 12: compressed messages in 2 to 9 fragments, RSV1 on the first only, with pings between them, come back whole") {
  EchoServer server(kEchoMaxMessage, deflate_options(), true);
  for (const Delivery d : kBothDeliveries) {
    CAPTURE(d.name());
    DeflateClient c = open_deflate(server.port(), d);
    for (size_t frames = 2; frames <= 9; ++frames) {
      for (const uint8_t opcode : {op::kText, op::kBinary}) {
        CAPTURE(frames);
        CAPTURE(int{opcode});
        const std::string msg = make_message(c.rng(), opcode, Kind::compressible, 200 << frames);
        // Several DEFLATE blocks per message (a sync flush every 1,000 bytes), cut at random points,
        // some fragments empty.
        const std::string payload = c.compress(msg, 1000);
        const std::vector<std::string_view> pieces = split_into(c.rng(), payload, frames);
        for (size_t i = 0; i < pieces.size(); ++i) {
          const bool last = i + 1 == pieces.size();
          REQUIRE(c.send(c.raw().encode({.opcode = i == 0 ? opcode : op::kContinuation, .payload = pieces[i],
                                         .fin = last, .rsv = i == 0 ? kRsv1Bit : uint8_t{0}})));
          if (!last && i % 2 == 0) {
            REQUIRE(c.raw().send_ping("between fragments"));
            c.expect_echo(op::kPong, "between fragments", Reply::uncompressed);
          }
        }
        c.expect_echo(opcode, msg, Reply::compressed);
      }
    }
    // Each byte in its own DEFLATE block, the blocks spread over 12 frames: a code point's bytes come
    // out of separate inflate calls, and are still one code point.
    const std::string euro = "\xe2\x82\xac \xf0\x9d\x84\x9e \xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5";
    REQUIRE(c.send_compressed(op::kText, euro, 12, 1));
    c.expect_echo(op::kText, euro);
  }
}

TEST_CASE("conformance 12: with client context takeover allowed, messages that refer to earlier ones inflate right, for windows 8 to 15") {
  // The server lets clients keep their compression context (no client_no_context_takeover answered) and
  // limits their window only when asked to.
  EchoServer server(kEchoMaxMessage, deflate_options({.client_context_takeover = ClientContextTakeover::allow}), true);
  std::vector<std::string> offers = {"permessage-deflate", "permessage-deflate; client_max_window_bits"};
  for (int bits = 8; bits <= 15; ++bits) offers.push_back("permessage-deflate; client_max_window_bits=" + std::to_string(bits));
  for (const Delivery d : kBothDeliveries) {
    for (const std::string& offer : offers) {
      CAPTURE(d.name());
      CAPTURE(offer);
      DeflateClient c = open_deflate(server.port(), d, offer);
      REQUIRE_FALSE(c.agreement().client_no_context_takeover);  // the case needs takeover agreed
      // A conversation that keeps repeating itself, so later messages are mostly matches into earlier
      // ones; some fragmented, some uncompressed (which never enter the window, RFC 7692 §6.1).
      std::mt19937& rng = c.rng();
      std::vector<std::string> history;
      for (int i = 0; i < 24; ++i) {
        std::string msg = i < 3 || rng() % 3 == 0 ? text_message(rng, 200 + rng() % 3000) : history[rng() % history.size()];
        msg += " #" + std::to_string(i);
        if (i % 5 == 4) {
          REQUIRE(c.send_plain(op::kText, msg, 1 + i % 3));
        } else {
          REQUIRE(c.send_compressed(op::kText, msg, 1 + i % 4));
        }
        c.expect_echo(op::kText, msg);
        history.push_back(std::move(msg));
      }
    }
  }
}

TEST_CASE("conformance 12: a server that limits client windows asks for it only from clients that offered client_max_window_bits") {
  // RFC 7692 §7.1.2.2: client_max_window_bits may be answered only to an offer that has it; a server that
  // needs a smaller client window (and keeps client context) must decline other offers.
  EchoServer server(kEchoMaxMessage,
                    deflate_options({.client_max_window_bits = 10, .client_context_takeover = ClientContextTakeover::allow}),
                    true);
  for (const Delivery d : kBothDeliveries) {
    CAPTURE(d.name());
    {
      DeflateClient c(server.port(), d, {"permessage-deflate"}, -1);
      REQUIRE(c.send_plain(op::kText, "no extension"));
      c.expect_echo(op::kText, "no extension", Reply::uncompressed);
    }
    for (const char* offer : {"permessage-deflate; client_max_window_bits", "permessage-deflate; client_max_window_bits=12",
                              "permessage-deflate, permessage-deflate; client_max_window_bits=14"}) {
      CAPTURE(offer);
      const bool two = std::string_view(offer).find(", ") != std::string_view::npos;
      DeflateClient c(server.port(), d, {offer}, two ? 1 : 0);
      CHECK(c.agreement().client_window <= 10);
      REQUIRE_FALSE(c.agreement().client_no_context_takeover);
      const std::string msg = far_matches(c.rng(), 20000, 900);
      for (int i = 0; i < 3; ++i) {
        REQUIRE(c.send_compressed(op::kText, msg));
        c.expect_echo(op::kText, msg, Reply::compressed);
      }
    }
  }
}

TEST_CASE("conformance 12: uncompressed messages keep working on a connection that negotiated permessage-deflate") {
  EchoServer server(kEchoMaxMessage, deflate_options(), true);
  for (const Delivery d : kBothDeliveries) {
    CAPTURE(d.name());
    DeflateClient c = open_deflate(server.port(), d);
    for (int i = 0; i < 6; ++i) {
      for (const uint8_t opcode : {op::kText, op::kBinary}) {
        CAPTURE(i);
        const std::string msg = make_message(c.rng(), opcode, i % 2 ? Kind::random : Kind::compressible, 100 << i);
        REQUIRE(c.send_plain(opcode, msg, 1 + i % 3));  // RSV1 = 0: the payload is the message itself
        c.expect_echo(opcode, msg);
        REQUIRE(c.send_compressed(opcode, msg, 1 + i % 2));
        c.expect_echo(opcode, msg);
      }
    }
    REQUIRE(c.send_plain(op::kText, ""));
    c.expect_echo(op::kText, "");
    // Compressed and uncompressed messages, fragmented or not, and a ping, all in one write.
    const std::string text = text_message(c.rng(), 3000);
    const std::string bin = make_message(c.rng(), op::kBinary, Kind::compressible, 5000);
    std::string burst = c.frames_of(op::kText, c.compress(text), 1, kRsv1Bit);
    burst += c.frames_of(op::kBinary, bin, 1, 0);
    burst += c.frames_of(op::kBinary, c.compress(bin), 3, kRsv1Bit);
    burst += c.raw().encode({.opcode = op::kPing, .payload = "in the burst"});
    burst += c.frames_of(op::kText, text, 2, 0);
    burst += c.frames_of(op::kText, c.compress(""), 1, kRsv1Bit);
    REQUIRE(c.send(burst));
    c.expect_echo(op::kText, text);
    c.expect_echo(op::kBinary, bin);
    c.expect_echo(op::kBinary, bin);
    c.expect_echo(op::kPong, "in the burst", Reply::uncompressed);
    c.expect_echo(op::kText, text);
    c.expect_echo(op::kText, "");
  }
}

TEST_CASE("conformance 12: replies shorter than the route's threshold (1024 B by default) go uncompressed, longer ones compressed") {
  EchoServer server(kEchoMaxMessage, DeflateOptions{.enabled = true}, true);
  for (const Delivery d : kBothDeliveries) {
    CAPTURE(d.name());
    DeflateClient c = open_deflate(server.port(), d);
    const std::string msg = text_message(c.rng(), 1024);
    REQUIRE(c.send_compressed(op::kText, msg.substr(0, 1023)));
    c.expect_echo(op::kText, msg.substr(0, 1023), Reply::uncompressed);
    REQUIRE(c.send_compressed(op::kText, msg));
    c.expect_echo(op::kText, msg, Reply::compressed);
  }
}

TEST_CASE("conformance 12: a server with a compressor per connection answers server_no_context_takeover only when asked, and its replies inflate either way") {
  EchoServer server(kEchoMaxMessage, deflate_options({.dedicated_compressor = true}), true);
  for (const Delivery d : kBothDeliveries) {
    for (const char* offer : {"permessage-deflate", "permessage-deflate; server_no_context_takeover"}) {
      CAPTURE(d.name());
      CAPTURE(offer);
      DeflateClient c = open_deflate(server.port(), d, offer);
      // Without server_no_context_takeover the client keeps one inflater, and its window, for every reply.
      CHECK(c.agreement().server_no_context_takeover == (std::string_view(offer).find("server_no") != std::string_view::npos));
      const std::string base = text_message(c.rng(), 2000);
      for (int i = 0; i < 8; ++i) {
        const std::string msg = base + " #" + std::to_string(i);
        REQUIRE(c.send_compressed(op::kText, msg));
        c.expect_echo(op::kText, msg, Reply::compressed);
      }
    }
  }
}

TEST_CASE("conformance 12: with compress = false the server's replies carry RSV1 = 0, whatever the client sends") {
  EchoServer server(kEchoMaxMessage, deflate_options(), false);
  for (const Delivery d : kBothDeliveries) {
    CAPTURE(d.name());
    DeflateClient c = open_deflate(server.port(), d);
    REQUIRE(c.agreement().enabled);
    for (const size_t n : {size_t{16}, size_t{4} << 10, size_t{200} << 10}) {
      CAPTURE(n);
      const std::string msg = text_message(c.rng(), n);
      REQUIRE(c.send_compressed(op::kText, msg));
      c.expect_echo(op::kText, msg, Reply::uncompressed);
      REQUIRE(c.send_plain(op::kBinary, msg));
      c.expect_echo(op::kBinary, msg, Reply::uncompressed);
    }
  }
}

// =====================================================================================================
// 13: errors, limits and edge cases

TEST_CASE("conformance 13: RSV1 on a continuation frame fails with 1002 (RFC 7692 §6.1)") {
  EchoServer server(kEchoMaxMessage, deflate_options(), true);
  for (const Delivery d : kBothDeliveries) {
    for (const bool first_compressed : {true, false}) {
      CAPTURE(d.name());
      CAPTURE(first_compressed);
      DeflateClient c = open_deflate(server.port(), d);
      REQUIRE(c.send_compressed(op::kText, "echoed before"));
      c.expect_echo(op::kText, "echoed before");
      const std::string msg = text_message(c.rng(), 2000);
      const std::string payload = first_compressed ? c.compress(msg) : msg;
      const size_t half = payload.size() / 2;
      std::string burst = c.raw().encode({.opcode = op::kText, .payload = std::string_view(payload).substr(0, half),
                                          .fin = false, .rsv = first_compressed ? kRsv1Bit : uint8_t{0}});
      burst += c.raw().encode({.opcode = op::kContinuation, .payload = std::string_view(payload).substr(half),
                               .rsv = kRsv1Bit});
      burst += c.raw().encode({.opcode = op::kPing, .payload = "not answered"});
      REQUIRE(c.send(burst));
      expect_fail(c.raw(), 1002);
    }
  }
}

TEST_CASE("conformance 13: RSV1 on a ping, pong or close frame fails with 1002 (RFC 7692 §6.1)") {
  EchoServer server(kEchoMaxMessage, deflate_options(), true);
  const std::string close = close_payload(1000);
  for (const Delivery d : kBothDeliveries) {
    for (const uint8_t opcode : {op::kPing, op::kPong, op::kClose}) {
      for (const bool mid_message : {false, true}) {
        CAPTURE(d.name());
        CAPTURE(int{opcode});
        CAPTURE(mid_message);
        DeflateClient c = open_deflate(server.port(), d);
        std::string burst;
        if (mid_message) {
          burst += c.raw().encode({.opcode = op::kText, .payload = c.compress("a compressed fragment"), .fin = false,
                                   .rsv = kRsv1Bit});
        }
        burst += c.raw().encode({.opcode = opcode,
                                 .payload = opcode == op::kClose ? std::string_view(close) : "\x02\x00"sv,
                                 .rsv = kRsv1Bit});
        burst += c.raw().encode({.opcode = op::kPing, .payload = "not answered"});
        REQUIRE(c.send(burst));
        expect_fail(c.raw(), 1002);
      }
    }
  }
}

TEST_CASE("conformance 13: RSV2 and RSV3 stay forbidden on a connection with permessage-deflate (it owns RSV1 only)") {
  EchoServer server(kEchoMaxMessage, deflate_options(), true);
  for (const Delivery d : kBothDeliveries) {
    for (const uint8_t rsv : {kRsv2Bit, kRsv3Bit, uint8_t{kRsv1Bit | kRsv2Bit}, uint8_t{kRsv1Bit | kRsv3Bit}}) {
      CAPTURE(d.name());
      CAPTURE(int{rsv});
      DeflateClient c = open_deflate(server.port(), d);
      const std::string payload = (rsv & kRsv1Bit) ? c.compress("Hello") : std::string("Hello");
      REQUIRE(c.raw().send_frame({.opcode = op::kText, .payload = payload, .rsv = rsv}));
      expect_fail(c.raw(), 1002);
    }
  }
}

TEST_CASE("conformance 13: corrupt DEFLATE data fails with 1007") {
  EchoServer server(kEchoMaxMessage, deflate_options(), true);
  std::mt19937 rng(13);
  struct Corrupt {
    std::string_view name;
    std::string payload;
  };
  std::vector<Corrupt> cases = {
      {"a block of the reserved type 11", bytes({0x07})},
      {"a non-final block of the reserved type 11", bytes({0x06, 0x00})},
      {"a stored block whose NLEN is not the complement of LEN", bytes({0x00, 0x05, 0x00, 0x00, 0x00, 'h', 'e', 'l', 'l', 'o'})},
      {"a fixed-Huffman block with distance code 30", bytes({0x4a, 0x04, 0x3e})},  // 'a', then a match
      {"a fixed-Huffman block with literal/length code 286", bytes({0x4a, 0x1c, 0x03})},
  };
  {
    // A match that reaches before the start of the message: the second of two identical messages
    // compressed with context takeover, sent where client_no_context_takeover was agreed.
    PeerDeflater takeover(15, true);
    const std::string msg = random_bytes(rng, 300);
    takeover.compress(msg);
    cases.push_back({"a match reaching before the message's start", takeover.compress(msg)});
  }
  {
    // A message cut inside a Huffman-coded block.
    PeerDeflater z(15, false);
    std::string whole = z.compress(text_message(rng, 4000));
    whole.resize(whole.size() / 2);
    cases.push_back({"a message cut inside a block", whole});
  }
  for (const Corrupt& k : cases) {
    CAPTURE(k.name);
    std::string ignored;
    PeerInflater reference(15, false);
    REQUIRE_FALSE(reference.inflate_message(k.payload, ignored));  // zlib agrees that it is corrupt
    for (const Delivery d : kBothDeliveries) {
      for (const uint8_t opcode : {op::kText, op::kBinary}) {
        CAPTURE(d.name());
        CAPTURE(int{opcode});
        DeflateClient c = open_deflate(server.port(), d);
        REQUIRE(c.send_compressed(opcode, "fine before"));
        c.expect_echo(opcode, "fine before");
        REQUIRE(c.raw().send_frame({.opcode = opcode, .payload = k.payload, .rsv = kRsv1Bit}));
        expect_fail(c.raw(), 1007);
      }
    }
  }
}

TEST_CASE("conformance 13: a compressed text message that inflates to invalid UTF-8 fails with 1007") {
  EchoServer server(kEchoMaxMessage, deflate_options(), true);
  const std::string_view kInvalid[] = {
      "\xff"sv,          // never in UTF-8
      "\xc0\xaf"sv,      // overlong
      "\xed\xa0\x80"sv,  // a surrogate
      "\xf4\x90\x80\x80"sv,  // above U+10FFFF
  };
  for (const Delivery d : kBothDeliveries) {
    CAPTURE(d.name());
    for (const std::string_view bad : kInvalid) {
      CAPTURE(bad);
      DeflateClient c = open_deflate(server.port(), d);
      const std::string msg = text_message(c.rng(), 500) + std::string(bad) + text_message(c.rng(), 500);
      REQUIRE(c.send_compressed(op::kText, msg, 2));
      expect_fail(c.raw(), 1007);
    }
    {
      INFO("a code point cut at the message's end");
      DeflateClient c = open_deflate(server.port(), d);
      REQUIRE(c.send_compressed(op::kText, text_message(c.rng(), 300) + "\xe2\x82"));
      expect_fail(c.raw(), 1007);
    }
  }
}

TEST_CASE("conformance 13: invalid UTF-8 out of an early part of a compressed message fails with 1007 before the rest is sent") {
  EchoServer server(kEchoMaxMessage, deflate_options(), true);
  for (const Delivery d : kBothDeliveries) {
    for (const bool within_frame : {false, true}) {
      CAPTURE(d.name());
      CAPTURE(within_frame);
      DeflateClient c = open_deflate(server.port(), d);
      // The bad byte comes early and a sync flush every 256 bytes lets it out with the first blocks;
      // only the first half of the compressed message is ever sent.
      const std::string msg = "early \xff " + text_message(c.rng(), 60 << 10);
      const std::string payload = c.compress(msg, 256);
      const std::string_view first_half = std::string_view(payload).substr(0, payload.size() / 2);
      if (within_frame) {
        // One frame declares the whole payload.
        const std::string frame = c.raw().encode({.opcode = op::kText, .payload = payload, .rsv = kRsv1Bit});
        const size_t header = frame.size() - payload.size();
        REQUIRE(c.send(std::string_view(frame).substr(0, header + first_half.size())));
      } else {
        // A first fragment; the message's other fragments never follow.
        REQUIRE(c.send(c.raw().encode({.opcode = op::kText, .payload = first_half, .fin = false, .rsv = kRsv1Bit})));
      }
      expect_fail(c.raw(), 1007);
    }
  }
}

TEST_CASE("conformance 13: a decompression bomb fails with 1009 at once, and the server's memory does not grow with it") {
  constexpr size_t kLimit = 64 << 10;
  constexpr size_t kBombSize = 16 << 20;  // what the bomb inflates to: 256 times the limit
  constexpr int kClients = 8;
  EchoServer server(kLimit, deflate_options(), true);
  std::string bomb;
  {
    PeerDeflater z(15, false, 9);
    bomb = z.compress(std::string(kBombSize, '\0'));
  }
  CHECK(bomb.size() < 20 << 10);  // a few KiB on the wire
  size_t expected_closes = 0;
  for (const Delivery d : kBothDeliveries) {
    CAPTURE(d.name());
    {
      INFO("a bomb on each of 8 connections at once");
      std::vector<DeflateClient> clients;
      for (int i = 0; i < kClients; ++i) clients.push_back(open_deflate(server.port(), Delivery::whole()));
      std::vector<std::string> frames;
      for (DeflateClient& c : clients) frames.push_back(c.raw().encode({.opcode = op::kBinary, .payload = bomb, .rsv = kRsv1Bit}));
      reset_peak();
      const long before = peak_kib();
      const auto start = std::chrono::steady_clock::now();
      if (d.chunk == 0) {
        for (int i = 0; i < kClients; ++i) REQUIRE(clients[i].send(frames[i]));
      } else {
        // Byte by byte, one byte to each connection in turn, until the server answers it: its 1009 must
        // come long before the bomb's last byte (64 KiB of output is about 70 bytes of it).
        std::vector<size_t> sent(kClients, 0);
        std::vector<bool> answered(kClients, false);
        for (bool more = true; more;) {
          more = false;
          for (int i = 0; i < kClients; ++i) {
            if (answered[i] || sent[i] == frames[i].size()) continue;
            if (sent[i] % 16 == 0 && readable(clients[i].raw().fd())) {
              answered[i] = true;
              continue;
            }
            REQUIRE(::send(clients[i].raw().fd(), frames[i].data() + sent[i], 1, MSG_NOSIGNAL) == 1);
            ++sent[i];
            more = true;
          }
        }
        for (int i = 0; i < kClients; ++i) {
          CAPTURE(i);
          CHECK(answered[i]);
        }
      }
      for (DeflateClient& c : clients) expect_fail(c.raw(), 1009);
      const auto took = std::chrono::steady_clock::now() - start;
      const long growth = peak_kib() - before;
      MESSAGE("8 bombs (", d.name(), "): 1009 after ", std::chrono::duration_cast<std::chrono::milliseconds>(took).count(),
              " ms, peak RSS +", growth, " KiB (", g_peak_resettable ? "VmHWM" : "VmRSS", ")");
      CHECK(took < std::chrono::seconds(1));
      // Unbounded inflation would hold 8 x 16 MiB. Bounded, each connection holds about the limit; the
      // margin covers first touches of the shards' receive buffers (io_uring: one per read, 4 KiB each).
      CHECK(growth < 24 * 1024);
      expected_closes += kClients;
    }
    {
      INFO("a bomb in the first fragment; the rest never follows");
      DeflateClient c = open_deflate(server.port(), d);
      const std::string frame = c.raw().encode({.opcode = op::kBinary, .payload = bomb, .fin = false, .rsv = kRsv1Bit});
      REQUIRE(c.send(frame));
      expect_fail(c.raw(), 1009);
      ++expected_closes;
    }
  }
  REQUIRE(server.wait_closes(expected_closes));
  const std::vector<int> codes = server.close_codes();
  CHECK(static_cast<size_t>(std::count(codes.begin(), codes.end(), 1009)) == expected_closes);
}

TEST_CASE("conformance 13: a compressed message that inflates to exactly max_message_size is echoed; one byte more fails with 1009") {
  constexpr size_t kLimit = 64 << 10;
  EchoServer server(kLimit, deflate_options(), true);
  for (const Delivery d : kBothDeliveries) {
    CAPTURE(d.name());
    for (const Kind kind : {Kind::compressible, Kind::random}) {
      // Random data compresses to a little more than itself: the frames are then larger than the limit,
      // which applies to the message, not to its compressed form.
      CAPTURE(name_of(kind));
      {
        DeflateClient c = open_deflate(server.port(), d);
        const std::string msg = make_message(c.rng(), op::kBinary, kind, kLimit);
        REQUIRE(c.send_compressed(op::kBinary, msg, 3));
        c.expect_echo(op::kBinary, msg);
      }
      {
        DeflateClient c = open_deflate(server.port(), d);
        const std::string msg = make_message(c.rng(), op::kBinary, kind, kLimit + 1);
        REQUIRE(c.send_compressed(op::kBinary, msg, 3));
        expect_fail(c.raw(), 1009);
      }
    }
  }
}

TEST_CASE("conformance 13: a message ending in a final block (BFINAL = 1, RFC 7692 §7.2.3.4) is accepted") {
  EchoServer server(kEchoMaxMessage, deflate_options(), true);
  std::mt19937 rng(7234);
  const std::string text = text_message(rng, 10000);
  PeerDeflater z(15, false);
  struct Final {
    std::string_view name;
    std::string payload;
    std::string message;
  };
  const Final cases[] = {
      // The RFC's own example: "Hello" in a final fixed-Huffman block, then 0x00 (§7.2.1 step 2 leaves
      // the empty stored block's first byte).
      {"RFC 7692 §7.2.3.4 example", bytes({0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00}), "Hello"},
      {"zlib Z_FINISH, then 0x00", z.compress_final(text, true), text},
      {"zlib Z_FINISH, nothing after the final block", z.compress_final(text, false), text},
  };
  for (const Delivery d : kBothDeliveries) {
    for (const Final& f : cases) {
      for (const size_t frames : {size_t{1}, size_t{3}}) {
        CAPTURE(d.name());
        CAPTURE(f.name);
        CAPTURE(frames);
        DeflateClient c = open_deflate(server.port(), d);
        REQUIRE(c.send(c.frames_of(op::kText, f.payload, frames, kRsv1Bit)));
        c.expect_echo(op::kText, f.message);
        // The connection goes on with ordinary compressed messages.
        REQUIRE(c.send_compressed(op::kText, text));
        c.expect_echo(op::kText, text, Reply::compressed);
      }
    }
  }
}

TEST_CASE("conformance 13: an empty compressed message (RSV1, empty payload) is an empty message") {
  EchoServer server(kEchoMaxMessage, deflate_options(), true);
  for (const Delivery d : kBothDeliveries) {
    for (const uint8_t opcode : {op::kText, op::kBinary}) {
      CAPTURE(d.name());
      CAPTURE(int{opcode});
      DeflateClient c = open_deflate(server.port(), d);
      // An empty payload; the empty stored block zlib makes of nothing (0x00); and fragments that are
      // all empty.
      REQUIRE(c.raw().send_frame({.opcode = opcode, .rsv = kRsv1Bit}));
      c.expect_echo(opcode, "");
      const std::string nothing = c.compress("");
      CHECK(nothing == bytes({0x00}));
      REQUIRE(c.raw().send_frame({.opcode = opcode, .payload = nothing, .rsv = kRsv1Bit}));
      c.expect_echo(opcode, "");
      REQUIRE(c.raw().send_frame({.opcode = opcode, .fin = false, .rsv = kRsv1Bit}));
      REQUIRE(c.raw().send_continuation("", false));
      REQUIRE(c.raw().send_continuation("", true));
      c.expect_echo(opcode, "");
      // An empty first fragment with RSV1, the compressed data in the continuations.
      const std::string msg = make_message(c.rng(), opcode, Kind::compressible, 3000);
      const std::string payload = c.compress(msg);
      REQUIRE(c.raw().send_frame({.opcode = opcode, .fin = false, .rsv = kRsv1Bit}));
      REQUIRE(c.raw().send_continuation(std::string_view(payload).substr(0, 10), false));
      REQUIRE(c.raw().send_continuation(std::string_view(payload).substr(10), true));
      c.expect_echo(opcode, msg, Reply::compressed);
    }
  }
}

TEST_CASE("conformance 13: with client context takeover, a message after a final block may still refer to the one before it") {
  // RFC 7692 §7.2.3.4 lets a sender end a message with a final block; its window is still the data it
  // sent, so with context takeover the next message (a new DEFLATE stream) may refer back into it.
  EchoServer server(kEchoMaxMessage, deflate_options({.client_context_takeover = ClientContextTakeover::allow}), true);
  for (const Delivery d : kBothDeliveries) {
    for (const bool trailing_empty_block : {true, false}) {
      CAPTURE(d.name());
      CAPTURE(trailing_empty_block);
      DeflateClient c = open_deflate(server.port(), d);
      REQUIRE_FALSE(c.agreement().client_no_context_takeover);
      const std::string first = random_bytes(c.rng(), 3000);
      const std::string second = first.substr(1000) + first.substr(0, 1000);  // all matches into `first`
      PeerDeflater finisher(15, false);
      REQUIRE(c.send(c.frames_of(op::kBinary, finisher.compress_final(first, trailing_empty_block), 2, kRsv1Bit)));
      c.expect_echo(op::kBinary, first);
      const std::string payload = deflate_after(first, second);
      CHECK(payload.size() < 100);  // it did refer back
      REQUIRE(c.send(c.frames_of(op::kBinary, payload, 2, kRsv1Bit)));
      c.expect_echo(op::kBinary, second);
    }
  }
}

TEST_CASE("conformance 13: compressed messages abandoned midway (by a close frame or by TCP) leave nothing behind for later connections") {
  EchoServer server(kEchoMaxMessage, deflate_options(), true);
  std::mt19937 rng(4);
  const std::string msg = text_message(rng, 20000);
  for (const Delivery d : kBothDeliveries) {
    CAPTURE(d.name());
    for (int i = 0; i < 6; ++i) {
      DeflateClient c = open_deflate(server.port(), d);
      const std::string payload = c.compress(msg, 1000);
      REQUIRE(c.send(c.raw().encode({.opcode = op::kText, .payload = std::string_view(payload).substr(0, payload.size() / 2),
                                     .fin = false, .rsv = kRsv1Bit})));
      if (i % 2 == 0) {
        REQUIRE(c.raw().send_close(1000));
        expect_close_echo(c.raw(), 1000);
      }  // else: the client goes away without a close frame
    }
    for (int i = 0; i < 6; ++i) {
      DeflateClient c = open_deflate(server.port(), d);
      REQUIRE(c.send_compressed(op::kText, msg, 2));
      c.expect_echo(op::kText, msg, Reply::compressed);
    }
  }
}

TEST_CASE("conformance 13: many connections with a compressed message half-sent at once each inflate their own") {
  EchoServer server(kEchoMaxMessage, deflate_options(), true);
  constexpr int kClients = 24;  // more than the streams a shard keeps idle
  for (const Delivery d : kBothDeliveries) {
    CAPTURE(d.name());
    std::vector<DeflateClient> clients;
    std::vector<std::string> messages;
    std::vector<std::string> payloads;
    for (int i = 0; i < kClients; ++i) {
      clients.push_back(open_deflate(server.port(), d, std::string(kPmd), static_cast<uint32_t>(i)));
      messages.push_back(make_message(clients.back().rng(), i % 2 ? op::kBinary : op::kText, Kind::compressible, 4000));
      payloads.push_back(clients.back().compress(messages.back(), 500));
    }
    for (int i = 0; i < kClients; ++i) {
      const std::string_view p = payloads[i];
      REQUIRE(clients[i].send(clients[i].raw().encode({.opcode = i % 2 ? op::kBinary : op::kText,
                                                       .payload = p.substr(0, p.size() / 2), .fin = false, .rsv = kRsv1Bit})));
    }
    for (int i = 0; i < kClients; ++i) {
      const std::string_view p = payloads[i];
      REQUIRE(clients[i].send(clients[i].raw().encode({.opcode = op::kContinuation, .payload = p.substr(p.size() / 2)})));
    }
    for (int i = 0; i < kClients; ++i) {
      CAPTURE(i);
      clients[i].expect_echo(i % 2 ? op::kBinary : op::kText, messages[i], Reply::compressed);
    }
  }
}

}  // TEST_SUITE("io")
