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
// Memory: OpenSSL's cost. With SSL_MODE_RELEASE_BUFFERS, 2,000 idle wss:// connections grew the
// server's RSS by 16.4 KB each (ws://: 348 B; `ringcast-load --scenario idle --connections 2000
// --server-pid`, OpenSSL 3.0, TLS 1.3, ECDSA P-256). The session itself is about 100 B beside it.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

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
  bool valid() const noexcept { return ssl_ != nullptr; }
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

 private:
  struct Bio;  // the BIO between OpenSSL and feed()/the sink

  ssl_st* ssl_ = nullptr;
  Sink sink_;
  void* arg_;
  const uint8_t* in_ = nullptr;
  size_t in_size_ = 0;
  std::string error_;
};

}  // namespace ringcast
