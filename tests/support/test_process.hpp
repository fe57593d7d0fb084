#pragma once
// ServerProcess: runs a program from build/bin (or any path) in the background for a test, finds the
// port it listens on from its "listening on ADDRESS:PORT" line (stderr or stdout), and stops it with
// SIGTERM when the test ends, returning its exit status.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "tests/support/memory.hpp"
#include "tests/support/test_support.hpp"

namespace ringcast::test {

// The flags that run a server program on this test run's backend (--backend=...).
inline std::vector<std::string> backend_flags() {
  const std::string& b = backend_name();
  std::vector<std::string> flags = {"--backend", b == "epoll" ? "epoll" : "io_uring"};
  if (b == "io_uring-minimal") flags.insert(flags.end(), {"--io-uring-disable", "all"});
  return flags;
}

// Runs a shell command; returns its exit status (-1 if it did not exit) and appends its standard output.
inline int run_command(const std::string& command, std::string& output) {
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) return -1;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) output.append(buf, n);
  const int status = ::pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

class ServerProcess {
 public:
  // argv[0] is the program path. Waits up to 10 s for the "listening on" line.
  explicit ServerProcess(std::vector<std::string> argv) {
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // a test that crashes takes its server with it
      ::dup2(out[1], 1);
      ::dup2(out[1], 2);
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    ::close(out[1]);
    fd_ = out[0];
    std::string seen;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (port_ == 0 && std::chrono::steady_clock::now() < deadline) {
      pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char buf[4096];
      const ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n <= 0) break;
      seen.append(buf, static_cast<size_t>(n));
      if (const size_t at = seen.find("listening on "); at != std::string::npos) {
        const size_t eol = seen.find('\n', at);
        if (eol == std::string::npos) continue;
        const std::string line = seen.substr(at, eol - at);
        port_ = std::atoi(line.c_str() + line.rfind(':') + 1);
      }
    }
    output_ = seen;
    // Keep draining its output so it never blocks on a full pipe.
    ::fcntl(fd_, F_SETFL, O_NONBLOCK);
  }
  ~ServerProcess() { stop(); }

  int port() const noexcept { return port_; }
  pid_t pid() const noexcept { return pid_; }

  // The process's resident memory in KiB (VmRSS), or -1.
  long rss_kib() const { return test::rss_kib(pid_); }

  // Everything it printed so far.
  const std::string& output() {
    char buf[4096];
    ssize_t n;
    while (fd_ >= 0 && (n = ::read(fd_, buf, sizeof buf)) > 0) output_.append(buf, static_cast<size_t>(n));
    return output_;
  }

  // SIGTERM and wait; returns the exit status (-1 if it died of a signal or was not running).
  int stop() {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    output();
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  int port_ = 0;
  std::string output_;
};

}  // namespace ringcast::test
