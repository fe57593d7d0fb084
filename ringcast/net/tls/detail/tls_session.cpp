#include <ringcast/net/tls/detail/tls_session.hpp>

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <climits>
#include <cstring>
#include <string>

namespace ringcast {

// A source/sink BIO: reads take what feed() gave, writes go to the sink at once. It never holds
// bytes itself, so nothing is copied twice and nothing stays allocated between records. One BIO
// serves every session of a thread: each call into OpenSSL first points it at its session (use()),
// so a connection carries no BIO of its own (about 150 B less per connection).
struct TlsSession::Bio {
  static TlsSession& session(BIO* b) noexcept { return *static_cast<TlsSession*>(BIO_get_data(b)); }

  static int write(BIO* b, const char* data, size_t n, size_t* written) {
    TlsSession& s = session(b);
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

void TlsSession::start() {
  Bio::use(*this);
  ERR_clear_error();
  SSL_do_handshake(ssl_);  // WANT_READ: the ClientHello went to the sink
}

bool TlsSession::handshake_done() const noexcept { return SSL_is_init_finished(ssl_) != 0; }

TlsSession::Result TlsSession::read(uint8_t* out, size_t capacity, size_t& n) {
  n = 0;
  // Nothing fed and nothing buffered: asking OpenSSL anyway would make it allocate its 16 KiB read
  // buffer for a record header that is not there, and keep it while the connection idles.
  if (in_size_ == 0 && !SSL_has_pending(ssl_)) return Result::kWantMore;
  Bio::use(*this);
  ERR_clear_error();
  const int rc = SSL_read_ex(ssl_, out, capacity, &n);
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
  if (!handshake_done() || (SSL_get_shutdown(ssl_) & SSL_SENT_SHUTDOWN)) return;
  Bio::use(*this);
  ERR_clear_error();
  SSL_shutdown(ssl_);
  ERR_clear_error();
}

std::string TlsSession::error_text() const { return error_; }

}  // namespace ringcast
