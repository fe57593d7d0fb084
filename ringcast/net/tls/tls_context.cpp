#include <ringcast/net/tls/tls_context.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <fmt/format.h>

#include <cctype>
#include <cstring>
#include <fstream>
#include <mutex>

#include <ringcast/core/log.hpp>
#include <ringcast/net/tls/detail/ticket_keys.hpp>
#include <ringcast/net/tls/detail/tls_session.hpp>

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

// A server context for one pair: what every server context has, and the pair.
SSL_CTX* new_server_context(const TlsCertificateFiles& files, std::string& error) {
  SSL_CTX* ctx = new_context(TLS_server_method(), error);
  if (!ctx) return nullptr;
  if (!use_certificate(ctx, files, error)) {
    SSL_CTX_free(ctx);
    return nullptr;
  }
  SSL_CTX_set_alpn_select_cb(ctx, &select_alpn, nullptr);
  // The TLS 1.3 traffic secrets, for the connection's own record layer after the handshake. Every
  // pair's context: OpenSSL asks the one SNI moved the connection to.
  SSL_CTX_set_keylog_callback(ctx, &TlsSession::keylog);
  // No server-side session cache: it kept every TLS 1.2 session (up to 20,480 of about 1.2 KB) after
  // its connection had gone. Resumption is by tickets, which the client keeps.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  return ctx;
}

// The DNS names the context's certificate is for, lower case: its subjectAltName entries, else its CN.
std::vector<std::string> dns_names(SSL_CTX* ctx) {
  std::vector<std::string> out;
  X509* x = SSL_CTX_get0_certificate(ctx);
  if (!x) return out;
  auto add = [&out](const unsigned char* p, int n) {
    std::string name(reinterpret_cast<const char*>(p), static_cast<size_t>(n));
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.push_back(std::move(name));
  };
  if (auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr))) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
      const GENERAL_NAME* g = sk_GENERAL_NAME_value(sans, i);
      if (g->type == GEN_DNS) add(ASN1_STRING_get0_data(g->d.dNSName), ASN1_STRING_length(g->d.dNSName));
    }
    GENERAL_NAMES_free(sans);
    if (!out.empty()) return out;
  }
  X509_NAME* subject = X509_get_subject_name(x);
  const int at = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (at >= 0) {
    const ASN1_STRING* cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at));
    add(ASN1_STRING_get0_data(cn), ASN1_STRING_length(cn));
  }
  return out;
}

// SNI (RFC 6066 §3): the pair whose certificate has the name; the first pair otherwise.
int select_certificate(SSL* ssl, int*, void* arg) {
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (!name) return SSL_TLSEXT_ERR_NOACK;
  SSL_CTX* chosen = static_cast<const TlsContext*>(arg)->context_for(name);
  if (!chosen) return SSL_TLSEXT_ERR_NOACK;
  if (chosen != SSL_get_SSL_CTX(ssl)) SSL_set_SSL_CTX(ssl, chosen);
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace

TlsContext::~TlsContext() {
  for (SSL_CTX* other : others_) SSL_CTX_free(other);  // SSLs moved to one hold their own reference
  SSL_CTX_free(ctx_);
}

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
  std::shared_ptr<const TicketKeys> tickets;
  if (options.ticket_key_interval.count() > 0) {
    std::string secret;
    if (!options.ticket_secret_file.empty()) {
      // Read with a bound: a path such as /dev/urandom would otherwise be read for ever.
      constexpr size_t kMaxSecretFile = 4096;
      std::ifstream in(options.ticket_secret_file, std::ios::binary);
      secret.resize(kMaxSecretFile + 1);
      in.read(secret.data(), static_cast<std::streamsize>(secret.size()));
      const bool readable = in.good() || in.eof();
      secret.resize(readable ? static_cast<size_t>(in.gcount()) : 0);
      const char* wrong = !readable                       ? "cannot be read"
                          : secret.size() < 32            ? "holds fewer than 32 bytes (make one with: openssl rand -hex 32)"
                          : secret.size() > kMaxSecretFile ? "is larger than 4 KiB: not a secret file"
                                                          : nullptr;
      if (wrong) {
        OPENSSL_cleanse(secret.data(), secret.size());
        error = fmt::format("TLS: the ticket secret {} {}", options.ticket_secret_file, wrong);
        return nullptr;
      }
    }
    tickets = std::make_shared<const TicketKeys>(options.ticket_key_interval, options.clock, secret);
    OPENSSL_cleanse(secret.data(), secret.size());
  }
  return make_server(options, std::move(tickets), error);
}

std::shared_ptr<const TlsContext> TlsContext::make_server(const TlsServerOptions& options,
                                                          std::shared_ptr<const TicketKeys> tickets,
                                                          std::string& error) {
  ERR_clear_error();
  if (options.certificates.empty()) {
    error = "TLS: no certificate given";
    return nullptr;
  }
  SSL_CTX* ctx = new_server_context(options.certificates.front(), error);
  if (!ctx) return nullptr;
  std::shared_ptr<TlsContext> out(new TlsContext(ctx, true, false));
  out->options_ = options;
  out->tickets_ = std::move(tickets);
  for (const std::string& name : dns_names(ctx)) out->names_.emplace_back(name, ctx);
  for (size_t i = 1; i < options.certificates.size(); ++i) {
    SSL_CTX* other = new_server_context(options.certificates[i], error);
    if (!other) return nullptr;
    out->others_.push_back(other);
    for (const std::string& name : dns_names(other)) out->names_.emplace_back(name, other);
  }
  // Tickets are made and opened by the context a connection starts from (the first); the others
  // get the same keys all the same, whichever OpenSSL asks.
  for (SSL_CTX* c : out->all_server_contexts()) {
    if (out->tickets_) {
      out->tickets_->install(c);
    } else {
      SSL_CTX_set_options(c, SSL_OP_NO_TICKET);
      SSL_CTX_set_num_tickets(c, 0);
    }
  }
  if (!out->others_.empty()) {
    // Only the first context's callback runs (the one each SSL starts from); it moves the SSL to the
    // context of the name asked for. Tickets stay with the first context whichever it picks.
    SSL_CTX_set_tlsext_servername_callback(ctx, &select_certificate);
    SSL_CTX_set_tlsext_servername_arg(ctx, out.get());
  }
  return out;
}

SSL_CTX* TlsContext::context_for(std::string_view server_name) const noexcept {
  std::string name(server_name);
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const auto& [n, ctx] : names_) {
    if (n == name) return ctx;
  }
  // A wildcard covers exactly one label (RFC 6125 §6.4.3): "*.example.com" serves a.example.com.
  const size_t dot = name.find('.');
  if (dot == std::string::npos || dot == 0) return nullptr;
  const std::string_view rest = std::string_view(name).substr(dot);  // ".example.com"
  for (const auto& [n, ctx] : names_) {
    if (n.size() == rest.size() + 1 && n[0] == '*' && std::string_view(n).substr(1) == rest) return ctx;
  }
  return nullptr;
}

std::optional<TlsServerOptions> TlsServerOptions::from_lists(std::string_view certs, std::string_view keys,
                                                              std::string& error) {
  auto split = [](std::string_view list) {
    std::vector<std::string> out;
    while (!list.empty()) {
      const size_t comma = list.find(',');
      out.emplace_back(list.substr(0, comma));
      list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    }
    return out;
  };
  const std::vector<std::string> c = split(certs), k = split(keys);
  if (c.size() != k.size() || c.empty()) {
    error = fmt::format("TLS: {} certificate file(s) and {} key file(s): give one key per certificate, in the same order",
                        c.size(), k.size());
    return std::nullopt;
  }
  TlsServerOptions out;
  for (size_t i = 0; i < c.size(); ++i) {
    if (c[i].empty() || k[i].empty()) {
      error = "TLS: an empty name in the list of certificate or key files";
      return std::nullopt;
    }
    out.certificates.push_back({c[i], k[i]});
  }
  return out;
}

std::shared_ptr<const TlsContext> TlsContext::reloaded(std::string& error) const {
  return make_server(options_, tickets_, error);
}

std::vector<SSL_CTX*> TlsContext::all_server_contexts() const {
  std::vector<SSL_CTX*> out{ctx_};
  out.insert(out.end(), others_.begin(), others_.end());
  return out;
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
