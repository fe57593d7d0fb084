#pragma once
// TlsContext: one OpenSSL SSL_CTX — the server's certificate chain and key, or a client's trust
// settings — made once and then shared read-only by every shard (OpenSSL 3 lets many threads
// create sessions from one SSL_CTX). A listener whose LoopOptions carry a server context speaks TLS
// on every accepted connection; Loop::connect takes a client context per connection.
//
// A server context is immutable; reloading its certificates makes a new one from the same files
// (reloaded()), which a TcpServer hands to its shards (TcpServer::reload_tls). Each connection keeps
// the context it was accepted with, so open connections never see the switch.
//
// Both sides: TLS 1.2 and 1.3 only. The server offers ALPN "http/1.1" when the client asks.
// Errors are values: a missing or invalid file gives nullptr and a message naming the file and
// OpenSSL's reason, for a start-up error (exit status 2) or a refused reload.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

struct ssl_ctx_st;  // OpenSSL's SSL_CTX

namespace ringcast {

class TicketKeys;

struct TlsClientOptions {
  // Certificates to trust, in one PEM file; empty: the system's default store.
  std::string ca_file;
  // false: accept any certificate (self-signed test servers, benchmarks). Never in production.
  bool verify_peer = true;
};

// A PEM certificate chain (leaf first) and its private key.
struct TlsCertificateFiles {
  std::string cert;
  std::string key;
};

struct TlsServerOptions {
  // One or more pairs. Each serves the DNS names of its certificate (subjectAltName, else the subject's
  // CN; "*.example.com" covers one label) to clients that ask for one by SNI; the first also serves
  // every other client (no SNI, an IP address, a name no certificate has).
  std::vector<TlsCertificateFiles> certificates;
  // Session resumption by tickets (TLS 1.3 and 1.2; ringcast/net/tls/detail/ticket_keys.hpp): the key
  // that encrypts them changes every interval, and a ticket is accepted through the next interval
  // too (then the client gets a new one). 0: no tickets, every connection a full handshake.
  std::chrono::seconds ticket_key_interval{std::chrono::hours(1)};
  // A file every node of a cluster shares (at least 32 bytes, e.g. `openssl rand -hex 32`): the ticket
  // keys are derived from it, so a client resumes on whichever node it reaches. Empty: a random secret
  // made at start, tickets resume on this process only. Read at start (a reload keeps it).
  std::string ticket_secret_file;
  // Seconds since the epoch for the ticket keys' periods; null: the system clock (tests move theirs).
  int64_t (*clock)() = nullptr;

  // Comma-separated lists of certificate and key files, pair by pair ("a.pem,b.pem" and
  // "a.key,b.key"), as the --tls-cert and --tls-key flags give them; nullopt and a message when the
  // lists do not pair up.
  static std::optional<TlsServerOptions> from_lists(std::string_view certs, std::string_view keys, std::string& error);
};

class TlsContext {
 public:
  static std::shared_ptr<const TlsContext> server(const TlsServerOptions& options, std::string& error);
  static std::shared_ptr<const TlsContext> server(const std::string& cert_file, const std::string& key_file,
                                                  std::string& error) {
    return server(TlsServerOptions{.certificates = {{cert_file, key_file}}}, error);
  }
  static std::shared_ptr<const TlsContext> client(const TlsClientOptions& options, std::string& error);
  // The client context wss:// URLs use when none is given: verify against the system store.
  // Made once, on first use; nullptr (error logged) if the store cannot be loaded.
  static std::shared_ptr<const TlsContext> default_client();

  // Server: a new context from the same files, read again (renewed certificates), with the same
  // ticket keys (tickets issued before still resume); nullptr and a message naming the file and
  // OpenSSL's reason when one of them is missing, unreadable or does not match its key — then this
  // context is still the one to use.
  std::shared_ptr<const TlsContext> reloaded(std::string& error) const;

  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  bool is_server() const noexcept { return server_; }
  bool verifies_peer() const noexcept { return verify_; }
  ssl_ctx_st* native() const noexcept { return ctx_; }
  const TlsServerOptions& server_options() const noexcept { return options_; }
  // Server: the SSL_CTX whose certificate serves `server_name` (SNI, any case), else nullptr.
  ssl_ctx_st* context_for(std::string_view server_name) const noexcept;

  // The reasons OpenSSL queued on this thread, joined, and the queue cleared ("" when none).
  static std::string last_errors();

 private:
  TlsContext(ssl_ctx_st* ctx, bool server, bool verify) noexcept : ctx_(ctx), server_(server), verify_(verify) {}
  static std::shared_ptr<const TlsContext> make_server(const TlsServerOptions& options,
                                                       std::shared_ptr<const TicketKeys> tickets, std::string& error);
  std::vector<ssl_ctx_st*> all_server_contexts() const;

  ssl_ctx_st* ctx_;
  bool server_;
  bool verify_;
  TlsServerOptions options_;  // server: what reloaded() reads again
  // Server, with more than one certificate: the SSL_CTX of every pair after the first (owned), and
  // every DNS name (lower case) with the SSL_CTX that serves it, the first pair's included.
  std::vector<ssl_ctx_st*> others_;
  std::vector<std::pair<std::string, ssl_ctx_st*>> names_;
  std::shared_ptr<const TicketKeys> tickets_;  // server with tickets: shared with reloaded contexts
};

}  // namespace ringcast
