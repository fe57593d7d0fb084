#include <ringcast/net/tls/tls_context.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <fmt/format.h>

#include <cstring>
#include <mutex>

#include <ringcast/core/log.hpp>

namespace ringcast {
namespace {

constexpr unsigned char kAlpnHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};

int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned inlen,
                void*) {
  // RFC 7301 §3.2: we speak only http/1.1; a client that offers other protocols alone gets none
  // (the handshake goes on without ALPN rather than failing with no_application_protocol).
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, kAlpnHttp11, sizeof kAlpnHttp11, in, inlen) ==
      OPENSSL_NPN_NEGOTIATED) {
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

SSL_CTX* new_context(const SSL_METHOD* method, std::string& error) {
  SSL_CTX* ctx = SSL_CTX_new(method);
  if (!ctx) {
    error = "SSL_CTX_new: " + TlsContext::last_errors();
    return nullptr;
  }
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // Buffers are freed while a connection is idle: an idle TLS connection keeps no 16 KiB records.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  return ctx;
}

bool use_certificate(SSL_CTX* ctx, const TlsCertificateFiles& files, std::string& error) {
  if (SSL_CTX_use_certificate_chain_file(ctx, files.cert.c_str()) != 1) {
    error = fmt::format("TLS certificate {}: {}", files.cert, TlsContext::last_errors());
    return false;
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, files.key.c_str(), SSL_FILETYPE_PEM) != 1) {
    error = fmt::format("TLS key {}: {}", files.key, TlsContext::last_errors());
    return false;
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    error = fmt::format("TLS key {} does not match certificate {}: {}", files.key, files.cert,
                        TlsContext::last_errors());
    return false;
  }
  return true;
}

}  // namespace

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

std::string TlsContext::last_errors() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

std::shared_ptr<const TlsContext> TlsContext::server(const TlsServerOptions& options, std::string& error) {
  ERR_clear_error();
  if (options.certificates.empty()) {
    error = "TLS: no certificate given";
    return nullptr;
  }
  SSL_CTX* ctx = new_context(TLS_server_method(), error);
  if (!ctx) return nullptr;
  std::shared_ptr<TlsContext> out(new TlsContext(ctx, true, false));
  out->options_ = options;
  const TlsCertificateFiles& files = options.certificates.front();
  if (!use_certificate(ctx, files, error)) return nullptr;
  SSL_CTX_set_alpn_select_cb(ctx, &select_alpn, nullptr);
  // No server-side session cache: it kept every TLS 1.2 session (up to 20,480 of about 1.2 KB) after
  // its connection had gone. Resumption is by tickets, which the client keeps.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  return out;
}

std::shared_ptr<const TlsContext> TlsContext::reloaded(std::string& error) const {
  return server(options_, error);
}

std::shared_ptr<const TlsContext> TlsContext::client(const TlsClientOptions& options, std::string& error) {
  ERR_clear_error();
  SSL_CTX* ctx = new_context(TLS_client_method(), error);
  if (!ctx) return nullptr;
  std::shared_ptr<const TlsContext> out(new TlsContext(ctx, false, options.verify_peer));
  if (options.verify_peer) {
    const int ok = options.ca_file.empty() ? SSL_CTX_set_default_verify_paths(ctx)
                                           : SSL_CTX_load_verify_locations(ctx, options.ca_file.c_str(), nullptr);
    if (ok != 1) {
      error = options.ca_file.empty() ? "TLS: the system's certificate store: " + last_errors()
                                      : fmt::format("TLS CA file {}: {}", options.ca_file, last_errors());
      return nullptr;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  SSL_CTX_set_alpn_protos(ctx, kAlpnHttp11, sizeof kAlpnHttp11);
  return out;
}

std::shared_ptr<const TlsContext> TlsContext::default_client() {
  static std::once_flag once;
  static std::shared_ptr<const TlsContext> ctx;
  std::call_once(once, [] {
    std::string error;
    ctx = client(TlsClientOptions{}, error);
    if (!ctx) log::error("{}", error);
  });
  return ctx;
}

}  // namespace ringcast
