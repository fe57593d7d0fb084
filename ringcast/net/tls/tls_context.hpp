#pragma once
// TlsContext: one OpenSSL SSL_CTX — the server's certificate chain and key, or a client's trust
// settings — made once at start-up and then shared read-only by every shard (OpenSSL 3 lets many
// threads create sessions from one SSL_CTX). A listener whose LoopOptions carry a server context
// speaks TLS on every accepted connection; Loop::connect takes a client context per connection.
//
// Both sides: TLS 1.2 and 1.3 only. The server offers ALPN "http/1.1" when the client asks.
// Errors are values: a missing or invalid file gives nullptr and a message naming the file and
// OpenSSL's reason, for a start-up error (exit status 2).
#include <memory>
#include <string>

struct ssl_ctx_st;  // OpenSSL's SSL_CTX

namespace ringcast {

struct TlsClientOptions {
  // Certificates to trust, in one PEM file; empty: the system's default store.
  std::string ca_file;
  // false: accept any certificate (self-signed test servers, benchmarks). Never in production.
  bool verify_peer = true;
};

class TlsContext {
 public:
  // Certificate chain (leaf first) and private key from PEM files.
  static std::shared_ptr<const TlsContext> server(const std::string& cert_file, const std::string& key_file,
                                                  std::string& error);
  static std::shared_ptr<const TlsContext> client(const TlsClientOptions& options, std::string& error);
  // The client context wss:// URLs use when none is given: verify against the system store.
  // Made once, on first use; nullptr (error logged) if the store cannot be loaded.
  static std::shared_ptr<const TlsContext> default_client();

  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  bool is_server() const noexcept { return server_; }
  bool verifies_peer() const noexcept { return verify_; }
  ssl_ctx_st* native() const noexcept { return ctx_; }

  // The reasons OpenSSL queued on this thread, joined, and the queue cleared ("" when none).
  static std::string last_errors();

 private:
  TlsContext(ssl_ctx_st* ctx, bool server, bool verify) noexcept : ctx_(ctx), server_(server), verify_(verify) {}

  ssl_ctx_st* ctx_;
  bool server_;
  bool verify_;
};

}  // namespace ringcast
