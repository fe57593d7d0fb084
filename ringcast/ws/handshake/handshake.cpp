#include <ringcast/ws/handshake/handshake.hpp>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstring>

#include <ringcast/ws/handshake/detail/sha1.hpp>

namespace ringcast {
namespace {

int base64_value(char c) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

bool is_ows(char c) noexcept { return c == ' ' || c == '\t'; }

std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

bool websocket_key_valid(std::string_view key) noexcept {
  if (key.size() != kWebSocketKeySize || key[22] != '=' || key[23] != '=') return false;
  for (size_t i = 0; i < 22; ++i) {
    if (base64_value(key[i]) < 0) return false;
  }
  // 22 characters carry 132 bits; the 16 bytes take 128, the low 4 bits of the last one must be 0.
  return (base64_value(key[21]) & 0x0F) == 0;
}

bool write_websocket_accept(std::string_view key, char* out) noexcept {
  const std::array<uint8_t, 20> digest = detail::sha1(key, kWebSocketGuid);
  unsigned char encoded[kWebSocketAcceptSize + 1];  // EVP_EncodeBlock appends a NUL
  EVP_EncodeBlock(encoded, digest.data(), 20);
  std::memcpy(out, encoded, kWebSocketAcceptSize);
  return true;
}

std::string websocket_accept(std::string_view key) {
  std::string out(kWebSocketAcceptSize, '\0');
  if (!write_websocket_accept(key, out.data())) out.clear();
  return out;
}

std::string make_websocket_key(std::span<const uint8_t, 16> nonce) {
  unsigned char encoded[kWebSocketKeySize + 1];
  EVP_EncodeBlock(encoded, nonce.data(), 16);
  return std::string(reinterpret_cast<const char*>(encoded), kWebSocketKeySize);
}

std::string make_websocket_key() {
  uint8_t nonce[16];
  if (RAND_bytes(nonce, sizeof nonce) != 1) return {};
  return make_websocket_key(std::span<const uint8_t, 16>(nonce));
}

bool websocket_accept_matches(std::string_view key, std::string_view accept) noexcept {
  char expected[kWebSocketAcceptSize];
  return accept.size() == kWebSocketAcceptSize && write_websocket_accept(key, expected) &&
         std::memcmp(expected, accept.data(), kWebSocketAcceptSize) == 0;
}

std::string_view select_subprotocol(std::string_view offered, std::span<const std::string_view> supported) noexcept {
  for (const std::string_view want : supported) {
    if (want.empty()) continue;
    std::string_view rest = offered;
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      const std::string_view token = trim_ows(rest.substr(0, comma));
      if (token == want) return want;
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return {};
}

}  // namespace ringcast
