// The server's own TLS 1.3 record layer after OpenSSL's handshake (net/tls/detail/tls_records,
// the switch in tls_session): an OpenSSL client in memory against a server TlsSession, byte for
// byte — every suite, the tickets before the first data, a HelloRetryRequest, large messages,
// records split at every byte, KeyUpdate both ways, bad records answered with alerts, close_notify,
// resumption after the switch, TLS 1.2 left to OpenSSL. The last case runs a KeyUpdate over real
// sockets on every backend.
#include <doctest/doctest.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <ringcast/net/tcp_echo_handler.hpp>
#include <ringcast/net/tcp_server.hpp>
#include <ringcast/net/tls/detail/tls_records.hpp>
#include <ringcast/net/tls/detail/tls_session.hpp>
#include <ringcast/net/tls/tls_context.hpp>
#include "tests/support/net_test_support.hpp"
#include "tests/support/tls_test_support.hpp"

using namespace ringcast;

namespace {

constexpr const char* kSuites[] = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"};

std::shared_ptr<const TlsContext> server_context(bool tickets = true) {
  std::string error;
  auto ctx = TlsContext::server({.certificates = {{test::test_certificate().cert, test::test_certificate().key}},
                                 .ticket_key_interval = std::chrono::seconds(tickets ? 3600 : 0)},
                                error);
  REQUIRE_MESSAGE(ctx, error);
  return ctx;
}

// An OpenSSL client whose records go through memory: take() what it wrote, give() it the server's.
struct MemoryClient {
  explicit MemoryClient(const char* suite = nullptr, SSL_SESSION* session = nullptr, int max_version = 0) {
    ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    if (suite) SSL_CTX_set_ciphersuites(ctx, suite);
    if (max_version) SSL_CTX_set_max_proto_version(ctx, max_version);
    ssl = SSL_new(ctx);
    in = BIO_new(BIO_s_mem());
    out = BIO_new(BIO_s_mem());
    SSL_set_bio(ssl, in, out);
    SSL_set_connect_state(ssl);
    if (session) SSL_set_session(ssl, session);
  }
  ~MemoryClient() {
    SSL_free(ssl);
    SSL_CTX_free(ctx);
  }
  std::string take() {
    std::string s;
    char buf[16384];
    int k;
    while ((k = BIO_read(out, buf, sizeof buf)) > 0) s.append(buf, static_cast<size_t>(k));
    return s;
  }
  void give(const std::string& s) { BIO_write(in, s.data(), static_cast<int>(s.size())); }
  void write(const std::string& s) {
    size_t done = 0;
    REQUIRE(SSL_write_ex(ssl, s.data(), s.size(), &done) == 1);
  }
  // Reads all it can; `rc` gets SSL_get_error of the read that stopped.
  std::string read(int* rc = nullptr) {
    std::string all;
    char buf[16384];
    for (;;) {
      size_t got = 0;
      const int r = SSL_read_ex(ssl, buf, sizeof buf, &got);
      if (r != 1) {
        if (rc) *rc = SSL_get_error(ssl, r);
        return all;
      }
      all.append(buf, got);
    }
  }

  SSL_CTX* ctx;
  SSL* ssl;
  BIO* in;
  BIO* out;
};

struct MemoryServer {
  explicit MemoryServer(const TlsContext& ctx) : session(ctx, &sink, this) {}
  static void sink(void* self, const uint8_t* d, size_t n) {
    static_cast<MemoryServer*>(self)->out.append(reinterpret_cast<const char*>(d), n);
  }
  // Feeds `bytes` and reads all the plaintext they give; the last result.
  TlsSession::Result feed(const std::string& bytes, std::string& plain) {
    session.feed(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    std::vector<uint8_t> buf(64 * 1024);
    TlsSession::Result r;
    for (;;) {
      size_t n = 0;
      r = session.read(buf.data(), buf.size(), n);
      if (r != TlsSession::Result::kDone || n == 0) break;
      plain.append(reinterpret_cast<const char*>(buf.data()), n);
    }
    session.end_feed();
    return r;
  }
  std::string feed(const std::string& bytes) {
    std::string plain;
    CHECK(feed(bytes, plain) == TlsSession::Result::kWantMore);
    return plain;
  }
  void write(const std::string& s) {
    REQUIRE(session.write(reinterpret_cast<const uint8_t*>(s.data()), s.size()) == TlsSession::Result::kDone);
  }
  std::string take() { return std::exchange(out, {}); }

  std::string out;
  TlsSession session;
};

// The server writes `text`; what the client reads.
std::string down(MemoryServer& s, MemoryClient& c, const std::string& text) {
  s.write(text);
  c.give(s.take());
  return c.read();
}

// The client writes `text`; what the server reads.
std::string up(MemoryClient& c, MemoryServer& s, const std::string& text) {
  c.write(text);
  return s.feed(c.take());
}

void handshake(MemoryClient& c, MemoryServer& s) {
  for (int i = 0; i < 8 && !(SSL_is_init_finished(c.ssl) && s.session.handshake_done()); ++i) {
    SSL_do_handshake(c.ssl);
    CHECK(s.feed(c.take()).empty());
    c.give(s.take());
  }
  REQUIRE(SSL_is_init_finished(c.ssl));
  REQUIRE(s.session.handshake_done());
}

// The sizes of the records in `wire` (their bodies), which must be whole.
std::vector<size_t> record_sizes(const std::string& wire) {
  std::vector<size_t> out;
  size_t at = 0;
  while (at + 5 <= wire.size()) {
    const size_t len = size_t{static_cast<uint8_t>(wire[at + 3])} << 8 | static_cast<uint8_t>(wire[at + 4]);
    out.push_back(len);
    at += 5 + len;
  }
  CHECK(at == wire.size());
  return out;
}

std::string pattern(size_t n, unsigned seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + seed * 7 + (i >> 9)) & 0xff);
  return s;
}

// The reason OpenSSL gives for the alert the client received (e.g. SSL_R_SSLV3_ALERT_BAD_RECORD_MAC).
int alert_reason(MemoryClient& c) {
  ERR_clear_error();
  int rc = 0;
  c.read(&rc);
  CHECK(rc == SSL_ERROR_SSL);
  const int reason = ERR_GET_REASON(ERR_peek_error());
  ERR_clear_error();
  return reason;
}

}  // namespace

TEST_CASE("tls records: after a TLS 1.3 handshake the server's records are its own in every suite; the client reads the tickets, then data both ways") {
  for (const bool tickets : {true, false}) {
    auto ctx = server_context(tickets);
    for (const char* suite : kSuites) {
      CAPTURE(suite);
      CAPTURE(tickets);
      MemoryClient c(suite);
      MemoryServer s(*ctx);
      handshake(c, s);
      CHECK(s.session.own_records());
      CHECK(std::string(SSL_CIPHER_get_name(SSL_get_current_cipher(c.ssl))) == suite);
      CHECK(down(s, c, "hello") == "hello");
      CHECK(SSL_SESSION_has_ticket(SSL_get0_session(c.ssl)) == (tickets ? 1 : 0));
      CHECK(up(c, s, "world") == "world");
    }
  }
}

TEST_CASE("tls records: the client's first data in the flight of its Finished is decrypted too") {
  auto ctx = server_context();
  MemoryClient c;
  MemoryServer s(*ctx);
  SSL_do_handshake(c.ssl);
  s.feed(c.take());
  c.give(s.take());
  REQUIRE(SSL_do_handshake(c.ssl) == 1);  // Finished written, not yet sent
  c.write("GET / HTTP/1.1\r\n\r\n");
  std::string plain;
  CHECK(s.feed(c.take(), plain) == TlsSession::Result::kWantMore);
  CHECK(s.session.own_records());
  CHECK(plain == "GET / HTTP/1.1\r\n\r\n");
}

TEST_CASE("tls records: after a HelloRetryRequest the sequence numbers are still right") {
  auto ctx = server_context();
  REQUIRE(SSL_CTX_set1_groups_list(ctx->native(), "P-384") == 1);  // the client's first key share is P-256
  MemoryClient c;
  REQUIRE(SSL_set1_groups_list(c.ssl, "P-256:P-384") == 1);
  MemoryServer s(*ctx);
  handshake(c, s);
  CHECK(SSL_get_negotiated_group(c.ssl) == NID_secp384r1);  // so the server asked for another share
  CHECK(s.session.own_records());
  CHECK(down(s, c, "after a retry") == "after a retry");
  CHECK(up(c, s, "both ways") == "both ways");
}

TEST_CASE("tls records: a TLS 1.2 connection stays on OpenSSL") {
  auto ctx = server_context();
  MemoryClient c(nullptr, nullptr, TLS1_2_VERSION);
  MemoryServer s(*ctx);
  handshake(c, s);
  CHECK_FALSE(s.session.own_records());
  CHECK(up(c, s, "ping") == "ping");
  CHECK(down(s, c, "pong") == "pong");
}

TEST_CASE("tls records: messages of 1 MiB go both ways in records of at most 16 KiB") {
  auto ctx = server_context();
  for (const char* suite : kSuites) {
    CAPTURE(suite);
    MemoryClient c(suite);
    MemoryServer s(*ctx);
    handshake(c, s);
    const std::string to_client = pattern(1 << 20, 1), to_server = pattern((1 << 20) + 77, 2);
    s.write(to_client);
    const std::string wire = s.take();
    const std::vector<size_t> sizes = record_sizes(wire);
    CHECK(sizes.size() == 64);
    for (size_t len : sizes) CHECK(len == (1 << 14) + 17);  // 16 KiB, the type byte, the tag
    c.give(wire);
    CHECK(c.read() == to_client);
    CHECK(up(c, s, to_server) == to_server);
  }
}

TEST_CASE("tls records: records split at every byte, and fed one byte at a time, decrypt the same") {
  auto ctx = server_context();
  MemoryClient c;
  MemoryServer s(*ctx);
  handshake(c, s);
  for (unsigned i = 0; i < 130; ++i) {
    // Two records: the split falls in the first's header, its body, the second's header or body.
    const std::string a = pattern(40, i), b = pattern(17, i + 1000);
    c.write(a);
    c.write(b);
    const std::string wire = c.take();
    const size_t at = i % (wire.size() + 1);
    CAPTURE(at);
    std::string plain = s.feed(wire.substr(0, at));
    plain += s.feed(wire.substr(at));
    CHECK(plain == a + b);
  }
  const std::string big = pattern(1 << 14, 9);
  c.write(big);
  const std::string wire = c.take();
  std::string plain;
  for (char byte : wire) plain += s.feed(std::string(1, byte));
  CHECK(plain == big);
  CHECK(down(s, c, "still in step") == "still in step");
}

TEST_CASE("tls records: a client's KeyUpdate, requested or not, with data before and after, both ways") {
  auto ctx = server_context();
  for (const char* suite : kSuites) {
    for (const bool requested : {false, true}) {
      CAPTURE(suite);
      CAPTURE(requested);
      MemoryClient c(suite);
      MemoryServer s(*ctx);
      handshake(c, s);
      for (int round = 0; round < 3; ++round) {
        CHECK(up(c, s, "before") == "before");
        s.write("down before");  // sealed with the server's key of before the update
        REQUIRE(SSL_key_update(c.ssl, requested ? SSL_KEY_UPDATE_REQUESTED : SSL_KEY_UPDATE_NOT_REQUESTED) == 1);
        c.write("after");  // the KeyUpdate goes first
        std::string plain;
        CHECK(s.feed(c.take(), plain) == TlsSession::Result::kWantMore);
        CHECK(plain == "after");
        // Requested: the server's own KeyUpdate follows its data of before, in its own record.
        CHECK(record_sizes(s.out).size() == (requested ? 2U : 1U));
        CHECK(down(s, c, "down after") == "down beforedown after");
      }
    }
  }
}

TEST_CASE("tls records: a corrupted record gets bad_record_mac and ends the connection") {
  auto ctx = server_context();
  for (const size_t flip : {5U, 12U, 36U}) {  // the first ciphertext byte, one inside, the tag's last
    CAPTURE(flip);
    MemoryClient c;
    MemoryServer s(*ctx);
    handshake(c, s);
    c.write("sixteen bytes..");
    std::string wire = c.take();
    REQUIRE(wire.size() == 5 + 16 + 1 + 16 - 1);
    wire[flip] ^= 0x40;
    std::string plain;
    CHECK(s.feed(wire, plain) == TlsSession::Result::kError);
    CHECK(plain.empty());
    CHECK(s.session.error_text().find("bad_record_mac") != std::string::npos);
    c.give(s.take());
    CHECK(alert_reason(c) == SSL_R_SSLV3_ALERT_BAD_RECORD_MAC);
    CHECK(s.session.write(reinterpret_cast<const uint8_t*>("x"), 1) == TlsSession::Result::kError);
    CHECK(s.take().empty());
  }
}

TEST_CASE("tls records: an unencrypted record gets unexpected_message, an oversized one record_overflow") {
  auto ctx = server_context();
  const std::pair<std::string, int> cases[] = {
      {std::string("\x16\x03\x03\x00\x01\x01", 6), SSL_R_SSLV3_ALERT_UNEXPECTED_MESSAGE},
      {std::string("\x15\x03\x03\x00\x02\x01\x00", 7), SSL_R_SSLV3_ALERT_UNEXPECTED_MESSAGE},
      {std::string("\x17\x03\x03\x41\x01", 5), SSL_R_TLSV1_ALERT_RECORD_OVERFLOW},  // 2^14 + 257
  };
  for (const auto& [wire, reason] : cases) {
    MemoryClient c;
    MemoryServer s(*ctx);
    handshake(c, s);
    c.give(s.take());
    CHECK(c.read().empty());  // the tickets
    std::string plain;
    CHECK(s.feed(wire, plain) == TlsSession::Result::kError);
    c.give(s.take());
    CHECK(alert_reason(c) == reason);
  }
}

TEST_CASE("tls records: close_notify either way") {
  auto ctx = server_context();
  {
    MemoryClient c;
    MemoryServer s(*ctx);
    handshake(c, s);
    c.write("last words");
    SSL_shutdown(c.ssl);
    std::string plain;
    CHECK(s.feed(c.take(), plain) == TlsSession::Result::kClosed);
    CHECK(plain == "last words");
    s.write("reply");  // the peer closed its side only: ours is still open
    s.session.shutdown();
    s.session.shutdown();  // once
    c.give(s.take());
    int rc = 0;
    CHECK(c.read(&rc) == "reply");
    CHECK(rc == SSL_ERROR_ZERO_RETURN);
  }
  {
    MemoryClient c;
    MemoryServer s(*ctx);
    handshake(c, s);
    s.session.shutdown();
    CHECK(s.session.write(reinterpret_cast<const uint8_t*>("x"), 1) == TlsSession::Result::kError);
    c.give(s.take());
    int rc = 0;
    CHECK(c.read(&rc).empty());
    CHECK(rc == SSL_ERROR_ZERO_RETURN);
  }
}

TEST_CASE("tls records: a ticket from a connection on the server's records resumes, and the resumed one switches too") {
  auto ctx = server_context();
  SSL_SESSION* ticket = nullptr;
  {
    MemoryClient c;
    MemoryServer s(*ctx);
    handshake(c, s);
    CHECK(down(s, c, "x") == "x");
    // A copy: OpenSSL marks a client's session not resumable when it is freed without close_notify.
    ticket = SSL_SESSION_dup(SSL_get0_session(c.ssl));
    REQUIRE(SSL_SESSION_has_ticket(ticket));
  }
  MemoryClient c(nullptr, ticket);
  SSL_SESSION_free(ticket);
  MemoryServer s(*ctx);
  handshake(c, s);
  CHECK(SSL_session_reused(c.ssl) == 1);
  CHECK(s.session.own_records());
  CHECK(up(c, s, "again") == "again");
  CHECK(down(s, c, "yes") == "yes");
}

// Two record layers face to face (the second plays the client with the mirrored secrets): what an
// OpenSSL client does not send — padding, empty records, handshake messages other than KeyUpdate.
struct RecordPair {
  // `down_seq`: records the server has already sent the client.
  explicit RecordPair(TlsRecords::Suite suite = TlsRecords::Suite::kAes128Gcm, uint64_t down_seq = 0) {
    for (size_t i = 0; i < sizeof a; ++i) {
      a[i] = static_cast<uint8_t>(i * 3 + 1);
      b[i] = static_cast<uint8_t>(i * 5 + 2);
    }
    server = std::make_unique<TlsRecords>(suite, a, b, down_seq);
    client = std::make_unique<TlsRecords>(suite, b, a, 0, down_seq);
  }
  static void append(void* to, const uint8_t* d, size_t n) {
    static_cast<std::string*>(to)->append(reinterpret_cast<const char*>(d), n);
  }
  TlsRecords::Output to_server() { return {&append, &wire_up}; }
  TlsRecords::Output to_client() { return {&append, &wire_down}; }
  // Reads all of wire_up on the server; the last result.
  TlsRecords::Result serve(std::string& plain) { return pump(*server, wire_up, plain, to_client()); }
  TlsRecords::Result receive(std::string& plain) { return pump(*client, wire_down, plain, to_server()); }
  static TlsRecords::Result pump(TlsRecords& r, std::string& wire, std::string& plain, TlsRecords::Output o) {
    const uint8_t* in = reinterpret_cast<const uint8_t*>(wire.data());
    size_t left = wire.size();
    std::vector<uint8_t> out(1 << 16);
    TlsRecords::Result result;
    for (;;) {
      size_t n = 0;
      result = r.read(in, left, out.data(), out.size(), n, o);
      plain.append(reinterpret_cast<const char*>(out.data()), n);
      if (result != TlsRecords::Result::kDone) break;
    }
    wire.erase(0, wire.size() - left);
    return result;
  }
  void send(uint8_t type, const std::string& s, size_t padding = 0) {
    client->send_record(type, reinterpret_cast<const uint8_t*>(s.data()), s.size(), padding, to_server());
  }

  uint8_t a[48], b[48];
  std::unique_ptr<TlsRecords> server, client;
  std::string wire_up, wire_down;
};

TEST_CASE("tls records: padding and empty records are read through; the server's own KeyUpdate keeps both in step") {
  for (const auto suite : {TlsRecords::Suite::kAes128Gcm, TlsRecords::Suite::kAes256Gcm, TlsRecords::Suite::kChacha20Poly1305}) {
    RecordPair p(suite);
    p.send(23, "padded", 200);
    p.send(23, "", 0);
    p.send(23, "", 1000);
    p.send(23, std::string(1 << 14, 'z'), 0);
    std::string plain;
    CHECK(p.serve(plain) == TlsRecords::Result::kWantMore);
    CHECK(plain == "padded" + std::string(1 << 14, 'z'));
    p.server->key_update(true, p.to_client());  // asks the client for its own
    p.server->write(reinterpret_cast<const uint8_t*>("after"), 5, p.to_client());
    plain.clear();
    CHECK(p.receive(plain) == TlsRecords::Result::kWantMore);
    CHECK(plain == "after");
    CHECK_FALSE(p.wire_up.empty());  // the client's KeyUpdate
    p.client->write(reinterpret_cast<const uint8_t*>("reply"), 5, p.to_server());
    plain.clear();
    CHECK(p.serve(plain) == TlsRecords::Result::kWantMore);
    CHECK(plain == "reply");
  }
}

TEST_CASE("tls records: after 2^24 records under one key the server replaces it with a KeyUpdate of its own, unasked") {
  for (const auto suite : {TlsRecords::Suite::kAes128Gcm, TlsRecords::Suite::kAes256Gcm, TlsRecords::Suite::kChacha20Poly1305}) {
    RecordPair p(suite, TlsRecords::kRecordsPerKey - 3);  // two records left under this key, then the KeyUpdate
    std::string sent;
    for (int i = 0; i < 5; ++i) {
      const std::string m = "record " + std::to_string(i);
      sent += m;
      CHECK(p.server->write(reinterpret_cast<const uint8_t*>(m.data()), m.size(), p.to_client()) ==
            TlsRecords::Result::kDone);
    }
    size_t records = 0;  // five of data and the KeyUpdate
    for (size_t at = 0; at + 5 <= p.wire_down.size(); ++records) {
      at += 5 + ((static_cast<uint8_t>(p.wire_down[at + 3]) << 8) | static_cast<uint8_t>(p.wire_down[at + 4]));
    }
    CHECK(records == 6);
    std::string plain;
    CHECK(p.receive(plain) == TlsRecords::Result::kWantMore);  // every record opened: the client followed
    CHECK(plain == sent);
    CHECK(p.wire_up.empty());  // not asked for the client's own
  }
}

TEST_CASE("tls records: KeyUpdates with no data between are taken up to a bound; one more ends the connection") {
  RecordPair p;
  auto updates = [&](int count) {
    for (int i = 0; i < count; ++i) p.client->key_update(false, p.to_server());
  };
  std::string plain;
  updates(TlsRecords::kMaxKeyUpdatesInARow);
  p.client->write(reinterpret_cast<const uint8_t*>("data"), 4, p.to_server());  // data: the count starts over
  updates(TlsRecords::kMaxKeyUpdatesInARow);
  CHECK(p.serve(plain) == TlsRecords::Result::kWantMore);
  CHECK(plain == "data");
  updates(1);
  CHECK(p.serve(plain) == TlsRecords::Result::kError);
  CHECK(p.server->error() == "TLS: too many KeyUpdates without data between");
}

TEST_CASE("tls records: a client's handshake message other than a whole KeyUpdate ends with an alert; the client's alert ends it too") {
  const std::pair<std::string, const char*> cases[] = {
      {std::string("\x04\x00\x00\x01\x00", 5), "unexpected handshake"},       // NewSessionTicket
      {std::string("\x18\x00\x00\x01\x00\x17", 6), "malformed KeyUpdate"},   // not last in its record
      {std::string("\x18\x00\x00\x01", 4), "malformed KeyUpdate"},             // cut short
      {std::string("\x18\x00\x00\x01\x02", 5), "malformed KeyUpdate"},        // no such request
  };
  for (const auto& entry : cases) {  // no structured binding: CAPTURE's lambda cannot name one (clang 14)
    const std::string& message = entry.first;
    const char* why = entry.second;
    CAPTURE(why);
    RecordPair p;
    p.send(23, "first");
    p.send(22, message);
    p.send(23, "never");
    std::string plain;
    CHECK(p.serve(plain) == TlsRecords::Result::kError);
    CHECK(plain == "first");
    CHECK(p.server->error().find(why) != std::string::npos);
    std::string back;
    CHECK(p.receive(back) == TlsRecords::Result::kError);
    CHECK(p.client->error().starts_with("TLS: the peer sent alert"));
  }
  RecordPair p;  // a fatal alert from the client ends the connection with nothing sent back
  p.send(23, "data");
  p.send(21, std::string("\x02\x28", 2));  // handshake_failure
  std::string plain;
  CHECK(p.serve(plain) == TlsRecords::Result::kError);
  CHECK(plain == "data");
  CHECK(p.server->error() == "TLS: the peer sent alert 40");
  CHECK(p.wire_down.empty());
}

TEST_SUITE("io") {

TEST_CASE("tls records: a client's KeyUpdate, requested or not, with data before and after, over a real connection") {
  TcpServerOptions o;
  o.address = SocketAddress::loopback(0);
  o.shards.count = 1;
  o.loop = test::loop_options();
  o.loop.tls = server_context();
  TcpServer server(o, [](Loop& l) { return std::make_unique<TcpEchoHandler>(l); });
  server.start();
  for (const int update : {SSL_KEY_UPDATE_NOT_REQUESTED, SSL_KEY_UPDATE_REQUESTED}) {
    CAPTURE(update);
    test::BlockingTlsClient c(server.port());
    REQUIRE(c.ok());
    for (int round = 0; round < 3; ++round) {
      const std::string before = pattern(100'000, static_cast<unsigned>(round)), after = pattern(3000, 99);
      std::string back(before.size(), '\0');
      REQUIRE(c.write_all(before));
      REQUIRE(c.read_exact(back.data(), back.size()));
      CHECK(back == before);
      REQUIRE(SSL_key_update(c.ssl(), update) == 1);
      back.assign(after.size(), '\0');
      REQUIRE(c.write_all(after));
      REQUIRE(c.read_exact(back.data(), back.size()));
      CHECK(back == after);
    }
  }
  CHECK(server.total(&NetStats::tls_errors) == 0);
  server.stop();
  server.join();
}

}  // TEST_SUITE("io")
