#pragma once
// TlsSession: one connection's TLS state — an OpenSSL SSL object between the socket and the
// protocol. Ciphertext from the socket is fed in and plaintext read out; plaintext is written in
// and the resulting records (and handshake messages, alerts, close_notify) go straight to a sink
// the owner gives, which appends them to the connection's send queue. No memory BIO sits in
// between, so the only buffers are OpenSSL's own, which SSL_MODE_RELEASE_BUFFERS frees while the
// connection is idle.
//
// Owned by the loop of the connection's shard, in a side table indexed by slot (Connection itself
// stays 80 bytes); used by that shard's thread only.
//
// TLS 1.3 on the server: once OpenSSL's handshake is done the SSL object is freed and the
// connection's records go through TlsRecords (tls_records.hpp), keyed from the traffic secrets
// OpenSSL logs during the handshake (SSL_CTX_set_keylog_callback, installed by TlsContext on server
// contexts). OpenSSL reads without read-ahead, so when SSL_do_handshake returns 1 it has consumed
// exactly through the client's Finished: what is left of the input is the first application record
// (read sequence 0), and our write sequence is the number of records OpenSSL sent under the
// application key in that last call (its NewSessionTickets), counted from their headers.
// Memory: an idle wss:// connection costs about 13.8 KB with the SSL object (its record layer 7.6 KB,
// two AES-GCM contexts 2.3 KB, the session 0.9 KB, certificate settings 0.5 KB, handshake leftovers
// 0.8 KB) and a few hundred bytes without it (figures: docs/tls.md). TLS 1.2 connections, clients and
// suites other than the three of RFC 8446's mandatory set stay on OpenSSL.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <ringcast/net/tls/detail/tls_records.hpp>
#include <ringcast/net/tls/tls_context.hpp>

struct ssl_st;  // OpenSSL's SSL

namespace ringcast {

class TlsSession {
 public:
  // Receives every byte of ciphertext the session produces, in order.
  using Sink = void (*)(void* arg, const uint8_t* data, size_t n);

  enum class Result : uint8_t {
    kDone,      // read: some plaintext; write: all of it taken
    kWantMore,  // read: every fed byte used, no more plaintext; write: the handshake is not done yet
    kClosed,    // the peer sent close_notify
    kError,     // a bad record, a failed handshake, a certificate that does not verify
  };

  // `server_name` (client only): sent as SNI (RFC 6066 §3; not for IP addresses) and checked
  // against the certificate when the context verifies peers.
  TlsSession(const TlsContext& context, Sink sink, void* arg, std::string_view server_name = {});
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  // False when OpenSSL could not make the session (out of memory).
  bool valid() const noexcept { return ssl_ != nullptr || records_ != nullptr; }
  // True once the connection's records are ours (TLS 1.3 server), false while OpenSSL's.
  bool own_records() const noexcept { return records_ != nullptr; }
  // Client: sends the ClientHello (to the sink).
  void start();
  bool handshake_done() const noexcept;

  // The ciphertext read() consumes until it is used up; the caller keeps it alive until end_feed().
  void feed(const uint8_t* data, size_t n) noexcept {
    in_ = data;
    in_size_ = n;
  }
  void end_feed() noexcept { in_size_ = 0; }
  // Decrypts into `out`; `n` is how many bytes were written (with kDone). Drives the handshake.
  Result read(uint8_t* out, size_t capacity, size_t& n);
  // Encrypts all of `data` (one record per 16 KiB) into the sink.
  Result write(const uint8_t* data, size_t n);
  // close_notify to the sink (once; after the handshake only).
  void shutdown();
  // Why the last kError happened (OpenSSL's reasons, certificate verification).
  std::string error_text() const;

  // The keylog callback (SSL_CTX_set_keylog_callback) of server contexts: takes the connection's
  // application traffic secrets.
  static void keylog(const ssl_st* ssl, const char* line);

 private:
  struct Bio;        // the BIO between OpenSSL and feed()/the sink
  struct Handover;   // a server handshake's secrets and count of records, until the switch

  bool switch_to_records();
  TlsRecords::Output output() noexcept { return {sink_, arg_}; }

  ssl_st* ssl_ = nullptr;
  std::unique_ptr<TlsRecords> records_;
  std::unique_ptr<Handover> handover_;
  Sink sink_;
  void* arg_;
  const uint8_t* in_ = nullptr;
  size_t in_size_ = 0;
  std::string error_;
};

}  // namespace ringcast
