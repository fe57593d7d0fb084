// http_parser_bench: how fast the HTTP/1.1 pieces are, on one core.
//
// Parses typical request heads (a browser's WebSocket upgrade, a small GET, a browser page GET) in one
// call, and the upgrade again arriving in two pieces (the incremental path); also times a router
// match and a response serialization. Prints requests/s and GB/s of head bytes, from the median of
// 1024-operation batches (robust when other processes share the CPU), and the fastest batch.
//
//   http_parser_bench [--seconds S] [--json FILE]
//
//   --seconds S   time per case (default 0.5)
//   --json FILE   also write the figures as JSON to FILE
//   --help        this text
//
// Example: build/bin/http_parser_bench --seconds 1 --json parser.json
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <ringcast/net/http/detail/http_parser.hpp>
#include <ringcast/net/http/http_response.hpp>
#include <ringcast/net/http/http_router.hpp>

using namespace ringcast;

namespace {

// What Chrome sends to open a WebSocket (491 bytes).
constexpr std::string_view kUpgrade =
    "GET /chat HTTP/1.1\r\n"
    "Host: localhost:8080\r\n"
    "Connection: Upgrade\r\n"
    "Pragma: no-cache\r\n"
    "Cache-Control: no-cache\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 "
    "Safari/537.36\r\n"
    "Upgrade: websocket\r\n"
    "Origin: http://localhost:8080\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "Accept-Encoding: gzip, deflate, br, zstd\r\n"
    "Accept-Language: en-US,en;q=0.9\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
    "\r\n";

// A health check or API poll.
constexpr std::string_view kSmallGet =
    "GET /health HTTP/1.1\r\n"
    "Host: localhost:8080\r\n"
    "Accept: */*\r\n"
    "\r\n";

// A browser loading a page (with cookies).
constexpr std::string_view kBrowserGet =
    "GET /rooms/lobby?view=compact&page=2 HTTP/1.1\r\n"
    "Host: chat.example.com\r\n"
    "Connection: keep-alive\r\n"
    "sec-ch-ua: \"Chromium\";v=\"124\", \"Google Chrome\";v=\"124\", \"Not-A.Brand\";v=\"99\"\r\n"
    "sec-ch-ua-mobile: ?0\r\n"
    "sec-ch-ua-platform: \"Linux\"\r\n"
    "Upgrade-Insecure-Requests: 1\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 "
    "Safari/537.36\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8\r\n"
    "Sec-Fetch-Site: same-origin\r\n"
    "Sec-Fetch-Mode: navigate\r\n"
    "Sec-Fetch-User: ?1\r\n"
    "Sec-Fetch-Dest: document\r\n"
    "Referer: https://chat.example.com/rooms\r\n"
    "Accept-Encoding: gzip, deflate, br, zstd\r\n"
    "Accept-Language: en-US,en;q=0.9\r\n"
    "Cookie: session=3f9a0c1e7b2d4a6f8e0c2b4d6f8a0c1e; theme=dark; consent=yes\r\n"
    "\r\n";

struct Row {
  std::string name;
  size_t bytes = 0;       // bytes handled per operation
  double ns_per_op = 0;   // median over batches
  double best_ns = 0;     // fastest batch
  double ops_per_sec = 0; // from the median
  double gb_per_sec = 0;  // from the median
};

volatile size_t g_sink = 0;  // keeps results alive

// Runs `op` in batches of 1024 for about `seconds`. Figures come from the median batch, so a batch
// that lost the CPU to another process does not skew them; the fastest batch is kept as well.
template <typename Op>
Row measure(const std::string& name, size_t bytes, double seconds, Op&& op) {
  using Clock = std::chrono::steady_clock;
  constexpr int kBatch = 1024;
  size_t acc = 0;
  for (int i = 0; i < 10000; ++i) acc += op();  // warm up
  std::vector<double> batch_ns;
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration<double>(seconds);
  for (auto now = start; now < deadline;) {
    for (int i = 0; i < kBatch; ++i) acc += op();
    const auto after = Clock::now();
    batch_ns.push_back(std::chrono::duration<double, std::nano>(after - now).count() / kBatch);
    now = after;
  }
  g_sink = g_sink + acc;
  std::sort(batch_ns.begin(), batch_ns.end());
  Row r;
  r.name = name;
  r.bytes = bytes;
  r.ns_per_op = batch_ns[batch_ns.size() / 2];
  r.best_ns = batch_ns.front();
  r.ops_per_sec = 1e9 / r.ns_per_op;
  r.gb_per_sec = double(bytes) / r.ns_per_op;
  return r;
}

Row parse_case(const char* name, std::string_view head, double seconds) {
  HttpParser parser;
  HttpRequest req;
  return measure(name, head.size(), seconds, [&] {
    const HttpParseResult r = parser.parse(head, req);
    if (r.status != ParseStatus::complete) std::abort();
    return r.header_bytes + req.headers().size();
  });
}

void usage(FILE* to) {
  std::fputs(
      "http_parser_bench: HTTP/1.1 request parsing speed (one core)\n"
      "\n"
      "  http_parser_bench [--seconds S] [--json FILE]\n"
      "\n"
      "  --seconds S   time per case (default 0.5)\n"
      "  --json FILE   also write the figures as JSON to FILE\n"
      "  --help        this text\n"
      "\n"
      "Example: http_parser_bench --seconds 1 --json parser.json\n",
      to);
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 0.5;
  const char* json = nullptr;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--help" || a == "-h") {
      usage(stdout);
      return 0;
    } else if (a == "--seconds" && i + 1 < argc) {
      seconds = std::atof(argv[++i]);
      if (!(seconds > 0)) {
        std::fprintf(stderr, "http_parser_bench: --seconds needs a positive number\n");
        return 2;
      }
    } else if (a == "--json" && i + 1 < argc) {
      json = argv[++i];
    } else {
      std::fprintf(stderr, "http_parser_bench: unknown argument '%s'\n\n", argv[i]);
      usage(stderr);
      return 2;
    }
  }

  std::vector<Row> rows;
  rows.push_back(parse_case("parse ws-upgrade", kUpgrade, seconds));
  rows.push_back(parse_case("parse small-get", kSmallGet, seconds));
  rows.push_back(parse_case("parse browser-get", kBrowserGet, seconds));
  {
    // The upgrade arriving in two reads: the second call resumes, then fills the request once.
    HttpParser parser;
    HttpRequest req;
    const std::string_view first = kUpgrade.substr(0, kUpgrade.size() / 2);
    rows.push_back(measure("parse ws-upgrade in 2 pieces", kUpgrade.size(), seconds, [&] {
      if (parser.parse(first, req).status != ParseStatus::incomplete) std::abort();
      const HttpParseResult r = parser.parse(kUpgrade, req);
      if (r.status != ParseStatus::complete) std::abort();
      return r.header_bytes;
    }));
  }
  {
    HttpRouter<int> router;
    const char* patterns[] = {"/",          "/health",         "/metrics",     "/chat",       "/api/rooms",
                              "/api/rooms/:room", "/api/rooms/:room/members", "/api/users/:id", "/static/*"};
    int n = 0;
    for (const char* p : patterns) router.add(HttpMethod::get, p, n++);
    const std::string_view path = "/api/rooms/lobby/members";
    rows.push_back(measure("router match (9 routes, 2 params deep)", path.size(), seconds, [&] {
      const auto m = router.match(HttpMethod::get, path);
      return size_t(*m.handler) + m.params.size();
    }));
  }
  {
    std::string out;
    out.reserve(4096);
    std::array<char, kHttpDateSize> date{};
    format_http_date(1700000000, date);
    const std::string_view body = "{\"ok\":true,\"rooms\":12}";
    HttpResponse probe(200);
    probe.add_header("Content-Type", "application/json");
    probe.date(std::string_view(date.data(), date.size())).body(body);
    rows.push_back(measure("response serialize (small JSON)", probe.serialized_size(), seconds, [&] {
      out.clear();
      HttpResponse r(200);
      r.add_header("Content-Type", "application/json");
      r.date(std::string_view(date.data(), date.size())).body(body).serialize(out);
      return out.size();
    }));
  }

  std::printf("%-40s %6s %9s %9s %12s %7s\n", "case", "bytes", "ns/op", "best ns", "ops/s", "GB/s");
  for (const Row& r : rows) {
    std::printf("%-40s %6zu %9.1f %9.1f %12.0f %7.2f\n", r.name.c_str(), r.bytes, r.ns_per_op, r.best_ns,
                r.ops_per_sec, r.gb_per_sec);
  }
  if (json) {
    FILE* f = std::fopen(json, "w");
    if (!f) {
      std::fprintf(stderr, "http_parser_bench: cannot write %s\n", json);
      return 1;
    }
    std::fprintf(f, "{\n  \"benchmark\": \"http_parser\",\n  \"seconds_per_case\": %g,\n  \"results\": [\n", seconds);
    for (size_t i = 0; i < rows.size(); ++i) {
      const Row& r = rows[i];
      std::fprintf(f,
                   "    {\"name\": \"%s\", \"bytes\": %zu, \"ns_per_op\": %.2f, \"best_ns_per_op\": %.2f, "
                   "\"ops_per_sec\": %.0f, \"gb_per_sec\": %.3f}%s\n",
                   r.name.c_str(), r.bytes, r.ns_per_op, r.best_ns, r.ops_per_sec, r.gb_per_sec,
                   i + 1 < rows.size() ? "," : "");
    }
    std::fprintf(f, "  ]\n}\n");
    std::fclose(f);
  }
  return 0;
}
