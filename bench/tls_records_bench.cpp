// tls_records_bench: what sealing and opening a TLS 1.3 record costs in ringcast's own record layer
// (ringcast/net/tls/detail/tls_records.hpp), and what the thread's shared AEAD contexts add when
// connections take turns: "held" seals every record of one connection (the context keeps its key,
// only the nonce is set), "rekeyed" alternates two connections record by record (a key schedule each
// time, the worst case of a shard's flush). Per suite, records of 64 B and 16 KiB of plaintext.
//
//   tls_records_bench                       print the table (a few seconds)
//   tls_records_bench --json out.json
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "bench/bench_report.hpp"
#include <ringcast/core/cli.hpp>
#include <ringcast/net/tls/detail/tls_records.hpp>

using namespace ringcast;
using Clock = std::chrono::steady_clock;

namespace {

struct Sink {
  size_t bytes = 0;
  std::string last;  // the last record, to open
  static void take(void* self, const uint8_t* data, size_t n) {
    auto& s = *static_cast<Sink*>(self);
    s.bytes += n;
    s.last.assign(reinterpret_cast<const char*>(data), n);
  }
};

// Nanoseconds per record: seals `count` records of `size` bytes over `connections` connections in turn.
double seal_ns(TlsRecords::Suite suite, size_t size, size_t connections, size_t count) {
  uint8_t secret[48];
  std::vector<std::unique_ptr<TlsRecords>> conns;
  for (size_t c = 0; c < connections; ++c) {
    for (size_t i = 0; i < sizeof secret; ++i) secret[i] = static_cast<uint8_t>(i + 31 * c);
    conns.push_back(std::make_unique<TlsRecords>(suite, secret, secret, 0));
  }
  const std::vector<uint8_t> plain(size, 'x');
  Sink sink;
  const TlsRecords::Output out{&Sink::take, &sink};
  const auto start = Clock::now();
  for (size_t i = 0; i < count; ++i) conns[i % connections]->write(plain.data(), size, out);
  return std::chrono::duration<double, std::nano>(Clock::now() - start).count() / static_cast<double>(count);
}

// Nanoseconds per record opened: `connections` peers in turn, each reading records sealed for it.
double open_ns(TlsRecords::Suite suite, size_t size, size_t connections, size_t count) {
  uint8_t secret[48];
  std::vector<std::unique_ptr<TlsRecords>> readers;
  std::vector<std::string> wires(connections);
  for (size_t c = 0; c < connections; ++c) {
    for (size_t i = 0; i < sizeof secret; ++i) secret[i] = static_cast<uint8_t>(i + 31 * c);
    readers.push_back(std::make_unique<TlsRecords>(suite, secret, secret, 0));
    TlsRecords writer(suite, secret, secret, 0);
    const std::vector<uint8_t> plain(size, 'y');
    auto append = [](void* to, const uint8_t* d, size_t n) {
      static_cast<std::string*>(to)->append(reinterpret_cast<const char*>(d), n);
    };
    for (size_t i = 0; i < count / connections; ++i) writer.write(plain.data(), size, {append, &wires[c]});
  }
  std::vector<const uint8_t*> at(connections);
  for (size_t c = 0; c < connections; ++c) at[c] = reinterpret_cast<const uint8_t*>(wires[c].data());
  std::vector<uint8_t> out(TlsRecords::kMaxCiphertext);
  Sink none;
  const size_t total = count / connections * connections;
  const auto start = Clock::now();
  for (size_t i = 0; i < total; ++i) {
    const size_t c = i % connections;
    size_t l = 5 + size + 17, n = 0;  // one record per read
    readers[c]->read(at[c], l, out.data(), out.size(), n, {&Sink::take, &none});
    if (n != size) return -1;
  }
  return std::chrono::duration<double, std::nano>(Clock::now() - start).count() / static_cast<double>(total);
}

}  // namespace

int main(int argc, char** argv) {
  Cli cli("tls_records_bench", "TLS 1.3 record sealing and opening per record: a held key against a key set per record");
  auto& count = cli.flag("records", int64_t{50000}, "records of 64 B per run (16 KiB: a fiftieth)");
  auto& runs = cli.flag("runs", int64_t{7}, "runs per figure, the best counts");
  auto& json = cli.flag("json", std::string(), "also write the figures to this JSON file");
  cli.example("tls_records_bench --json bench/results/tls_records.json");
  if (int rc = cli.parse(argc, argv); rc >= 0) return rc;
  bench::BenchReport table("tls_records_bench");
  const std::pair<const char*, TlsRecords::Suite> suites[] = {{"AES-128-GCM", TlsRecords::Suite::kAes128Gcm},
                                                               {"AES-256-GCM", TlsRecords::Suite::kAes256Gcm},
                                                               {"ChaCha20-Poly1305", TlsRecords::Suite::kChacha20Poly1305}};
  for (const auto& [name, suite] : suites) {
    for (const size_t size : {size_t{64}, size_t{16384}}) {
      const size_t n = static_cast<size_t>(count) / (size > 64 ? 50 : 1);
      // The best of --runs runs, the four figures in turns: on a shared machine some runs go uninterrupted.
      double held = 1e18, rekeyed = 1e18, open_held = 1e18, open_rekeyed = 1e18;
      for (int64_t run = 0; run < runs; ++run) {
        held = std::min(held, seal_ns(suite, size, 1, n));
        rekeyed = std::min(rekeyed, seal_ns(suite, size, 2, n));
        open_held = std::min(open_held, open_ns(suite, size, 1, n));
        open_rekeyed = std::min(open_rekeyed, open_ns(suite, size, 2, n));
      }
      table.add({{"suite", std::string(name)},
                 {"plaintext_bytes", static_cast<int64_t>(size)},
                 {"seal_held_ns", held},
                 {"seal_rekeyed_ns", rekeyed},
                 {"open_held_ns", open_held},
                 {"open_rekeyed_ns", open_rekeyed}});
    }
  }
  fmt::print("Nanoseconds per TLS 1.3 record (held: one connection; rekeyed: two in turn, a key set per record)\n");
  table.print_table();
  if (!json.empty() && !table.write_json(json)) return 1;
  return 0;
}
