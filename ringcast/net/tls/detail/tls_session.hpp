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
// Memory: OpenSSL's cost, nearly all of it fixed by OpenSSL 3.0. 2,000 idle wss:// connections grew
// the server's RSS by 13.8 KB each (ws://: 145 B, same run: bench/idle_memory_bench.cpp; TLS 1.3,
// AES-128-GCM, ECDSA P-256). OpenSSL's own allocations per connection, counted: the SSL object
// 7.6 KB (its record layer state is inside it), the two AES-GCM contexts 2.3 KB, the session 0.9 KB,
// the connection's copy of the certificate settings 0.5 KB, the handshake digest and key shares it
// keeps after the handshake 0.8 KB, locks and small parts the rest. What could go has gone: the
// 16 KiB record buffers are freed while idle (SSL_MODE_RELEASE_BUFFERS), the BIO is one per thread,
// the SSL_CTX one per process; OpenSSL 3.0 has no call that frees the rest of the handshake state.
// Going below means dropping the SSL object after the handshake (a TLS 1.3 record layer of our own
// keyed from the traffic secrets, or kernel TLS), which is not done here.
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
