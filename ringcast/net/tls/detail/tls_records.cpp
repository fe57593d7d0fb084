#include <ringcast/net/tls/detail/tls_records.hpp>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace ringcast {
namespace {

// RFC 8446 §5.1 and §6: content types and the alerts sent here.
constexpr uint8_t kAlertType = 21;
constexpr uint8_t kHandshakeType = 22;
constexpr uint8_t kApplicationData = 23;
constexpr uint8_t kCloseNotify = 0;
constexpr uint8_t kUnexpectedMessage = 10;
constexpr uint8_t kBadRecordMac = 20;
constexpr uint8_t kRecordOverflow = 22;
constexpr uint8_t kDecodeError = 50;
constexpr uint8_t kInternalError = 80;
constexpr uint8_t kKeyUpdate = 24;  // handshake message type
constexpr size_t kTag = 16;
constexpr size_t kNonce = 12;
constexpr size_t kSuites = 3;

struct SuiteInfo {
  const char* cipher;
  const char* digest;
  size_t key;
  size_t secret;
};
constexpr SuiteInfo kInfo[kSuites] = {
    {"AES-128-GCM", "SHA256", 16, 32},
    {"AES-256-GCM", "SHA384", 32, 48},
    {"ChaCha20-Poly1305", "SHA256", 32, 32},
};

const SuiteInfo& info(TlsRecords::Suite s) { return kInfo[static_cast<size_t>(s)]; }

// The ciphers, fetched once for the process (EVP_CIPHER objects may be shared by threads).
const EVP_CIPHER* cipher(TlsRecords::Suite s) {
  static EVP_CIPHER* all[kSuites] = {
      EVP_CIPHER_fetch(nullptr, kInfo[0].cipher, nullptr),
      EVP_CIPHER_fetch(nullptr, kInfo[1].cipher, nullptr),
      EVP_CIPHER_fetch(nullptr, kInfo[2].cipher, nullptr),
  };
  return all[static_cast<size_t>(s)];
}

// The thread's AEAD contexts, one per suite and direction. Each remembers the key it holds: a batch
// of records of one connection sets only the nonce, and another connection's key costs one key
// schedule (measured: bench/tls_records_bench.cpp).
class Aead {
 public:
  static Aead& of_thread() {
    thread_local Aead a;
    return a;
  }
  EVP_CIPHER_CTX* ready(TlsRecords::Suite s, bool encrypt, const uint8_t* key, const uint8_t* nonce) {
    Slot& slot = slots_[static_cast<size_t>(s)][encrypt];
    const size_t key_len = info(s).key;
    if (!slot.ctx) {
      slot.ctx = EVP_CIPHER_CTX_new();
      if (!slot.ctx || EVP_CipherInit_ex(slot.ctx, cipher(s), nullptr, nullptr, nullptr, encrypt) != 1) return nullptr;
    }
    const bool same = slot.keyed && std::memcmp(slot.key, key, key_len) == 0;
    if (EVP_CipherInit_ex(slot.ctx, nullptr, nullptr, same ? nullptr : key, nonce, encrypt) != 1) {
      slot.keyed = false;
      return nullptr;
    }
    if (!same) {
      std::memcpy(slot.key, key, key_len);
      slot.keyed = true;
    }
    return slot.ctx;
  }
  ~Aead() {
    for (auto& suite : slots_) {
      for (Slot& slot : suite) {
        EVP_CIPHER_CTX_free(slot.ctx);
        OPENSSL_cleanse(slot.key, sizeof slot.key);
      }
    }
  }

 private:
  struct Slot {
    EVP_CIPHER_CTX* ctx = nullptr;
    uint8_t key[32];
    bool keyed = false;
  };
  Slot slots_[kSuites][2];
};

// HKDF-Expand-Label(secret, label, "", length) (RFC 8446 §7.1).
bool expand_label(TlsRecords::Suite s, const uint8_t* secret, std::string_view label, uint8_t* out, size_t length) {
  static EVP_KDF* hkdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  uint8_t hkdf_label[2 + 1 + 6 + 32 + 1];
  size_t at = 0;
  hkdf_label[at++] = static_cast<uint8_t>(length >> 8);
  hkdf_label[at++] = static_cast<uint8_t>(length);
  hkdf_label[at++] = static_cast<uint8_t>(6 + label.size());
  std::memcpy(hkdf_label + at, "tls13 ", 6);
  at += 6;
  std::memcpy(hkdf_label + at, label.data(), label.size());
  at += label.size();
  hkdf_label[at++] = 0;  // empty context
  EVP_KDF_CTX* k = hkdf ? EVP_KDF_CTX_new(hkdf) : nullptr;
  if (!k) return false;
  int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>(info(s).digest), 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<uint8_t*>(secret), info(s).secret),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, hkdf_label, at),
      OSSL_PARAM_construct_end(),
  };
  const bool ok = EVP_KDF_derive(k, out, length, params) == 1;
  EVP_KDF_CTX_free(k);
  return ok;
}

// The per-record nonce: the IV with the sequence number XORed into its last 8 bytes (RFC 8446 §5.3).
void make_nonce(const uint8_t* iv, uint64_t seq, uint8_t* nonce) {
  std::memcpy(nonce, iv, kNonce);
  for (int i = 0; i < 8; ++i) nonce[kNonce - 1 - i] ^= static_cast<uint8_t>(seq >> (8 * i));
}

// The thread's buffer for one sealed record: header, the largest plaintext, its type, the tag.
uint8_t* seal_buffer() {
  thread_local uint8_t buf[5 + TlsRecords::kMaxPlaintext + 1 + kTag];
  return buf;
}

}  // namespace

std::optional<TlsRecords::Suite> TlsRecords::suite_for(uint16_t protocol_id) noexcept {
  switch (protocol_id) {
    case 0x1301:
      return Suite::kAes128Gcm;
    case 0x1302:
      return Suite::kAes256Gcm;
    case 0x1303:
      return Suite::kChacha20Poly1305;
    default:
      return std::nullopt;
  }
}

size_t TlsRecords::secret_size(Suite suite) noexcept { return info(suite).secret; }

TlsRecords::TlsRecords(Suite suite, const uint8_t* read_secret, const uint8_t* write_secret, uint64_t write_seq,
                       uint64_t read_seq)
    : suite_(suite) {
  std::memcpy(read_.secret, read_secret, info(suite).secret);
  std::memcpy(write_.secret, write_secret, info(suite).secret);
  write_.seq = write_seq;
  read_.seq = read_seq;
  if (!cipher(suite) || !derive(read_) || !derive(write_)) {
    state_ = State::kFailed;
    error_ = "TLS: could not derive the traffic keys";
  }
}

TlsRecords::~TlsRecords() {
  std::free(body_);
  OPENSSL_cleanse(&read_, sizeof read_);
  OPENSSL_cleanse(&write_, sizeof write_);
}

bool TlsRecords::derive(Direction& d) noexcept {
  return expand_label(suite_, d.secret, "key", d.key, info(suite_).key) &&
         expand_label(suite_, d.secret, "iv", d.iv, kNonce);
}

bool TlsRecords::update(Direction& d) noexcept {
  uint8_t next[48];
  if (!expand_label(suite_, d.secret, "traffic upd", next, info(suite_).secret)) return false;
  std::memcpy(d.secret, next, info(suite_).secret);
  OPENSSL_cleanse(next, sizeof next);
  d.seq = 0;
  return derive(d);
}

void TlsRecords::seal(uint8_t type, const uint8_t* data, size_t n, const Output& o, size_t padding) {
  uint8_t* rec = seal_buffer();
  const size_t len = n + 1 + padding + kTag;
  rec[0] = kApplicationData;  // TLSCiphertext: opaque_type 23, legacy_record_version 0x0303
  rec[1] = 3;
  rec[2] = 3;
  rec[3] = static_cast<uint8_t>(len >> 8);
  rec[4] = static_cast<uint8_t>(len);
  uint8_t* const inner = rec + 5;  // TLSInnerPlaintext: content (encrypted from where it lies), type, zeros
  uint8_t* const tail = inner + n;
  tail[0] = type;
  std::memset(tail + 1, 0, padding);
  uint8_t nonce[kNonce];
  make_nonce(write_.iv, write_.seq, nonce);
  EVP_CIPHER_CTX* ctx = Aead::of_thread().ready(suite_, true, write_.key, nonce);
  const int inner_len = static_cast<int>(n + 1 + padding);
  int k = 0;
  const bool ok = ctx && EVP_CipherUpdate(ctx, nullptr, &k, rec, 5) == 1 &&
                  (n == 0 || EVP_CipherUpdate(ctx, inner, &k, data, static_cast<int>(n)) == 1) &&
                  EVP_CipherUpdate(ctx, tail, &k, tail, static_cast<int>(1 + padding)) == 1 &&
                  EVP_CipherFinal_ex(ctx, inner + inner_len, &k) == 1 &&
                  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, kTag, inner + inner_len) == 1;
  if (!ok) {
    state_ = State::kFailed;
    error_ = "TLS: encryption failed";
    return;
  }
  ++write_.seq;
  o.sink(o.arg, rec, 5 + len);
}

bool TlsRecords::open(const uint8_t* body, size_t len, uint8_t* out) noexcept {
  uint8_t nonce[kNonce];
  make_nonce(read_.iv, read_.seq, nonce);
  EVP_CIPHER_CTX* ctx = Aead::of_thread().ready(suite_, false, read_.key, nonce);
  uint8_t tag[kTag];
  std::memcpy(tag, body + len - kTag, kTag);
  int k = 0;
  return ctx && EVP_CipherUpdate(ctx, nullptr, &k, head_, 5) == 1 &&
         EVP_CipherUpdate(ctx, out, &k, body, static_cast<int>(len - kTag)) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, kTag, tag) == 1 && EVP_CipherFinal_ex(ctx, out + len - kTag, &k) == 1;
}

TlsRecords::Result TlsRecords::fail(uint8_t alert, const char* why, const Output& o) {
  if (state_ != State::kFailed && !sent_close_) {
    const uint8_t a[2] = {2, alert};  // fatal
    seal(kAlertType, a, 2, o);
    sent_close_ = true;
  }
  state_ = State::kFailed;
  error_ = why;
  return Result::kError;
}

TlsRecords::Result TlsRecords::read(const uint8_t*& in, size_t& in_size, uint8_t* out, size_t capacity, size_t& n,
                                    const Output& o) {
  n = 0;
  auto more = [&n] { return n > 0 ? Result::kDone : Result::kWantMore; };
  for (;;) {
    if (state_ == State::kFailed) return n > 0 ? Result::kDone : Result::kError;
    if (state_ == State::kPeerClosed) return n > 0 ? Result::kDone : Result::kClosed;
    if (head_have_ < 5) {
      const size_t k = std::min<size_t>(5 - head_have_, in_size);
      std::memcpy(head_ + head_have_, in, k);
      in += k;
      in_size -= k;
      head_have_ = static_cast<uint8_t>(head_have_ + k);
      if (head_have_ < 5) return more();
      if (head_[0] != kApplicationData) return fail(kUnexpectedMessage, "TLS: a record not encrypted", o);
    }
    const size_t len = size_t{head_[3]} << 8 | head_[4];
    if (len > kMaxCiphertext) return fail(kRecordOverflow, "TLS: a record longer than 2^14 + 256 bytes", o);
    if (len < kTag + 1) return fail(kDecodeError, "TLS: a record too short to be encrypted", o);
    const uint8_t* body = in;
    const bool whole_in_input = !body_ && in_size >= len;
    if (!whole_in_input) {
      if (!body_ && !(body_ = static_cast<uint8_t*>(std::malloc(len)))) {
        return fail(kRecordOverflow, "TLS: out of memory for a record", o);
      }
      const size_t k = std::min(len - body_have_, in_size);
      std::memcpy(body_ + body_have_, in, k);
      in += k;
      in_size -= k;
      body_have_ = static_cast<uint16_t>(body_have_ + k);
      if (body_have_ < len) return more();
      body = body_;
    }
    if (capacity - n < len - kTag) return Result::kDone;  // no room: the record waits for the next call
    uint8_t* plain = out + n;
    const bool opened = open(body, len, plain);
    if (whole_in_input) {
      in += len;
      in_size -= len;
    } else {
      std::free(body_);
      body_ = nullptr;
      body_have_ = 0;
    }
    head_have_ = 0;
    if (!opened) return fail(kBadRecordMac, "TLS: a record that does not decrypt (bad_record_mac)", o);
    ++read_.seq;
    // TLSInnerPlaintext: content, the real type, zeros (RFC 8446 §5.4).
    size_t end = len - kTag;
    while (end > 0 && plain[end - 1] == 0) --end;
    if (end == 0) return fail(kUnexpectedMessage, "TLS: a record with no content type", o);
    const uint8_t type = plain[end - 1];
    const size_t size = end - 1;
    if (size > kMaxPlaintext) return fail(kRecordOverflow, "TLS: a record with more than 2^14 bytes of plaintext", o);
    if (type == kApplicationData) {
      n += size;
      if (size > 0) key_updates_in_a_row_ = 0;
    } else if (type == kAlertType) {
      if (size != 2) return fail(kDecodeError, "TLS: a malformed alert", o);
      if (plain[1] == kCloseNotify) {
        state_ = State::kPeerClosed;
      } else {
        state_ = State::kFailed;
        error_ = "TLS: the peer sent alert " + std::to_string(plain[1]);
      }
    } else if (type == kHandshakeType) {
      handshake(plain, size, o);  // a failure ends the loop above
    } else {
      return fail(kUnexpectedMessage, "TLS: a record of an unexpected content type", o);
    }
  }
}

TlsRecords::Result TlsRecords::handshake(const uint8_t* msg, size_t len, const Output& o) {
  // After the handshake a client may send only KeyUpdate (no post-handshake authentication was
  // asked for; NewSessionTicket comes from servers), whole and last in its record (§5.1).
  if (len < 4 || msg[0] != kKeyUpdate) return fail(kUnexpectedMessage, "TLS: an unexpected handshake message", o);
  const size_t body = size_t{msg[1]} << 16 | size_t{msg[2]} << 8 | msg[3];
  if (body != 1 || len != 5 || msg[4] > 1) return fail(kDecodeError, "TLS: a malformed KeyUpdate", o);
  if (++key_updates_in_a_row_ > kMaxKeyUpdatesInARow) {
    return fail(kUnexpectedMessage, "TLS: too many KeyUpdates without data between", o);
  }
  if (!update(read_)) return fail(kInternalError, "TLS: could not derive the next read key", o);
  if (msg[4] == 1) key_update(false, o);  // update_requested: ours goes before any more data (§4.6.3)
  return state_ == State::kFailed ? Result::kError : Result::kDone;
}

void TlsRecords::key_update(bool request_peer, const Output& o) {
  if (sent_close_ || state_ == State::kFailed) return;
  const uint8_t message[5] = {kKeyUpdate, 0, 0, 1, request_peer ? uint8_t{1} : uint8_t{0}};
  seal(kHandshakeType, message, sizeof message, o);
  if (state_ != State::kFailed && !update(write_)) fail(kInternalError, "TLS: could not derive the next write key", o);
}

void TlsRecords::send_record(uint8_t type, const uint8_t* data, size_t n, size_t padding, const Output& o) {
  if (n + 1 + padding <= kMaxPlaintext + 1) seal(type, data, n, o, padding);
}

TlsRecords::Result TlsRecords::write(const uint8_t* data, size_t n, const Output& o) {
  while (n > 0) {
    if (state_ == State::kFailed || sent_close_) return Result::kError;
    if (write_.seq >= kRecordsPerKey - 1) key_update(false, o);  // the KeyUpdate is the key's last record
    const size_t k = std::min(n, kMaxPlaintext);
    seal(kApplicationData, data, k, o);
    data += k;
    n -= k;
  }
  return state_ == State::kFailed ? Result::kError : Result::kDone;
}

void TlsRecords::close(const Output& o) {
  if (sent_close_ || state_ == State::kFailed) return;
  const uint8_t a[2] = {1, kCloseNotify};
  seal(kAlertType, a, 2, o);
  sent_close_ = true;
}

}  // namespace ringcast
