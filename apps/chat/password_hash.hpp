#pragma once
// Password hashes for the chat's users file: scrypt (RFC 7914) through OpenSSL's EVP_PBE_scrypt, a
// 16-byte random salt and a 32-byte key, written as a PHC string:
//
//   $scrypt$ln=15,r=8,p=1$<salt>$<key>          (salt and key in base64, RFC 4648 §4, no padding)
//
// ln is log2 of scrypt's N. The default, ln=15 r=8 p=1, takes 32 MiB and about 0.1 s of one core per
// hash (apps/chat/README.md); every hash carries its own parameters, so raising the cost later
// leaves old lines valid. Verification recomputes the key and compares it in constant
// time (CRYPTO_memcmp).
//
// Threads: the functions keep no state; any thread may call them. Each call blocks its thread for the
// whole computation, so the server calls them on its login threads (ChatServer::logins), never on a
// shard, where every connection of the shard would wait.
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ringcast::chat {

struct ScryptParams {
  unsigned log2_n = 15;  // N = 2^15
  unsigned r = 8;        // block size: 128·r bytes per block, memory 128·r·N
  unsigned p = 1;        // parallelism
};

// The range of parameters a hash may ask for: a users file cannot make the server spend more than
// 1 GiB or a minute on one login.
inline bool scrypt_params_ok(const ScryptParams& s) noexcept {
  if (s.log2_n < 10 || s.log2_n > 22 || s.r < 1 || s.r > 32 || s.p < 1 || s.p > 16) return false;
  return (uint64_t{128} * s.r << s.log2_n) <= (uint64_t{1} << 30);
}

namespace detail {

inline constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

inline std::string base64_encode(const uint8_t* p, size_t n) {
  std::string out;
  out.reserve((n + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    const uint32_t v = uint32_t{p[i]} << 16 | uint32_t{p[i + 1]} << 8 | p[i + 2];
    for (int s = 18; s >= 0; s -= 6) out += kBase64[(v >> s) & 63];
  }
  if (n - i == 1) {
    const uint32_t v = uint32_t{p[i]} << 16;
    out += kBase64[v >> 18];
    out += kBase64[(v >> 12) & 63];
  } else if (n - i == 2) {
    const uint32_t v = uint32_t{p[i]} << 16 | uint32_t{p[i + 1]} << 8;
    out += kBase64[v >> 18];
    out += kBase64[(v >> 12) & 63];
    out += kBase64[(v >> 6) & 63];
  }
  return out;
}

// Unpadded base64; nullopt on a character outside the alphabet, a length of 4k+1, or non-zero
// trailing bits (so each byte string has exactly one encoding).
inline std::optional<std::string> base64_decode(std::string_view s) {
  if (s.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(s.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (const char c : s) {
    int v;
    if (c >= 'A' && c <= 'Z') {
      v = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      v = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      v = c - '0' + 52;
    } else if (c == '+') {
      v = 62;
    } else if (c == '/') {
      v = 63;
    } else {
      return std::nullopt;
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  if (acc & ((1u << bits) - 1)) return std::nullopt;
  return out;
}

inline bool parse_uint(std::string_view s, unsigned& out) {
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && !s.empty();
}

inline bool scrypt_key(std::string_view password, std::string_view salt, const ScryptParams& s, uint8_t* key,
                       size_t key_len) {
  const uint64_t n = uint64_t{1} << s.log2_n;
  // EVP_PBE_scrypt refuses to use more than maxmem: 128·r·(N + p + 2) bytes is what it needs.
  const uint64_t maxmem = uint64_t{128} * s.r * (n + s.p + 2) + (1 << 20);
  return EVP_PBE_scrypt(password.data(), password.size(), reinterpret_cast<const unsigned char*>(salt.data()),
                        salt.size(), n, s.r, s.p, maxmem, key, key_len) == 1;
}

}  // namespace detail

// A decoded PHC scrypt string.
struct PasswordHash {
  ScryptParams params;
  std::string salt;  // bytes
  std::string key;   // bytes

  static constexpr size_t kSaltSize = 16;
  static constexpr size_t kKeySize = 32;

  // Parses "$scrypt$ln=L,r=R,p=P$salt$key"; nullopt when malformed or out of scrypt_params_ok.
  static std::optional<PasswordHash> parse(std::string_view s) {
    constexpr std::string_view kPrefix = "$scrypt$";
    if (s.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
    s.remove_prefix(kPrefix.size());
    auto next = [&s](char sep) {
      const size_t at = s.find(sep);
      std::string_view field = s.substr(0, at);
      s = at == std::string_view::npos ? std::string_view{} : s.substr(at + 1);
      return field;
    };
    std::string_view params = next('$');
    const std::string_view salt = next('$');
    const std::string_view key = s;
    if (key.find('$') != std::string_view::npos) return std::nullopt;
    PasswordHash h;
    const std::string_view names[3] = {"ln=", "r=", "p="};
    unsigned* values[3] = {&h.params.log2_n, &h.params.r, &h.params.p};
    for (int i = 0; i < 3; ++i) {
      const size_t comma = params.find(',');
      const std::string_view field = params.substr(0, comma);
      if (field.substr(0, names[i].size()) != names[i] || !detail::parse_uint(field.substr(names[i].size()), *values[i])) {
        return std::nullopt;
      }
      if ((i < 2) != (comma != std::string_view::npos)) return std::nullopt;
      params = i < 2 ? params.substr(comma + 1) : std::string_view{};
    }
    if (!scrypt_params_ok(h.params)) return std::nullopt;
    auto salt_bytes = detail::base64_decode(salt);
    auto key_bytes = detail::base64_decode(key);
    if (!salt_bytes || !key_bytes || salt_bytes->size() < 8 || key_bytes->size() < 16 || key_bytes->size() > 64) {
      return std::nullopt;
    }
    h.salt = std::move(*salt_bytes);
    h.key = std::move(*key_bytes);
    return h;
  }

  std::string to_string() const {
    return "$scrypt$ln=" + std::to_string(params.log2_n) + ",r=" + std::to_string(params.r) +
           ",p=" + std::to_string(params.p) + "$" +
           detail::base64_encode(reinterpret_cast<const uint8_t*>(salt.data()), salt.size()) + "$" +
           detail::base64_encode(reinterpret_cast<const uint8_t*>(key.data()), key.size());
  }

  // Recomputes the key for `password` and compares in constant time.
  bool matches(std::string_view password) const {
    uint8_t computed[64];
    if (!detail::scrypt_key(password, salt, params, computed, key.size())) return false;
    const bool same = CRYPTO_memcmp(computed, key.data(), key.size()) == 0;
    OPENSSL_cleanse(computed, sizeof computed);
    return same;
  }
};

// A new PHC string for `password` with a fresh random salt; nullopt when OpenSSL fails (no entropy,
// no memory).
inline std::optional<std::string> hash_password(std::string_view password, ScryptParams params = {}) {
  if (!scrypt_params_ok(params)) return std::nullopt;
  PasswordHash h;
  h.params = params;
  h.salt.resize(PasswordHash::kSaltSize);
  h.key.resize(PasswordHash::kKeySize);
  if (RAND_bytes(reinterpret_cast<unsigned char*>(h.salt.data()), static_cast<int>(h.salt.size())) != 1) {
    return std::nullopt;
  }
  if (!detail::scrypt_key(password, h.salt, params, reinterpret_cast<uint8_t*>(h.key.data()), h.key.size())) {
    return std::nullopt;
  }
  return h.to_string();
}

// True when `encoded` is a well-formed hash and `password` matches it.
inline bool verify_password(std::string_view password, std::string_view encoded) {
  const auto h = PasswordHash::parse(encoded);
  return h && h->matches(password);
}

}  // namespace ringcast::chat
