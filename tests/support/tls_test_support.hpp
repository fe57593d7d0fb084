#pragma once
// TLS test support: a self-signed certificate made at run time with the OpenSSL API (EC P-256,
// SAN IP:127.0.0.1 and DNS:localhost, its own CA) in a temporary directory — no key is committed —
// and a blocking OpenSSL client socket, written independently of the server's TLS code.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

namespace ringcast::test {

struct TestCertificate {
  std::string dir;
  std::string cert;  // PEM certificate (also the CA file clients trust)
  std::string key;   // PEM private key
};

namespace detail {

inline void add_extension(X509* x, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (!ext) throw std::runtime_error("X509V3_EXT_conf_nid");
  X509_add_ext(x, ext, -1);
  X509_EXTENSION_free(ext);
}

// A self-signed CA certificate for `san` (subjectAltName), with its key, in a new temporary directory
// (the caller removes it, or uses TemporaryCertificate).
inline TestCertificate make_certificate(const char* san = "IP:127.0.0.1,DNS:localhost", long serial = 1,
                                        const char* common_name = "localhost") {
  char tmpl[] = "/tmp/ringcast-tls-XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp");
  TestCertificate out{tmpl, std::string(tmpl) + "/cert.pem", std::string(tmpl) + "/key.pem"};
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (!key) throw std::runtime_error("EVP_EC_gen");
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 7 * 24 * 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name), -1, -1, 0);
  X509_set_issuer_name(x, name);
  add_extension(x, NID_basic_constraints, "critical,CA:TRUE");
  add_extension(x, NID_key_usage, "critical,digitalSignature,keyCertSign");
  add_extension(x, NID_subject_alt_name, san);
  add_extension(x, NID_subject_key_identifier, "hash");
  if (X509_sign(x, key, EVP_sha256()) == 0) throw std::runtime_error("X509_sign");
  FILE* f = std::fopen(out.cert.c_str(), "w");
  PEM_write_X509(f, x);
  std::fclose(f);
  f = std::fopen(out.key.c_str(), "w");
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  X509_free(x);
  EVP_PKEY_free(key);
  return out;
}

inline void remove_certificate(const TestCertificate& c) {
  std::remove(c.cert.c_str());
  std::remove(c.key.c_str());
  ::rmdir(c.dir.c_str());
}

}  // namespace detail

// A certificate of a test's own (its serial and subject tell it apart), removed with the object.
struct TemporaryCertificate : TestCertificate {
  explicit TemporaryCertificate(long serial, const char* common_name = "localhost",
                                const char* san = "IP:127.0.0.1,DNS:localhost")
      : TestCertificate(detail::make_certificate(san, serial, common_name)) {}
  ~TemporaryCertificate() { detail::remove_certificate(*this); }
  TemporaryCertificate(const TemporaryCertificate&) = delete;
  TemporaryCertificate& operator=(const TemporaryCertificate&) = delete;
};

// Made once per test process; the directory is removed at exit.
inline const TestCertificate& test_certificate() {
  static const TestCertificate cert = [] {
    TestCertificate c = detail::make_certificate();
    static std::string dir = c.dir;
    std::atexit([] { detail::remove_certificate({dir, dir + "/cert.pem", dir + "/key.pem"}); });
    return c;
  }();
  return cert;
}

// What a BlockingTlsClient does besides the defaults.
struct TlsClientSetup {
  const char* alpn = nullptr;
  std::string ca_file;      // the certificate to trust; empty: the test certificate
  std::string server_name;  // sent as SNI (and checked); empty: none sent, 127.0.0.1 checked
  SSL_SESSION* session = nullptr;  // a session to resume (SSL_get1_session of an earlier client)
  int max_version = 0;             // e.g. TLS1_2_VERSION; 0: the highest
  bool verify = true;              // false: accept any certificate (to see which one a server picks)
};

// A blocking TLS client to 127.0.0.1:port that trusts the test certificate.
class BlockingTlsClient {
 public:
  explicit BlockingTlsClient(uint16_t port, const char* alpn = nullptr)
      : BlockingTlsClient(port, TlsClientSetup{.alpn = alpn}) {}
  BlockingTlsClient(uint16_t port, const TlsClientSetup& setup) {
    const char* alpn = setup.alpn;
    ctx_ = SSL_CTX_new(TLS_client_method());
    SSL_CTX_load_verify_locations(ctx_, (setup.ca_file.empty() ? test_certificate().cert : setup.ca_file).c_str(), nullptr);
    SSL_CTX_set_verify(ctx_, setup.verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
    if (setup.max_version) SSL_CTX_set_max_proto_version(ctx_, setup.max_version);
    if (alpn) {
      std::string wire(1, static_cast<char>(std::strlen(alpn)));
      wire += alpn;
      SSL_CTX_set_alpn_protos(ctx_, reinterpret_cast<const unsigned char*>(wire.data()), static_cast<unsigned>(wire.size()));
    }
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) < 0) return;
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval tv{.tv_sec = 20, .tv_usec = 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    if (setup.server_name.empty()) {
      SSL_set1_host(ssl_, "127.0.0.1");
    } else {
      SSL_set_tlsext_host_name(ssl_, setup.server_name.c_str());
      SSL_set1_host(ssl_, setup.server_name.c_str());
    }
    if (setup.session) SSL_set_session(ssl_, setup.session);
    handshake_ok_ = SSL_connect(ssl_) == 1;
  }
  ~BlockingTlsClient() {
    if (ssl_) SSL_free(ssl_);
    if (fd_ >= 0) ::close(fd_);
    SSL_CTX_free(ctx_);
  }
  BlockingTlsClient(const BlockingTlsClient&) = delete;
  BlockingTlsClient& operator=(const BlockingTlsClient&) = delete;

  bool ok() const noexcept { return handshake_ok_; }
  int fd() const noexcept { return fd_; }
  // Closes the socket (the TLS state stays for inspection): the server's wait for our FIN ends.
  void close_socket() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  SSL* ssl() const noexcept { return ssl_; }
  // The server certificate's serial number and subject CN (0 and "" without one).
  long peer_serial() const {
    X509* x = SSL_get1_peer_certificate(ssl_);
    const long serial = x ? ASN1_INTEGER_get(X509_get0_serialNumber(x)) : 0;
    X509_free(x);
    return serial;
  }
  std::string peer_common_name() const {
    X509* x = SSL_get1_peer_certificate(ssl_);
    char cn[256] = {};
    if (x) X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn);
    X509_free(x);
    return cn;
  }
  std::string alpn() const {
    const unsigned char* p = nullptr;
    unsigned n = 0;
    SSL_get0_alpn_selected(ssl_, &p, &n);
    return std::string(reinterpret_cast<const char*>(p), n);
  }
  bool write_all(const void* data, size_t n) {
    size_t done = 0;
    return n == 0 || (SSL_write_ex(ssl_, data, n, &done) == 1 && done == n);
  }
  bool write_all(const std::string& s) { return write_all(s.data(), s.size()); }
  // Reads exactly n bytes; false on EOF, error or timeout.
  bool read_exact(void* out, size_t n) {
    auto* p = static_cast<uint8_t*>(out);
    while (n > 0) {
      size_t got = 0;
      if (SSL_read_ex(ssl_, p, n, &got) != 1) return false;
      p += got;
      n -= got;
    }
    return true;
  }
  // Reads until the peer ends the stream. Returns what came and whether the end was a close_notify.
  std::string read_to_end(bool& close_notify) {
    std::string all;
    char buf[4096];
    for (;;) {
      size_t got = 0;
      const int rc = SSL_read_ex(ssl_, buf, sizeof buf, &got);
      if (rc == 1) {
        all.append(buf, got);
        continue;
      }
      close_notify = SSL_get_error(ssl_, rc) == SSL_ERROR_ZERO_RETURN;
      return all;
    }
  }

 private:
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  int fd_ = -1;
  bool handshake_ok_ = false;
};

}  // namespace ringcast::test
