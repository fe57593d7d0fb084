// libFuzzer target for ringcast/ws/deflate/permessage_deflate. The first byte picks the server options
// (and the client's offer for the response check); the rest is a Sec-WebSocket-Extensions value.
// Checked: an accepted agreement satisfies RFC 7692 §7 for the accepted offer and the options; the
// response is accepted by the client-side check with the same agreement; the offer, formatted again,
// negotiates the same agreement; the client-side check of the raw value never accepts what the offer
// does not allow.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <ringcast/ws/deflate/permessage_deflate.hpp>

using namespace ringcast;

namespace {

void require(bool ok) {
  if (!ok) __builtin_trap();
}

bool valid_bits(std::uint8_t b) { return b >= kMinWindowBits && b <= kMaxWindowBits; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t m = data[0];
  const std::string_view header(reinterpret_cast<const char*>(data + 1), size - 1);

  DeflateOptions o;
  o.client_context_takeover = static_cast<ClientContextTakeover>(m % 3);
  o.dedicated_compressor = (m & 4) != 0;
  o.server_max_window_bits = static_cast<std::uint8_t>((m & 8) != 0 ? 15 : 8 + (m >> 5));
  o.client_max_window_bits = static_cast<std::uint8_t>((m & 16) != 0 ? 15 : 8 + ((m >> 4) & 7));
  require(o.check() == nullptr);

  const DeflateNegotiation n = negotiate_deflate(header, o);
  require(n.declined <= n.offers);
  if (n.agreement.enabled) {
    const DeflateAgreement& a = n.agreement;
    const DeflateParams& offer = n.offer;
    require(valid_bits(a.server_max_window_bits) && valid_bits(a.client_max_window_bits));
    require(n.response_value().substr(0, 18) == "permessage-deflate");
    require(a.server_max_window_bits <= o.server_max_window_bits);
    if (offer.server_max_window_bits != 0) require(a.server_max_window_bits <= offer.server_max_window_bits);
    if (offer.server_no_context_takeover || !o.dedicated_compressor) require(a.server_no_context_takeover);
    if (o.client_context_takeover == ClientContextTakeover::forbid) require(a.client_no_context_takeover);
    if (o.client_context_takeover == ClientContextTakeover::allow) require(!a.client_no_context_takeover);
    if (offer.client_max_window_bits == 0) {
      require(n.response_value().find("client_max_window_bits") == std::string_view::npos);  // §7.1.2.2
      require(a.client_max_window_bits == kMaxWindowBits);
      require(o.client_max_window_bits == kMaxWindowBits || a.client_no_context_takeover);
    } else {
      require(a.client_max_window_bits <= o.client_max_window_bits);
      if (offer.client_max_window_bits != kWindowBitsNoValue) require(a.client_max_window_bits <= offer.client_max_window_bits);
    }
    DeflateAgreement client;
    require(check_deflate_response(n.response_value(), offer, client) == DeflateResponse::accepted);
    DeflateAgreement expect = a;
    expect.client_no_context_takeover |= offer.client_no_context_takeover;  // the client keeps its promise
    require(client == expect);
    const DeflateNegotiation again = negotiate_deflate(format_deflate_offer(offer), o);
    require(again.agreement == a && again.response_value() == n.response_value());
  } else {
    require(n.response_value().empty());
  }

  // The raw value as a server response to an offer chosen by the same byte.
  DeflateParams offer;
  offer.server_no_context_takeover = (m & 1) != 0;
  offer.client_no_context_takeover = (m & 2) != 0;
  offer.server_max_window_bits = (m & 8) != 0 ? 0 : static_cast<std::uint8_t>(8 + (m >> 5));
  offer.client_max_window_bits = (m & 16) != 0 ? kWindowBitsNoValue : (m & 4) != 0 ? 0 : static_cast<std::uint8_t>(8 + ((m >> 4) & 7));
  DeflateAgreement a;
  const DeflateResponse r = check_deflate_response(header, offer, a);
  require(a.enabled == (r == DeflateResponse::accepted));
  if (r == DeflateResponse::accepted) {
    require(valid_bits(a.server_max_window_bits) && valid_bits(a.client_max_window_bits));
    if (offer.server_no_context_takeover) require(a.server_no_context_takeover);
    if (offer.client_no_context_takeover) require(a.client_no_context_takeover);
    if (offer.server_max_window_bits != 0) require(a.server_max_window_bits <= offer.server_max_window_bits);
    if (offer.client_max_window_bits == 0) require(a.client_max_window_bits == kMaxWindowBits);
    if (offer.client_max_window_bits != 0 && offer.client_max_window_bits != kWindowBitsNoValue) {
      require(a.client_max_window_bits <= offer.client_max_window_bits);
    }
  }
  return 0;
}
