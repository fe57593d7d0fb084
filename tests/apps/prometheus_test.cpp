// /metrics against the real tools: `promtool check metrics` finds nothing to say about the exposition of
// ringcast-chat on a broker (every family there), and a real Prometheus (Debian's package), scraping it
// every 2 s, answers every query of the shipped Grafana dashboard (ops/grafana/ringcast.json) with
// data. Without prometheus or promtool the test fails: it is what the test is about.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <simdjson.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/raw_http_client.hpp"
#include "tests/support/redis_fixture.hpp"
#include "tests/support/test_process.hpp"

using namespace ringcast;
using namespace std::chrono_literals;

namespace {

const std::string kPrometheus = "/usr/bin/prometheus";
const std::string kPromtool = "/usr/bin/promtool";
const std::string kCurl = "/usr/bin/curl";

// The temporary directory of one Prometheus, removed even when the test fails.
struct TempDir {
  std::string path = test::detail::make_temp_dir("prometheus");
  ~TempDir() { std::filesystem::remove_all(path); }
};

// The dashboard's queries, with Grafana's $__rate_interval as it is at a 2 s scrape interval (8 s).
std::vector<std::string> dashboard_queries(const std::string& file) {
  simdjson::dom::parser parser;
  simdjson::dom::element dashboard;
  REQUIRE_FALSE(parser.load(file).get(dashboard));
  std::vector<std::string> queries;
  for (simdjson::dom::element panel : dashboard["panels"].get_array()) {
    for (simdjson::dom::element target : panel["targets"].get_array()) {
      std::string expr(target["expr"].get_string().value());
      for (size_t at; (at = expr.find("$__rate_interval")) != std::string::npos;) expr.replace(at, 16, "8s");
      queries.push_back(expr);
    }
  }
  return queries;
}

// How many series `query` gives now (GET /api/v1/query); -1 when Prometheus answered with an error.
int series(uint16_t port, const std::string& query, std::string& answer) {
  const test::ProgramRun run = test::run_program(
      {kCurl, "-sS", "-G", "--data-urlencode", "query=" + query, fmt::format("http://127.0.0.1:{}/api/v1/query", port)}, {},
      10s);
  answer = run.output;
  simdjson::dom::parser parser;
  simdjson::dom::element reply;
  std::string_view status;
  simdjson::dom::array result;
  if (run.status != 0 || parser.parse(answer).get(reply) || reply["status"].get(status) || status != "success" ||
      reply["data"]["result"].get(result)) {
    return -1;
  }
  return static_cast<int>(result.size());
}

}  // namespace

TEST_CASE("prometheus: promtool finds nothing wrong with /metrics, and a real Prometheus scraping ringcast-chat "
          "answers every query of ops/grafana/ringcast.json with data") {
  REQUIRE_MESSAGE(::access(kPrometheus.c_str(), X_OK) == 0, kPrometheus, " is missing: scripts/setup installs prometheus");
  REQUIRE_MESSAGE(::access(kPromtool.c_str(), X_OK) == 0, kPromtool, " is missing: scripts/setup installs prometheus");
  if (!test::require_program(kCurl, "scripts/setup installs curl") || !test::require_redis()) return;
  const auto t0 = std::chrono::steady_clock::now();
  test::RedisServer redis;
  test::ServerProcess chat({test::binary_path("bin/ringcast-chat"), "--port", "0", "--shards", "2", "--host", "127.0.0.1",
                            "--broker", redis.url("ops/"),
                            "--metrics-port", "0", "--log", "info"});
  REQUIRE(chat.port() > 0);
  const auto metrics_port = static_cast<uint16_t>(chat.metrics_port());
  REQUIRE(metrics_port > 0);

  // The exposition, as promtool reads it: no complaint, exit 0.
  const test::HttpReply exposition = test::get(metrics_port, "/metrics");
  REQUIRE(exposition.status == 200);
  CHECK(exposition.body.find("ringcast_redis_probe_round_trip_seconds") != std::string::npos);
  const test::ProgramRun lint = test::run_program({kPromtool, "check", "metrics"}, exposition.body, 30s);
  CHECK_MESSAGE(lint.status == 0, lint.output);
  CHECK_MESSAGE(lint.output.empty(), lint.output);

  TempDir dir;
  const uint16_t port = test::free_port();
  {
    std::ofstream config(dir.path + "/prometheus.yml");
    config << fmt::format("global:\n  scrape_interval: 2s\n  scrape_timeout: 2s\n  evaluation_interval: 2s\n"
                          "scrape_configs:\n  - job_name: ringcast\n    static_configs:\n"
                          "      - targets: ['127.0.0.1:{}']\n",
                          metrics_port);
  }
  test::ChildProcess prometheus({kPrometheus, "--config.file=" + dir.path + "/prometheus.yml",
                                 "--storage.tsdb.path=" + dir.path + "/data",
                                 fmt::format("--web.listen-address=127.0.0.1:{}", port), "--log.level=warn"});
  // Generous: on a loaded machine with a sanitizer build, Prometheus' start and the first scrape that fits
  // in its timeout can take many seconds.
  std::string answer;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (series(port, R"(up{job="ringcast"} == 1)", answer) != 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(200ms);
  }
  if (series(port, R"(up{job="ringcast"} == 1)", answer) != 1) {
    // Why not: the target's last scrape error, as Prometheus saw it.
    const test::ProgramRun targets =
        test::run_program({kCurl, "-sS", fmt::format("http://127.0.0.1:{}/api/v1/targets", port)}, {}, 10s);
    FAIL("no successful scrape: ", answer, "\ntargets: ", targets.output, "\n", prometheus.output());
  }

  // Every panel's every query: data (rates need two scrapes, so each may take a second or two).
  const std::vector<std::string> queries = dashboard_queries(test::source_path("ops/grafana/ringcast.json"));
  CHECK(queries.size() >= 15);
  for (const std::string& query : queries) {
    int n;
    while ((n = series(port, query, answer)) == 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(200ms);
    }
    CHECK_MESSAGE(n > 0, query, " gave ", answer);
  }
  MESSAGE("took ", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), " s");
}
