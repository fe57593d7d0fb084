#include <ringcast/ws/deflate/permessage_deflate.hpp>

#include <doctest/doctest.h>

#include <type_traits>

using namespace ringcast;

namespace {

constexpr std::uint8_t kNoValue = kWindowBitsNoValue;

// Options that answer only what an offer asks for (no server-side additions).
DeflateOptions minimal() {
  return DeflateOptions{.client_context_takeover = ClientContextTakeover::allow, .dedicated_compressor = true};
}

DeflateNegotiation accept(std::string_view header, const DeflateOptions& o = DeflateOptions{}) {
  DeflateNegotiation n = negotiate_deflate(header, o);
  CHECK(n.agreement.enabled);
  return n;
}

void decline(std::string_view header, const DeflateOptions& o = DeflateOptions{}) {
  CAPTURE(header);
  const DeflateNegotiation n = negotiate_deflate(header, o);
  CHECK_FALSE(n.agreement.enabled);
  CHECK(n.response_value().empty());
}

// The server's response must satisfy the client that made the accepted offer, with the same agreement
// (except that a client keeps its offered client_no_context_takeover even when the server leaves it out).
void check_client_agrees(const DeflateNegotiation& n) {
  DeflateAgreement client;
  REQUIRE(check_deflate_response(n.response_value(), n.offer, client) == DeflateResponse::accepted);
  DeflateAgreement expect = n.agreement;
  expect.client_no_context_takeover |= n.offer.client_no_context_takeover;
  CHECK(client == expect);
}

}  // namespace

TEST_CASE("the agreement is a few trivially copyable bytes") {
  static_assert(std::is_trivially_copyable_v<DeflateAgreement>);
  static_assert(sizeof(DeflateAgreement) <= 8);
  CHECK_FALSE(DeflateAgreement{}.enabled);
}

TEST_CASE("a bare offer gets both no_context_takeover parameters from the default server") {
  const DeflateNegotiation n = accept("permessage-deflate");
  CHECK(n.response_value() == "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
  CHECK(n.agreement.server_no_context_takeover);
  CHECK(n.agreement.client_no_context_takeover);
  CHECK(n.agreement.server_max_window_bits == 15);
  CHECK(n.agreement.client_max_window_bits == 15);
  CHECK(n.offers == 1);
  CHECK(n.declined == 0);
  check_client_agrees(n);
}

TEST_CASE("a bare offer to a minimal server is answered with the bare name") {
  const DeflateNegotiation n = accept("permessage-deflate", minimal());
  CHECK(n.response_value() == "permessage-deflate");
  CHECK_FALSE(n.agreement.server_no_context_takeover);
  CHECK_FALSE(n.agreement.client_no_context_takeover);
  check_client_agrees(n);
}

TEST_CASE("each offer parameter alone") {
  SUBCASE("server_no_context_takeover is accepted by echoing it (RFC 7692 7.1.1.1)") {
    const DeflateNegotiation n = accept("permessage-deflate; server_no_context_takeover", minimal());
    CHECK(n.response_value() == "permessage-deflate; server_no_context_takeover");
    CHECK(n.agreement.server_no_context_takeover);
    check_client_agrees(n);
  }
  SUBCASE("client_no_context_takeover is echoed when offered, under forbid_if_offered") {
    DeflateOptions o = minimal();
    o.client_context_takeover = ClientContextTakeover::forbid_if_offered;
    const DeflateNegotiation n = accept("permessage-deflate; client_no_context_takeover", o);
    CHECK(n.response_value() == "permessage-deflate; client_no_context_takeover");
    CHECK(n.agreement.client_no_context_takeover);
    check_client_agrees(n);
    CHECK_FALSE(accept("permessage-deflate", o).agreement.client_no_context_takeover);
  }
  SUBCASE("client_no_context_takeover offered to a server that allows takeover is left out") {
    const DeflateNegotiation n = accept("permessage-deflate; client_no_context_takeover", minimal());
    CHECK(n.response_value() == "permessage-deflate");
    CHECK_FALSE(n.agreement.client_no_context_takeover);  // RFC 7692 7.2.2: the server keeps its window
    // The client keeps its promise (RFC 7692 7.1.1.2) all the same.
    DeflateAgreement client;
    REQUIRE(check_deflate_response(n.response_value(), n.offer, client) == DeflateResponse::accepted);
    CHECK(client.client_no_context_takeover);
  }
  SUBCASE("server_max_window_bits is accepted with the same value (RFC 7692 7.1.2.1)") {
    for (int bits = 8; bits <= 15; ++bits) {
      const std::string header = "permessage-deflate; server_max_window_bits=" + std::to_string(bits);
      const DeflateNegotiation n = accept(header, minimal());
      CHECK(n.response_value() == header);
      CHECK(n.agreement.server_max_window_bits == bits);
      check_client_agrees(n);
    }
  }
  SUBCASE("client_max_window_bits without a value: nothing to answer when the server takes 15") {
    const DeflateNegotiation n = accept("permessage-deflate; client_max_window_bits", minimal());
    CHECK(n.response_value() == "permessage-deflate");
    CHECK(n.offer.client_max_window_bits == kNoValue);
    CHECK(n.agreement.client_max_window_bits == 15);
    check_client_agrees(n);
  }
  SUBCASE("client_max_window_bits with a value is restated") {
    const DeflateNegotiation n = accept("permessage-deflate; client_max_window_bits=10", minimal());
    CHECK(n.response_value() == "permessage-deflate; client_max_window_bits=10");
    CHECK(n.agreement.client_max_window_bits == 10);
    check_client_agrees(n);
  }
}

TEST_CASE("all parameters combined") {
  const DeflateNegotiation n = accept(
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; "
      "client_max_window_bits=12");
  CHECK(n.response_value() ==
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; "
        "client_max_window_bits=12");
  CHECK(n.agreement == DeflateAgreement{.enabled = true,
                                        .server_no_context_takeover = true,
                                        .client_no_context_takeover = true,
                                        .server_max_window_bits = 10,
                                        .client_max_window_bits = 12});
  CHECK(n.response_value().size() <= sizeof n.response);
  check_client_agrees(n);
}

TEST_CASE("the longest response fits its buffer") {
  const DeflateNegotiation n = accept(
      "permessage-deflate; client_max_window_bits=15; server_max_window_bits=15; server_no_context_takeover");
  CHECK(n.response_value() ==
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=15; "
        "client_max_window_bits=15");
  CHECK(n.response_value().size() == 128);
  check_client_agrees(n);
}

TEST_CASE("the server's own window limit is answered unasked and caps offered values") {
  DeflateOptions o;
  o.server_max_window_bits = 12;
  CHECK(accept("permessage-deflate", o).response_value() ==
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=12");
  CHECK(accept("permessage-deflate; server_max_window_bits=10", o).agreement.server_max_window_bits == 10);
  const DeflateNegotiation n = accept("permessage-deflate; server_max_window_bits=14", o);
  CHECK(n.agreement.server_max_window_bits == 12);
  check_client_agrees(n);
}

TEST_CASE("a client window limit needs an offer with client_max_window_bits, or no client context takeover") {
  DeflateOptions o;
  o.client_max_window_bits = 10;
  SUBCASE("offered without value: the limit is answered") {
    const DeflateNegotiation n = accept("permessage-deflate; client_max_window_bits", o);
    CHECK(n.agreement.client_max_window_bits == 10);
    CHECK(n.response_value().find("client_max_window_bits=10") != std::string_view::npos);
    check_client_agrees(n);
  }
  SUBCASE("offered with a smaller value: that value") {
    const DeflateNegotiation n = accept("permessage-deflate; client_max_window_bits=9", o);
    CHECK(n.agreement.client_max_window_bits == 9);
    check_client_agrees(n);
  }
  SUBCASE("not offered, client context takeover forbidden: accepted, the pool's 15-bit streams take it") {
    const DeflateNegotiation n = accept("permessage-deflate", o);
    CHECK(n.agreement.client_max_window_bits == 15);
    CHECK(n.response_value().find("client_max_window_bits") == std::string_view::npos);  // RFC 7692 7.1.2.2
    check_client_agrees(n);
  }
  SUBCASE("not offered, client context takeover allowed: declined, then the next offer is taken") {
    o.client_context_takeover = ClientContextTakeover::allow;
    decline("permessage-deflate", o);
    const DeflateNegotiation n = accept("permessage-deflate, permessage-deflate; client_max_window_bits", o);
    CHECK(n.offers == 2);
    CHECK(n.declined == 1);
    CHECK(n.agreement.client_max_window_bits == 10);
  }
}

TEST_CASE("a dedicated compressor keeps server context takeover unless the client refuses it") {
  DeflateOptions o;
  o.dedicated_compressor = true;
  CHECK_FALSE(accept("permessage-deflate", o).agreement.server_no_context_takeover);
  CHECK(accept("permessage-deflate; server_no_context_takeover", o).agreement.server_no_context_takeover);
}

TEST_CASE("client_no_context_takeover policies") {
  DeflateOptions o;
  o.client_context_takeover = ClientContextTakeover::forbid;
  CHECK(accept("permessage-deflate", o).agreement.client_no_context_takeover);
  o.client_context_takeover = ClientContextTakeover::allow;
  CHECK_FALSE(accept("permessage-deflate; client_no_context_takeover", o).agreement.client_no_context_takeover);
}

TEST_CASE("several offers: the first acceptable one in the client's order wins") {
  const DeflateNegotiation n = accept(
      "permessage-deflate; server_max_window_bits=10; client_max_window_bits, permessage-deflate", minimal());
  CHECK(n.agreement.server_max_window_bits == 10);
  CHECK(n.offers == 1);  // the rest is not looked at

  const DeflateNegotiation m = accept("permessage-deflate; foo, permessage-deflate; server_max_window_bits=9", minimal());
  CHECK(m.agreement.server_max_window_bits == 9);
  CHECK(m.offers == 2);
  CHECK(m.declined == 1);
}

TEST_CASE("invalid offers are declined (RFC 7692 7)") {
  const char* const invalid[] = {
      "permessage-deflate; foo",                                                // unknown parameter
      "permessage-deflate; foo=1",                                              // unknown parameter with a value
      "permessage-deflate; Server_No_Context_Takeover",                         // names are exact
      "permessage-deflate; server_no_context_takeover; server_no_context_takeover",  // duplicate
      "permessage-deflate; client_max_window_bits; client_max_window_bits=10",  // duplicate
      "permessage-deflate; server_no_context_takeover=1",                       // no value allowed
      "permessage-deflate; client_no_context_takeover=\"\"",                    // no value allowed
      "permessage-deflate; server_max_window_bits",                             // value required
      "permessage-deflate; server_max_window_bits=7",                           // below 8
      "permessage-deflate; server_max_window_bits=16",                          // above 15
      "permessage-deflate; server_max_window_bits=08",                          // leading zero
      "permessage-deflate; server_max_window_bits=010",                         // leading zero
      "permessage-deflate; server_max_window_bits=abc",                         // not a number
      "permessage-deflate; server_max_window_bits=+9",                          // not a plain number
      "permessage-deflate; client_max_window_bits=0",                           // out of range
      "permessage-deflate; client_max_window_bits=\"10 \"",                     // not a token once unquoted
      "permessage-deflate; client_max_window_bits=\"1234567890123456789\"",     // long quoted value
  };
  for (const char* header : invalid) decline(header);
}

TEST_CASE("quoted-string values are unescaped before validation (RFC 6455 9.1)") {
  CHECK(accept("permessage-deflate; server_max_window_bits=\"10\"").agreement.server_max_window_bits == 10);
  CHECK(accept("permessage-deflate; client_max_window_bits=\"1\\2\"").agreement.client_max_window_bits == 12);
  // A quoted comma belongs to the value, not to the list.
  const DeflateNegotiation n = accept("x-foo; a=\"b, permessage-deflate\", permessage-deflate");
  CHECK(n.offers == 1);
}

TEST_CASE("malformed elements are declined and parsing resumes at the next top-level comma") {
  const char* const malformed[] = {
      "permessage-deflate;",                      // parameter missing after ';'
      "permessage-deflate; =10",                  // parameter name missing
      "permessage-deflate x",                     // junk after the name
      "permessage-deflate; server_max_window_bits=",  // value missing
      "permessage-deflate; client_max_window_bits=\"10",  // unterminated quoted string
      "permessage-deflate; client_max_window_bits=\"1\x01\"",  // control character in a quoted string
      "; permessage-deflate",                     // element without a name
      "\"permessage-deflate\"",                   // a name is a token, not a quoted string
      "permessage-deflate; server_max_window_bits=1 0",  // two tokens for one value
  };
  for (const char* header : malformed) decline(header);

  const DeflateNegotiation n = accept("permessage-deflate;;, permessage-deflate; client_max_window_bits");
  CHECK(n.offers == 2);
  CHECK(n.declined == 1);
  CHECK(n.offer.client_max_window_bits == kNoValue);
  CHECK(accept("permessage-deflate; x=\"a,b\" junk, permessage-deflate").offers == 2);
}

TEST_CASE("whitespace, empty list elements and other extensions are tolerated") {
  CHECK(accept(" \t,, permessage-deflate\t;\tclient_max_window_bits = 10 ,, ").agreement.client_max_window_bits == 10);
  const DeflateNegotiation n = accept("x-webkit-deflate-frame; no_context_takeover, permessage-deflate");
  CHECK(n.offers == 1);
  decline("");
  decline(" , ,");
  decline("x-webkit-deflate-frame");
  decline("permessage-deflat");
  decline("permessage-deflate-x");
}

TEST_CASE("a disabled extension accepts nothing") {
  DeflateOptions o;
  o.enabled = false;
  decline("permessage-deflate", o);
}

TEST_CASE("options are checked") {
  CHECK(DeflateOptions{}.check() == nullptr);
  CHECK(DeflateOptions{.server_max_window_bits = 7}.check() != nullptr);
  CHECK(DeflateOptions{.client_max_window_bits = 16}.check() != nullptr);
  CHECK(DeflateOptions{.level = 0}.check() != nullptr);
  CHECK(DeflateOptions{.mem_level = 10}.check() != nullptr);
}

TEST_CASE("client offers are formatted as RFC 7692 elements") {
  CHECK(format_deflate_offer({}) == "permessage-deflate");
  CHECK(format_deflate_offer({.client_max_window_bits = kNoValue}) == "permessage-deflate; client_max_window_bits");
  CHECK(format_deflate_offer({.server_no_context_takeover = true,
                              .client_no_context_takeover = true,
                              .server_max_window_bits = 9,
                              .client_max_window_bits = 12}) ==
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; "
        "client_max_window_bits=12");
}

TEST_CASE("client: responses that accept the offer") {
  const DeflateParams offer{.client_max_window_bits = kNoValue};
  DeflateAgreement a;
  CHECK(check_deflate_response("permessage-deflate", offer, a) == DeflateResponse::accepted);
  CHECK(a == DeflateAgreement{.enabled = true});
  CHECK(check_deflate_response("permessage-deflate; server_no_context_takeover; client_max_window_bits=9", offer, a) ==
        DeflateResponse::accepted);
  CHECK(a.server_no_context_takeover);
  CHECK(a.client_max_window_bits == 9);
  // The server may add server_no_context_takeover, client_no_context_takeover and server_max_window_bits unasked.
  CHECK(check_deflate_response("permessage-deflate; client_no_context_takeover; server_max_window_bits=8", offer, a) ==
        DeflateResponse::accepted);
  CHECK(a.client_no_context_takeover);
  CHECK(a.server_max_window_bits == 8);
  // The offer's client window value holds even if the response leaves it out.
  CHECK(check_deflate_response("permessage-deflate", {.client_max_window_bits = 11}, a) == DeflateResponse::accepted);
  CHECK(a.client_max_window_bits == 11);
}

TEST_CASE("client: no extension in the response means none is in use") {
  DeflateAgreement a;
  CHECK(check_deflate_response("", {}, a) == DeflateResponse::declined);
  CHECK(check_deflate_response(" , ", {}, a) == DeflateResponse::declined);
  CHECK_FALSE(a.enabled);
}

TEST_CASE("client: responses that fail the connection") {
  struct Case {
    const char* response;
    DeflateParams offer;
  };
  const Case cases[] = {
      {"permessage-deflate; foo", {}},                                     // unknown parameter
      {"permessage-deflate; server_no_context_takeover; server_no_context_takeover", {}},  // duplicate
      {"permessage-deflate; server_max_window_bits=16", {}},               // invalid value
      {"permessage-deflate; server_max_window_bits", {}},                  // missing value
      {"permessage-deflate; client_max_window_bits=10", {}},               // not offered (7.1.2.2)
      {"permessage-deflate; client_max_window_bits", {.client_max_window_bits = kNoValue}},  // needs a value
      {"permessage-deflate; client_max_window_bits=12", {.client_max_window_bits = 10}},     // above the offer
      {"permessage-deflate; server_max_window_bits=12", {.server_max_window_bits = 10}},     // above the offer
      {"permessage-deflate", {.server_max_window_bits = 10}},               // offered parameter not accepted
      {"permessage-deflate", {.server_no_context_takeover = true}},        // offered parameter not accepted
      {"permessage-deflate, permessage-deflate", {}},                      // two answers to one offer
      {"x-foo", {}},                                                       // not offered (RFC 6455 4.1)
      {"permessage-deflate, x-foo", {}},                                   // not offered
      {"permessage-deflate;", {}},                                         // malformed
      {"permessage-deflate; server_max_window_bits=\"1", {}},              // malformed
  };
  for (const Case& c : cases) {
    CAPTURE(c.response);
    DeflateAgreement a;
    CHECK(check_deflate_response(c.response, c.offer, a) == DeflateResponse::fail);
    CHECK_FALSE(a.enabled);
  }
}

TEST_CASE("every combination of offer parameters and server options yields a response its client accepts") {
  const char* const params[] = {"server_no_context_takeover", "client_no_context_takeover",
                                "server_max_window_bits=9", "client_max_window_bits", "client_max_window_bits=11"};
  int accepted = 0;
  for (unsigned mask = 0; mask < 32; ++mask) {
    if ((mask & 8) && (mask & 16)) continue;  // one client_max_window_bits at most
    std::string header = "permessage-deflate";
    for (int i = 0; i < 5; ++i) {
      if (mask & (1u << i)) header += std::string("; ") + params[i];
    }
    for (const auto policy : {ClientContextTakeover::forbid, ClientContextTakeover::forbid_if_offered,
                              ClientContextTakeover::allow}) {
      for (const bool dedicated : {false, true}) {
        for (const std::uint8_t sbits : {std::uint8_t{8}, std::uint8_t{12}, std::uint8_t{15}}) {
          for (const std::uint8_t cbits : {std::uint8_t{8}, std::uint8_t{15}}) {
            const DeflateOptions o{.server_max_window_bits = sbits, .client_max_window_bits = cbits,
                                   .client_context_takeover = policy, .dedicated_compressor = dedicated};
            CAPTURE(header);
            const DeflateNegotiation n = negotiate_deflate(header, o);
            if (!n.agreement.enabled) {
              // Only a client window limit the offer gives no way to express is a reason to decline.
              CHECK(cbits < 15);
              CHECK(n.offer.client_max_window_bits == 0);
              CHECK_FALSE(n.agreement.client_no_context_takeover);
              continue;
            }
            ++accepted;
            const DeflateAgreement& a = n.agreement;
            CHECK(a.server_max_window_bits <= sbits);
            CHECK(a.client_max_window_bits <= 15);
            if (n.offer.server_max_window_bits) CHECK(a.server_max_window_bits <= n.offer.server_max_window_bits);
            if (n.offer.server_no_context_takeover || !dedicated) CHECK(a.server_no_context_takeover);
            check_client_agrees(n);
          }
        }
      }
    }
  }
  CHECK(accepted > 0);
}
