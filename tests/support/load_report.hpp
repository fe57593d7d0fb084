#pragma once
// ringcast-load from a test: LoadReport, the numbers of its JSON report, and LoadRun, the program run
// in the background (for a test that does something to the servers while it runs) or to its end.
// One thread drives each.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/child_process.hpp"
#include "tests/support/test_support.hpp"

namespace ringcast::test {

// The numbers of ringcast-load's JSON report, by key (the keys of nested objects too). A key the
// report lacks fails the test: a figure that is missing must not read as 0.
class LoadReport {
 public:
  double operator[](const std::string& key) const {
    const auto it = values_.find(key);
    REQUIRE_MESSAGE(it != values_.end(), "the report has no \"", key, "\"");
    return it->second;
  }
  // Every `"name": number` pair of the report's text.
  void read(const std::string& s) {
    for (size_t at = s.find('"'); at != std::string::npos; at = s.find('"', at + 1)) {
      const size_t end = s.find('"', at + 1);
      if (end == std::string::npos) break;
      const std::string key = s.substr(at + 1, end - at - 1);
      size_t v = end + 1;
      if (s.compare(v, 2, ": ") == 0) v += 2;
      char* stop = nullptr;
      const double value = std::strtod(s.c_str() + v, &stop);
      if (stop != s.c_str() + v) values_[key] = value;
      at = end;
    }
  }

 private:
  std::map<std::string, double> values_;
};

// build/bin/ringcast-load with `args`, started in the background; its JSON report goes to a file of
// its own, read by finish().
class LoadRun {
 public:
  explicit LoadRun(std::vector<std::string> args) {
    static std::atomic<int> runs{0};
    json_ = binary_path(fmt::format("load-{}-{}.json", ::getpid(), runs++));
    args.insert(args.begin(), binary_path("bin/ringcast-load"));
    args.insert(args.end(), {"--progress=false", "--json", json_});
    child_ = std::make_unique<ChildProcess>(args);
  }
  ~LoadRun() { std::remove(json_.c_str()); }

  // Waits up to `limit` for it to end; its exit status (-1: killed at the limit), its report in `report`.
  int finish(LoadReport& report, std::chrono::milliseconds limit = std::chrono::seconds(120)) {
    const std::optional<int> status = child_->wait(deadline_in(limit));
    CHECK_MESSAGE(status.has_value(), "ringcast-load still running after the limit:\n", child_->output());
    const int rc = status ? *status : child_->stop(SIGKILL);
    std::ifstream in(json_);
    std::stringstream text;
    text << in.rdbuf();
    report.read(text.str());
    return rc;
  }
  const std::string& output() { return child_->output(); }

 private:
  std::string json_;
  std::unique_ptr<ChildProcess> child_;
};

// Runs ringcast-load with `args` to its end (at most two minutes); its exit status.
inline int run_load(std::vector<std::string> args, LoadReport& report) {
  return LoadRun(std::move(args)).finish(report);
}

}  // namespace ringcast::test
