#include <ringcast/net/tls/detail/ticket_keys.hpp>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include <cstring>
#include <ctime>
#include <stdexcept>

namespace ringcast {

struct TicketKeys::Callback {
  // OpenSSL's ticket key callback. enc = 1: a new ticket, with the current period's key. enc = 0: a
  // ticket to open — 0: not ours or too old (full handshake), 1: good, 2: good, and replace it.
  static int run(SSL* ssl, unsigned char name[16], unsigned char* iv, EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac,
                 int enc) {
    const auto* keys = static_cast<const TicketKeys*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), index()));
    if (!keys) return enc ? -1 : 0;
    const int64_t now = keys->period();
    int64_t period = now;
    unsigned char expected[16], aes[32], hmac[32];
    if (!enc) {
      period = 0;
      for (int i = 0; i < 8; ++i) period = (period << 8) | name[i];
      if (period != now && period != now - 1) return 0;
    }
    keys->derive(period, expected, aes, hmac);
    if (enc) {
      std::memcpy(name, expected, 16);
      if (RAND_bytes(iv, 16) != 1) return -1;
    } else if (CRYPTO_memcmp(name, expected, 16) != 0) {
      return 0;  // another process's ticket, or a forged name
    }
    char digest[] = "SHA256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, hmac, sizeof hmac),
                                 OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                                 OSSL_PARAM_construct_end()};
    const bool ok = EVP_MAC_CTX_set_params(mac, params) == 1 &&
                    (enc ? EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, aes, iv)
                         : EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, aes, iv)) == 1;
    OPENSSL_cleanse(aes, sizeof aes);
    OPENSSL_cleanse(hmac, sizeof hmac);
    if (!ok) return enc ? -1 : 0;
    return enc || period == now ? 1 : 2;
  }

  // Where a context keeps its TicketKeys (ex_data of the SSL_CTX).
  static int index() {
    static const int i = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return i;
  }
};

TicketKeys::TicketKeys(std::chrono::seconds interval, Clock clock, std::string_view shared_secret)
    : interval_s_(interval.count() > 0 ? interval.count() : 1), clock_(clock) {
  if (shared_secret.empty()) {
    if (RAND_priv_bytes(secret_, sizeof secret_) != 1) throw std::runtime_error("RAND_priv_bytes failed");
    return;
  }
  // Whatever the file's form (raw bytes, hex, base64), 32 bytes of key from it.
  static constexpr char kLabel[] = "ringcast ticket secret";
  unsigned int n = sizeof secret_;
  HMAC(EVP_sha256(), kLabel, sizeof kLabel - 1, reinterpret_cast<const unsigned char*>(shared_secret.data()),
       shared_secret.size(), secret_, &n);
}

void TicketKeys::install(SSL_CTX* ctx) const {
  SSL_CTX_set_ex_data(ctx, Callback::index(), const_cast<TicketKeys*>(this));
  SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, &Callback::run);
  // A ticket's lifetime (the hint to clients, and what OpenSSL checks on resumption): two periods.
  SSL_CTX_set_timeout(ctx, static_cast<long>(2 * interval_s_));
}

int64_t TicketKeys::period() const noexcept {
  const int64_t now = clock_ ? clock_() : static_cast<int64_t>(std::time(nullptr));
  return now / interval_s_;
}

void TicketKeys::derive(int64_t period, unsigned char name[16], unsigned char aes[32], unsigned char mac[32]) const {
  // HMAC-SHA256(secret, label || period): one output per use, so no key serves two purposes.
  auto prf = [this, period](char label, unsigned char out[32]) {
    unsigned char msg[9];
    msg[0] = static_cast<unsigned char>(label);
    for (int i = 0; i < 8; ++i) msg[1 + i] = static_cast<unsigned char>(static_cast<uint64_t>(period) >> (56 - 8 * i));
    unsigned int n = 32;
    HMAC(EVP_sha256(), secret_, sizeof secret_, msg, sizeof msg, out, &n);
  };
  unsigned char tag[32];
  prf('n', tag);
  for (int i = 0; i < 8; ++i) name[i] = static_cast<unsigned char>(static_cast<uint64_t>(period) >> (56 - 8 * i));
  std::memcpy(name + 8, tag, 8);
  prf('e', aes);
  prf('m', mac);
}

}  // namespace ringcast
