#include <ringcast/net/tls/detail/tls_session.hpp>

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <climits>
#include <cstring>
#include <string>
#include <string_view>

namespace ringcast {

// What a server's TLS 1.3 handshake leaves for the switch to TlsRecords: the application traffic
// secrets (from the keylog callback) and how many records OpenSSL wrote under the application key —
// those of type 23 in the current handshake call, counted from the headers of what it writes.
struct TlsSession::Handover {
  uint8_t client[48];
  uint8_t server[48];
  size_t client_size = 0;
  size_t server_size = 0;
  uint64_t records = 0;  // records of type 23 begun since the current call started
  uint8_t head[5];
  size_t head_have = 0;
  size_t body_left = 0;

  ~Handover() { OPENSSL_cleanse(this, sizeof *this); }

  void count(const uint8_t* p, size_t n) {
    while (n > 0) {
      if (body_left > 0) {
        const size_t k = n < body_left ? n : body_left;
        p += k;
        n -= k;
        body_left -= k;
        continue;
      }
      head[head_have++] = *p++;
      --n;
      if (head_have < 5) continue;
      head_have = 0;
      body_left = size_t{head[3]} << 8 | head[4];
      if (head[0] == 23) ++records;
    }
  }
  bool between_records() const { return head_have == 0 && body_left == 0; }
};

// A source/sink BIO: reads take what feed() gave, writes go to the sink at once. It never holds
// bytes itself, so nothing is copied twice and nothing stays allocated between records. One BIO
// serves every session of a thread: each call into OpenSSL first points it at its session (use()),
// so a connection carries no BIO of its own (about 150 B less per connection).
struct TlsSession::Bio {
  static TlsSession& session(BIO* b) noexcept { return *static_cast<TlsSession*>(BIO_get_data(b)); }

  static int write(BIO* b, const char* data, size_t n, size_t* written) {
    TlsSession& s = session(b);
    if (s.handover_) s.handover_->count(reinterpret_cast<const uint8_t*>(data), n);
    s.sink_(s.arg_, reinterpret_cast<const uint8_t*>(data), n);
    *written = n;
    return 1;
  }

  static int read(BIO* b, char* data, size_t n, size_t* read) {
    TlsSession& s = session(b);
    BIO_clear_retry_flags(b);
    if (s.in_size_ == 0) {
      BIO_set_retry_read(b);  // not the end: more may come with the next receive
      *read = 0;
      return 0;
    }
    const size_t k = n < s.in_size_ ? n : s.in_size_;
    std::memcpy(data, s.in_, k);
    s.in_ += k;
    s.in_size_ -= k;
    *read = k;
    return 1;
  }

  static long ctrl(BIO*, int cmd, long, void*) {
    switch (cmd) {
      case BIO_CTRL_FLUSH:
        return 1;  // written bytes are already with the sink
      default:
        return 0;
    }
  }

  static int create(BIO* b) {
    BIO_set_init(b, 1);
    return 1;
  }

  // The calling thread's BIO, pointed at `s`; each session holds a reference (SSL_set_bio).
  static BIO* use(TlsSession& s) {
    BIO* b = shared().bio;
    BIO_set_data(b, &s);
    return b;
  }

  struct Shared {
    Shared() : bio(BIO_new(method())) {}
    ~Shared() { BIO_free(bio); }  // sessions still alive keep theirs
    BIO* bio;
  };
  static Shared& shared() {
    thread_local Shared s;
    return s;
  }

  static const BIO_METHOD* method() {
    // Made once for the process; C++ makes the first call's initialisation thread-safe.
    static BIO_METHOD* m = [] {
      BIO_METHOD* bm = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "ringcast");
      BIO_meth_set_write_ex(bm, &write);
      BIO_meth_set_read_ex(bm, &read);
      BIO_meth_set_ctrl(bm, &ctrl);
      BIO_meth_set_create(bm, &create);
      return bm;
    }();
    return m;
  }
};

namespace {

// "LABEL <client random> <secret>", hex: the secret into `out` (at most 48 bytes); its size, or 0.
size_t parse_secret(std::string_view line, uint8_t* out) {
  const size_t space = line.rfind(' ');
  if (space == std::string_view::npos) return 0;
  const std::string_view hex = line.substr(space + 1);
  if (hex.size() % 2 != 0 || hex.size() > 96) return 0;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return 0;
    out[i / 2] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return hex.size() / 2;
}

TlsSession::Result result_of(TlsRecords::Result r) {
  switch (r) {
    case TlsRecords::Result::kDone:
      return TlsSession::Result::kDone;
    case TlsRecords::Result::kWantMore:
      return TlsSession::Result::kWantMore;
    case TlsRecords::Result::kClosed:
      return TlsSession::Result::kClosed;
    case TlsRecords::Result::kError:
      break;
  }
  return TlsSession::Result::kError;
}

bool is_ip_literal(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

}  // namespace

TlsSession::TlsSession(const TlsContext& context, Sink sink, void* arg, std::string_view server_name)
    : sink_(sink), arg_(arg) {
  BIO* bio = Bio::shared().bio;
  ssl_ = bio ? SSL_new(context.native()) : nullptr;
  if (!ssl_) return;
  BIO_up_ref(bio);
  SSL_set_bio(ssl_, bio, bio);  // one BIO both ways: SSL takes the one reference
  if (context.is_server()) {
    SSL_set_accept_state(ssl_);
    handover_ = std::make_unique<Handover>();
    SSL_set_app_data(ssl_, this);
    return;
  }
  SSL_set_connect_state(ssl_);
  if (server_name.empty()) return;
  const std::string host(server_name);
  const bool ip = is_ip_literal(host);
  // RFC 6066 §3: "Literal IPv4 and IPv6 addresses are not permitted in HostName".
  if (!ip) SSL_set_tlsext_host_name(ssl_, host.c_str());
  if (context.verifies_peer()) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl_);
    if (ip) {
      X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
    } else {
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
    }
  }
}

TlsSession::~TlsSession() { SSL_free(ssl_); }

void TlsSession::keylog(const SSL* ssl, const char* line) {
  auto* s = static_cast<TlsSession*>(SSL_get_app_data(ssl));
  if (!s || !s->handover_) return;
  const std::string_view l(line);
  Handover& h = *s->handover_;
  if (l.starts_with("CLIENT_TRAFFIC_SECRET_0 ")) {
    h.client_size = parse_secret(l, h.client);
  } else if (l.starts_with("SERVER_TRAFFIC_SECRET_0 ")) {
    h.server_size = parse_secret(l, h.server);
  }
}

bool TlsSession::switch_to_records() {
  const std::unique_ptr<Handover> h = std::move(handover_);
  // Anything unexpected keeps the connection on OpenSSL: TLS 1.2, another suite, bytes OpenSSL holds.
  if (SSL_version(ssl_) != TLS1_3_VERSION || SSL_has_pending(ssl_) || !h->between_records()) return false;
  const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl_);
  const auto suite = cipher ? TlsRecords::suite_for(SSL_CIPHER_get_protocol_id(cipher)) : std::nullopt;
  if (!suite) return false;
  const size_t size = TlsRecords::secret_size(*suite);
  if (h->client_size != size || h->server_size != size) return false;
  auto records = std::make_unique<TlsRecords>(*suite, h->client, h->server, h->records);
  if (!records->valid()) return false;
  records_ = std::move(records);
  SSL_free(ssl_);
  ssl_ = nullptr;
  return true;
}

void TlsSession::start() {
  Bio::use(*this);
  ERR_clear_error();
  SSL_do_handshake(ssl_);  // WANT_READ: the ClientHello went to the sink
}

bool TlsSession::handshake_done() const noexcept { return records_ || SSL_is_init_finished(ssl_) != 0; }

TlsSession::Result TlsSession::read(uint8_t* out, size_t capacity, size_t& n) {
  n = 0;
  if (records_) return result_of(records_->read(in_, in_size_, out, capacity, n, output()));
  // Nothing fed and nothing buffered: asking OpenSSL anyway would make it allocate its 16 KiB read
  // buffer for a record header that is not there, and keep it while the connection idles.
  if (in_size_ == 0 && !SSL_has_pending(ssl_)) return Result::kWantMore;
  Bio::use(*this);
  ERR_clear_error();
  int rc = 1;
  if (!SSL_is_init_finished(ssl_)) {
    // The handshake apart from reading: a server switches to its own records the moment it ends.
    if (handover_) handover_->records = 0;
    rc = SSL_do_handshake(ssl_);
    if (rc == 1 && handover_ && switch_to_records()) return read(out, capacity, n);
  }
  if (rc == 1) rc = SSL_read_ex(ssl_, out, capacity, &n);
  if (rc == 1) return Result::kDone;
  switch (SSL_get_error(ssl_, rc)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:  // the sink takes everything: cannot happen
      return Result::kWantMore;
    case SSL_ERROR_ZERO_RETURN:
      return Result::kClosed;
    default:
      break;
  }
  error_ = TlsContext::last_errors();
  if (const long v = SSL_get_verify_result(ssl_); v != X509_V_OK) {
    error_ += error_.empty() ? "" : "; ";
    error_ += X509_verify_cert_error_string(v);
  }
  if (error_.empty()) error_ = "TLS protocol error";
  return Result::kError;
}

TlsSession::Result TlsSession::write(const uint8_t* data, size_t n) {
  if (records_) return result_of(records_->write(data, n, output()));
  Bio::use(*this);
  ERR_clear_error();
  while (n > 0) {
    size_t done = 0;
    const int rc = SSL_write_ex(ssl_, data, n, &done);
    if (rc != 1) {
      const int e = SSL_get_error(ssl_, rc);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return Result::kWantMore;
      error_ = TlsContext::last_errors();
      return Result::kError;
    }
    data += done;
    n -= done;
  }
  return Result::kDone;
}

void TlsSession::shutdown() {
  if (records_) {
    records_->close(output());
    return;
  }
  if (!handshake_done() || (SSL_get_shutdown(ssl_) & SSL_SENT_SHUTDOWN)) return;
  Bio::use(*this);
  ERR_clear_error();
  SSL_shutdown(ssl_);
  ERR_clear_error();
}

std::string TlsSession::error_text() const {
  return records_ && !records_->error().empty() ? records_->error() : error_;
}

}  // namespace ringcast
