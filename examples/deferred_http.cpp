// deferred_http: slow HTTP work leaves the shard. GET /primes/N counts the primes below N (up to 50
// million) on a pool of worker threads, and the answer comes back to the connection's shard, which
// meanwhile serves its other connections.
//
//   build/examples/deferred_http --port 8080
//   curl http://127.0.0.1:8080/primes/100       # 25
//   curl http://127.0.0.1:8080/primes/50000000  # 3001134, after a while; other requests go on meanwhile
//
// The lesson: res.defer() hands back a PendingResponse, a small copyable handle any thread may
// answer through (answer() with a function of the Response, or send()). The answer runs on the
// connection's shard; the connection's later pipelined requests wait for it; an answer for a client
// that has gone is dropped. The WorkerPool is bounded: submit() says no when full, and the client
// gets 503 at once instead of a queue without end.
#include <fmt/core.h>

#include <charconv>
#include <cstdint>
#include <vector>

#include <ringcast/core/cli.hpp>
#include <ringcast/core/worker_pool.hpp>
#include <ringcast/ws/app.hpp>

using namespace ringcast;

namespace {

// The slow part: a sieve of Eratosthenes, a few tenths of a second for 50 million.
uint64_t count_primes_below(uint64_t n) {
  if (n < 3) return 0;
  std::vector<bool> composite(n);
  uint64_t count = 0;
  for (uint64_t i = 2; i < n; ++i) {
    if (composite[i]) continue;
    ++count;
    for (uint64_t j = i * i; j < n; j += i) composite[j] = true;
  }
  return count;
}

}  // namespace

int main(int argc, char** argv) {
  Cli cli("deferred_http", "GET /primes/N counts the primes below N on worker threads and answers later");
  auto& port = cli.flag("port", int64_t{8080}, "port to listen on (0: any free port)");
  auto& threads = cli.flag("threads", int64_t{2}, "worker threads");
  cli.example("deferred_http --port 8080 --threads 4");
  if (int rc = cli.parse(argc, argv); rc >= 0) return rc;
  if (port < 0 || port > 65535 || threads < 1) {
    fmt::print(stderr, "deferred_http: --port is 0 to 65535, --threads at least 1\n");
    return 2;
  }

  App app({.host = "127.0.0.1", .port = static_cast<uint16_t>(port)});
  // Declared after the app, so it stops (running jobs finish, queued ones are dropped) before the
  // app goes: a PendingResponse may be answered as long as its App exists.
  WorkerPool pool({.threads = static_cast<unsigned>(threads), .queue_capacity = 16, .name = "primes"});
  app.get("/primes/:n", [&pool](Request& req, Response& res) {
    const std::string_view text = req.param("n");
    uint64_t n = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (error != std::errc() || end != text.data() + text.size() || n > 50'000'000) {
      res.status(400).send("N is a number up to 50000000\n");
      return;
    }
    const PendingResponse pending = res.defer();  // the request's views end with this call: copy what the job needs
    if (!pool.submit([pending, n] { pending.send(200, fmt::format("{}\n", count_primes_below(n))); })) {
      pending.send(503, "busy, try again\n");  // answered on this shard, right after this handler
    }
  });
  return app.run();
}
