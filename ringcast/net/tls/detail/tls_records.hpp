#pragma once
// TlsRecords: the TLS 1.3 record layer of one connection after its handshake (RFC 8446 §5), in
// place of OpenSSL's SSL object — what kernel TLS would do, in user space. OpenSSL does the
// handshake; then the connection keeps only its two traffic secrets, keys, IVs and sequence numbers
// (about 250 B, against about 12 KB for the SSL object and its contexts). The AEAD contexts are the
// thread's, one per suite and direction, keyed again when another connection uses them.
//
// Reading parses records incrementally (a record split across receives is kept until whole; only
// then is memory held for it), decrypts application data to the caller, follows the peer's KeyUpdate
// (answering one that asks for ours) and its alerts; anything else gets a fatal alert (RFC 8446 §6.2)
// and ends the connection. Writing seals plaintext into records of at most 2^14 bytes.
//
// Suites: TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256. Used by one
// thread at a time.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace ringcast {

class TlsRecords {
 public:
  enum class Suite : uint8_t { kAes128Gcm, kAes256Gcm, kChacha20Poly1305 };
  // The suite of an IANA cipher suite number (0x1301…0x1303); nullopt for any other.
  static std::optional<Suite> suite_for(uint16_t protocol_id) noexcept;
  // The length of the suite's traffic secrets (its hash's output).
  static size_t secret_size(Suite suite) noexcept;

  // Receives every byte of ciphertext (records, alerts), in order.
  struct Output {
    void (*sink)(void* arg, const uint8_t* data, size_t n);
    void* arg;
  };

  enum class Result : uint8_t {
    kDone,      // read: `n` bytes of plaintext (0: no room in `out` for the next record); write: all sealed
    kWantMore,  // read: every input byte used, no plaintext
    kClosed,    // the peer sent close_notify
    kError,     // a bad record or an alert from the peer; error() says which
  };

  // `read_secret`/`write_secret`: the peer's and our application traffic secrets, secret_size()
  // bytes each; `write_seq`/`read_seq`: the records already sent/received under them.
  TlsRecords(Suite suite, const uint8_t* read_secret, const uint8_t* write_secret, uint64_t write_seq,
             uint64_t read_seq = 0);
  ~TlsRecords();
  TlsRecords(const TlsRecords&) = delete;
  TlsRecords& operator=(const TlsRecords&) = delete;

  // False when the keys could not be derived.
  bool valid() const noexcept { return state_ != State::kFailed; }

  // Decrypts from `in` (advanced past what is used) into `out`.
  Result read(const uint8_t*& in, size_t& in_size, uint8_t* out, size_t capacity, size_t& n, const Output& o);
  // Seals all of `data`: kDone or kError (closed, or a failure).
  Result write(const uint8_t* data, size_t n, const Output& o);
  // close_notify (once).
  void close(const Output& o);
  // Our KeyUpdate (RFC 8446 §4.6.3), asking the peer for its own with `request_peer`; later records
  // go under the next write key.
  void key_update(bool request_peer, const Output& o);
  // One record of any inner content type with `padding` zeros after it (at most 2^14 bytes in all):
  // for the tests and the fuzz target, which play the peer.
  void send_record(uint8_t type, const uint8_t* data, size_t n, size_t padding, const Output& o);
  const std::string& error() const noexcept { return error_; }

  // The bytes a record's body may have (RFC 8446 §5.2: 2^14 + 256).
  static constexpr size_t kMaxCiphertext = (1 << 14) + 256;
  static constexpr size_t kMaxPlaintext = 1 << 14;
  // Records sealed under one write key before our own KeyUpdate replaces it: AES-GCM's safety margin
  // ends near 2^24.5 full records per key (RFC 8446 §5.5); a long-lived busy connection reaches it.
  static constexpr uint64_t kRecordsPerKey = uint64_t{1} << 24;
  // The peer's KeyUpdates one after another with no data between that are taken; one more ends the
  // connection. Each costs a key derivation, and one that asks for ours a record to send back:
  // without a bound, a stream of 22-byte records buys many times their cost in CPU (BoringSSL's bound).
  static constexpr uint8_t kMaxKeyUpdatesInARow = 32;

 private:
  struct Direction {
    uint8_t secret[48];
    uint8_t key[32];
    uint8_t iv[12];
    uint64_t seq = 0;
  };
  enum class State : uint8_t { kOpen, kPeerClosed, kFailed };

  bool derive(Direction& d) noexcept;
  bool update(Direction& d) noexcept;  // KeyUpdate: the next generation of the secret (RFC 8446 §7.2)
  void seal(uint8_t type, const uint8_t* data, size_t n, const Output& o, size_t padding = 0);
  bool open(const uint8_t* body, size_t len, uint8_t* out) noexcept;
  Result handshake(const uint8_t* msg, size_t len, const Output& o);
  Result fail(uint8_t alert, const char* why, const Output& o);

  Direction read_;
  Direction write_;
  Suite suite_;
  State state_ = State::kOpen;
  bool sent_close_ = false;
  uint8_t key_updates_in_a_row_ = 0;  // the peer's, since its last record of data
  uint8_t head_have_ = 0;  // bytes of the current record's header received
  uint8_t head_[5];
  uint16_t body_have_ = 0;    // bytes of its body in body_
  uint8_t* body_ = nullptr;   // a record split across receives, while incomplete
  std::string error_;
};

}  // namespace ringcast
