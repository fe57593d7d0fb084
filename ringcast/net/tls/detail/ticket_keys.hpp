#pragma once
// TicketKeys: the keys a server encrypts its session tickets with (TLS 1.3 and 1.2), rotated by time.
// Time is cut into periods of `interval`; the key of the current period encrypts new tickets, a
// ticket of the period before is still accepted (and the client is given a new one), anything older
// is refused and the client makes a full handshake. A ticket is therefore good for one to two
// intervals, and a stolen ticket key is useless two intervals later.
//
// The key of a period is derived from a random secret made at start (HMAC-SHA256 over the period's
// number), rather than held in a ring that a timer rotates: every shard computes the same key from
// the clock alone, with nothing shared to lock or to update, and OpenSSL's callback
// (SSL_CTX_set_tlsext_ticket_key_evp_cb) may run on any of them at once. OpenSSL's default — one
// random key per SSL_CTX, never rotated — would also make every reload void all tickets; a reloaded
// TlsContext shares its predecessor's TicketKeys instead. The secret is random and never leaves the
// process (tickets resume on this node only), unless the operator gives one that every node of a
// cluster shares: then a ticket resumes on any of them.
#include <chrono>
#include <cstdint>
#include <string_view>

struct ssl_ctx_st;

namespace ringcast {

class TicketKeys {
 public:
  using Clock = int64_t (*)();  // seconds since the epoch

  // `clock`: null for the system's clock (tests pass one they move). `shared_secret`: empty for a
  // random secret; otherwise bytes every node that should resume the others' tickets holds (at least
  // 32, checked by the caller), from which the secret is derived.
  TicketKeys(std::chrono::seconds interval, Clock clock, std::string_view shared_secret = {});
  // The context's tickets are encrypted and checked with these keys; the keys must outlive it.
  void install(ssl_ctx_st* ctx) const;

  std::chrono::seconds interval() const noexcept { return std::chrono::seconds(interval_s_); }

 private:
  struct Callback;

  int64_t period() const noexcept;
  // The name (16 bytes: the period, then a tag that only this secret makes), AES-256 key and HMAC key
  // of a period.
  void derive(int64_t period, unsigned char name[16], unsigned char aes[32], unsigned char mac[32]) const;

  unsigned char secret_[32];
  int64_t interval_s_;
  Clock clock_;
};

}  // namespace ringcast
