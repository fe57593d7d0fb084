// libFuzzer target for TlsRecords, the TLS 1.3 record layer after the handshake. A peer TlsRecords
// with the mirrored secrets seals what the input asks for — application data, alerts, KeyUpdates,
// any handshake bytes, any content type, with padding — and raw bytes or a flipped bit may go in
// between; the stream reaches the server split where the input says, read into buffers of the size
// it says. The server must deliver exactly the data sealed before the first record it refuses, never
// read past a refusal, and what it sends back (KeyUpdates, alerts) must open on the peer.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdlib>
#include <string>
#include <vector>

#include <ringcast/net/tls/detail/tls_records.hpp>

using namespace ringcast;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

void append(void* to, const uint8_t* data, size_t n) { static_cast<std::string*>(to)->append(reinterpret_cast<const char*>(data), n); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider fdp(data, size);
  const auto suite = static_cast<TlsRecords::Suite>(fdp.ConsumeIntegralInRange<int>(0, 2));
  uint8_t client_secret[48], server_secret[48];
  for (size_t i = 0; i < 48; ++i) {
    client_secret[i] = static_cast<uint8_t>(i * 7 + 1);
    server_secret[i] = static_cast<uint8_t>(i * 13 + 5);
  }
  const uint64_t server_seq = fdp.ConsumeIntegralInRange<uint64_t>(0, 3);
  TlsRecords server(suite, client_secret, server_secret, server_seq);
  TlsRecords peer(suite, server_secret, client_secret, 0);
  check(server.valid() && peer.valid());
  // The peer's reads of the server's records run at the server's sequence: skip the ones it sent before.
  std::string to_server, to_peer;  // to_peer: what the server sends
  std::string sealed, expected;      // all the application data sealed; what the server must deliver
  const TlsRecords::Output into_server{&append, &to_server}, into_peer{&append, &to_peer};
  std::string skipped;
  TlsRecords skip(suite, client_secret, server_secret, 0);
  for (uint64_t i = 0; i < server_seq; ++i) skip.write(reinterpret_cast<const uint8_t*>("t"), 1, {&append, &skipped});

  // What the server must do with the stream: deliver `expected` and go on (kGoing), deliver it and
  // stop at an alert (kEnds), or deliver a prefix of `sealed` and stop somewhere (kBroken: a second
  // flip may undo the first).
  enum { kGoing, kEnds, kBroken } fate = kGoing;
  const int ops = fdp.ConsumeIntegralInRange<int>(0, 24);
  for (int i = 0; i < ops; ++i) {
    const int op = fdp.ConsumeIntegralInRange<int>(0, 5);
    auto spoil = [&fate](decltype(fate) f) {
      if (fate == kGoing) fate = f;
    };
    if (op == 0) {  // application data
      const std::string s = fdp.ConsumeRandomLengthString(20000);
      peer.write(reinterpret_cast<const uint8_t*>(s.data()), s.size(), into_server);
      sealed += s;
      if (fate == kGoing) expected += s;
    } else if (op == 1) {  // a KeyUpdate
      peer.key_update(fdp.ConsumeBool(), into_server);
    } else if (op == 2) {  // a record of any type with padding
      // Not 0: a sender's type is never 0 (RFC 8446 §5.4), and with 0 the content's last non-zero
      // byte would read as the type.
      const uint8_t type = fdp.ConsumeIntegralInRange<uint8_t>(1, 255);
      const std::string s = fdp.ConsumeRandomLengthString(300);
      const size_t padding = fdp.ConsumeIntegralInRange<size_t>(0, 300);
      peer.send_record(type, reinterpret_cast<const uint8_t*>(s.data()), s.size(), padding, into_server);
      if (type == 23) {
        sealed += s;
        if (fate == kGoing) expected += s;
      } else {
        spoil(type == 21 && s.size() == 2 ? kEnds : kBroken);  // an alert ends; anything else is refused
      }
    } else if (op == 3) {  // close_notify
      peer.close(into_server);
      spoil(kEnds);
    } else if (op == 4) {  // raw bytes
      const std::string s = fdp.ConsumeRandomLengthString(64);
      to_server += s;
      if (!s.empty()) spoil(kBroken);
    } else if (!to_server.empty()) {  // a flipped bit
      const size_t at = fdp.ConsumeIntegralInRange<size_t>(0, to_server.size() - 1);
      to_server[at] = static_cast<char>(to_server[at] ^ (1 << fdp.ConsumeIntegralInRange<int>(0, 7)));
      fate = kBroken;  // it may fall in a record sent earlier
    }
  }

  // Fed in pieces, read into buffers of the sizes the input gives (too small: kDone with nothing).
  std::string got;
  std::vector<uint8_t> out(TlsRecords::kMaxPlaintext * 2);
  size_t at = 0;
  bool ended = false;
  while (at < to_server.size() && !ended) {
    const size_t piece = fdp.ConsumeIntegralInRange<size_t>(1, to_server.size() - at);
    const uint8_t* in = reinterpret_cast<const uint8_t*>(to_server.data()) + at;
    size_t left = piece;
    bool roomy = false;
    for (;;) {
      const size_t capacity = roomy ? out.size() : fdp.ConsumeIntegralInRange<size_t>(1, out.size());
      size_t n = 0;
      const TlsRecords::Result r = server.read(in, left, out.data(), capacity, n, into_peer);
      check(n <= capacity);
      got.append(reinterpret_cast<const char*>(out.data()), n);
      roomy = r == TlsRecords::Result::kDone && n == 0;
      if (r == TlsRecords::Result::kDone) continue;
      if (r == TlsRecords::Result::kWantMore) check(left == 0);
      ended = r != TlsRecords::Result::kWantMore;
      break;
    }
    at += piece;
  }
  if (fate == kGoing) check(got == expected && !ended);
  if (fate == kEnds) check(got == expected && ended);
  check(sealed.compare(0, got.size(), got) == 0);  // whatever comes through is authentic, in order

  // What the server sent (KeyUpdates, an alert) opens on the peer.
  TlsRecords reader(suite, server_secret, client_secret, 0);
  const std::string back = skipped + to_peer;
  std::string ignored;
  const uint8_t* in = reinterpret_cast<const uint8_t*>(back.data());
  size_t left = back.size();
  size_t n = 0;
  TlsRecords::Result r;
  do {
    r = reader.read(in, left, out.data(), out.size(), n, {&append, &ignored});
  } while (r == TlsRecords::Result::kDone);
  check(r == TlsRecords::Result::kWantMore ? left == 0 : reader.error().starts_with("TLS: the peer sent alert"));
  return 0;
}
