#pragma once
// Programs a test runs: the server programs of build/bin on this test run's backend (ServerProcess,
// start_bundled_server, backend_flags), programs run to their end (run_program), and shell command lines (run_command).
// Every one runs as a ChildProcess: bounded waits, and it dies with the test.
#include <chrono>
#include <string>
#include <vector>

#include "tests/support/child_process.hpp"
#include "tests/support/server_process.hpp"
#include "tests/support/test_support.hpp"

namespace ringcast::test {

// The flags that run a server program on this test run's backend (--backend=...).
inline std::vector<std::string> backend_flags() {
  const std::string& b = backend_name();
  std::vector<std::string> flags = {"--backend", b == "epoll" ? "epoll" : "io_uring"};
  if (b == "io_uring-minimal") flags.insert(flags.end(), {"--io-uring-disable", "all"});
  return flags;
}

// A program of build/bin (ringcast-echo, say) with `args`, on this test run's backend, in the background.
inline ServerProcess start_bundled_server(const char* program, std::vector<std::string> args) {
  args.insert(args.begin(), binary_path(std::string("bin/") + program));
  const std::vector<std::string> backend = backend_flags();
  args.insert(args.end(), backend.begin(), backend.end());
  return ServerProcess(args);
}

// Runs a shell command line for at most `limit`; returns its exit status (-1 if it did not exit, or
// was killed at the limit) and appends its standard output and error to `output`. A command's own
// redirections (2>/dev/null, say) apply as written.
inline int run_command(const std::string& command, std::string& output,
                       std::chrono::milliseconds limit = std::chrono::seconds(120)) {
  ProgramRun run = run_program({"/bin/sh", "-c", command}, {}, limit);
  output += run.output;
  return run.status;
}

}  // namespace ringcast::test
