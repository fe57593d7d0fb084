#pragma once
// ServerProcess: a server program (from build/bin, or any path) run in the background for a test or a
// benchmark. It finds the port the server listens on from its start-up line, "listening on PORT" or
// "listening on [SCHEME://]ADDRESS:PORT" (standard output or error), and stops it with SIGINT when
// it goes, returning its exit status. Built on ChildProcess: the same deadlines, the same death signal.
// One thread owns it. Also here: what keeps a process's resident memory (memory.hpp) meaningful
// under ASan.
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/child_process.hpp"
#include "tests/support/memory.hpp"

namespace ringcast::test {

// ASan parks freed memory in a quarantine (256 MiB by default) that would count as a server's growth
// where its memory is measured; a small one keeps such bounds meaningful in sanitizer builds. Applies
// to the servers started after it; other builds ignore the variable.
inline void shrink_sanitizer_quarantine() {
  const char* options = std::getenv("ASAN_OPTIONS");
  const std::string shrunk = std::string(options ? options : "") + ":quarantine_size_mb=4";
  ::setenv("ASAN_OPTIONS", shrunk.c_str(), 1);
}

class ServerProcess {
 public:
  // argv[0] is the program path. Waits up to `ready_within` for the "listening on" line; port() is 0
  // when none came (the output says why).
  explicit ServerProcess(std::vector<std::string> argv, std::chrono::milliseconds ready_within = std::chrono::seconds(10))
      : child_(argv) {
    child_.wait_for_output([this](std::string_view out) { return (port_ = listening_port(out)) != 0; },
                           deadline_in(ready_within));
  }
  ~ServerProcess() { stop(); }
  ServerProcess(ServerProcess&&) = default;

  int port() const noexcept { return port_; }
  pid_t pid() const noexcept { return child_.pid(); }

  // The process's resident memory in KiB (VmRSS), or -1.
  long rss_kib() const { return child_.pid() > 0 ? test::rss_kib(child_.pid()) : -1; }

  // Everything it printed so far.
  const std::string& output() { return child_.output(); }
  // Reads its output until `text` appears in it (true) or `within` passes.
  bool wait_for_output(std::string_view text, std::chrono::milliseconds within) {
    return child_.wait_for_output(text, deadline_in(within));
  }

  // SIGINT and a bounded wait (then SIGKILL); returns the exit status (-1 if it died of a signal or
  // was not running). SIGINT stops a ringcast server at once, clients and all; SIGTERM would drain it
  // over its --drain-window (for that: signal(SIGTERM), then wait()).
  int stop() { return child_.stop(SIGINT); }
  // Sends `signal` and returns at once (a drain: SIGTERM, then wait()).
  void signal(int signal) const { ::kill(child_.pid(), signal); }
  // Its exit status once it has exited (-1: a signal ended it), nullopt while it runs at `deadline`.
  std::optional<int> wait(Deadline deadline) { return child_.wait(deadline); }

  // The port of its metrics listener, from its "metrics on http://ADDRESS:PORT/metrics" line (an App
  // with --metrics-port), waiting up to `within`; 0 when none came.
  int metrics_port(std::chrono::milliseconds within = std::chrono::seconds(5)) {
    int port = 0;
    child_.wait_for_output(
        [&port](std::string_view out) {
          const size_t at = out.find("metrics on http://");
          const size_t end = at == std::string_view::npos ? at : out.find("/metrics", at + 18);
          if (end == std::string_view::npos) return false;
          const size_t colon = out.rfind(':', end);
          port = std::atoi(std::string(out.substr(colon + 1, end - colon - 1)).c_str());
          return true;
        },
        deadline_in(within));
    return port;
  }

  // The port of the first complete "listening on ..." line of `out` (the digits that end it), or 0.
  static int listening_port(std::string_view out) {
    const size_t at = out.find("listening on ");
    if (at == std::string_view::npos) return 0;
    const size_t eol = out.find('\n', at);
    if (eol == std::string_view::npos) return 0;
    std::string_view line = out.substr(at, eol - at);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    size_t digits = line.size();
    while (digits > 0 && line[digits - 1] >= '0' && line[digits - 1] <= '9') --digits;
    return std::atoi(std::string(line.substr(digits)).c_str());
  }

 private:
  ChildProcess child_;
  int port_ = 0;
};

}  // namespace ringcast::test
