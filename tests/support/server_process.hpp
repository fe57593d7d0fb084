#pragma once
// ServerProcess: a server program (from build/bin, or any path) run in the background for a test or a
// benchmark. It finds the port the server listens on from its start-up line, "listening on PORT" or
// "listening on [SCHEME://]ADDRESS:PORT" (standard output or error), and stops it with SIGTERM when
// it goes, returning its exit status. Built on ChildProcess: the same deadlines, the same death signal.
// One thread owns it. Also here: what keeps a process's resident memory (memory.hpp) meaningful
// under ASan.
#include <chrono>
#include <cstdlib>
#include <fstream>
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

  // SIGTERM and a bounded wait (then SIGKILL); returns the exit status (-1 if it died of a signal or
  // was not running).
  int stop() { return child_.stop(SIGTERM); }

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
