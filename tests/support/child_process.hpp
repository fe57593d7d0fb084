#pragma once
// ChildProcess: a program that a test (or a benchmark) runs beside itself, every wait bounded by a
// deadline, so a child that hangs fails its test instead of hanging it.
//
// Started with fork and execv. Its standard output and error go to one pipe, read into output();
// its standard input is /dev/null, or a pipe that write_input() feeds (ChildOptions::input), or with
// ChildOptions::terminal a pseudo-terminal that carries all three (a program that reads a password
// from its terminal). PR_SET_PDEATHSIG stops it when the thread that started it ends, so a test that
// crashes leaves no server behind; a child still running when its ChildProcess goes is killed
// (SIGKILL) and reaped. Only async-signal-safe calls run between fork and exec: the tests that start
// children run threads of their own.
//
// One thread owns a ChildProcess: the one that started it (its end also ends the child). No doctest
// here: benchmark programs use it as well as tests.
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <concepts>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace ringcast::test {

using Deadline = std::chrono::steady_clock::time_point;

inline Deadline deadline_in(std::chrono::milliseconds limit) { return std::chrono::steady_clock::now() + limit; }

struct ChildOptions {
  bool input = false;          // standard input is a pipe for write_input() (else /dev/null)
  bool terminal = false;       // standard input, output and error are one pseudo-terminal
  int death_signal = SIGTERM;  // sent to the child when the thread that started it ends
};

class ChildProcess {
 public:
  // A child that runs nothing (started() is false).
  ChildProcess() = default;
  // Starts argv[0] (a path: no search of PATH) with the rest as its arguments. An exec that fails
  // shows as exit status 127.
  explicit ChildProcess(const std::vector<std::string>& argv, ChildOptions options = {}) { start(argv, options); }
  ~ChildProcess() {
    if (running()) {
      ::kill(pid_, SIGKILL);
      reap(true);
    }
    close_fd(out_);
    close_fd(in_);
  }
  ChildProcess(ChildProcess&& o) noexcept
      : pid_(std::exchange(o.pid_, -1)), out_(std::exchange(o.out_, -1)), in_(std::exchange(o.in_, -1)),
        terminal_(o.terminal_), out_ended_(o.out_ended_), status_(o.status_), output_(std::move(o.output_)) {}
  ChildProcess& operator=(ChildProcess&&) = delete;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool started() const noexcept { return pid_ > 0 || status_.has_value(); }
  bool running() const noexcept { return pid_ > 0; }
  pid_t pid() const noexcept { return pid_; }

  // Writes `text` to its standard input (or terminal) within `limit`; false when it could not.
  bool write_input(std::string_view text, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    const int fd = terminal_ ? out_ : in_;
    const Deadline deadline = deadline_in(limit);
    while (fd >= 0 && !text.empty()) {
      const ssize_t n = ::write(fd, text.data(), text.size());
      if (n > 0) {
        text.remove_prefix(static_cast<size_t>(n));
      } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        pollfd p{.fd = fd, .events = POLLOUT, .revents = 0};
        if (std::chrono::steady_clock::now() >= deadline) return false;
        ::poll(&p, 1, 10);
      } else {
        return false;
      }
    }
    return text.empty();
  }
  // Ends its standard input (a pipe: it reads end of file). On a terminal, input ends with the child.
  void close_input() { close_fd(in_); }

  // Everything it printed so far (reads what is waiting; never blocks).
  const std::string& output() {
    drain();
    return output_;
  }
  // Reads its output until `done(output)` holds, its output ends, or `deadline`; returns done(output).
  template <typename Done>
    requires std::predicate<Done, std::string_view>
  bool wait_for_output(Done done, Deadline deadline) {
    for (;;) {
      drain();
      if (done(std::string_view(output_))) return true;
      if (out_ended_ || std::chrono::steady_clock::now() >= deadline) return false;
      pollfd p{.fd = out_, .events = POLLIN, .revents = 0};
      ::poll(&p, 1, remaining_ms(deadline, 100));
    }
  }
  bool wait_for_output(std::string_view text, Deadline deadline) {
    return wait_for_output([text](std::string_view out) { return out.find(text) != std::string_view::npos; }, deadline);
  }

  // Waits until it exits (reading its output meanwhile): its exit status, -1 when a signal ended it,
  // nullopt when it still runs at `deadline`.
  std::optional<int> wait(Deadline deadline) {
    for (;;) {
      drain();
      if (reap(false) || !running()) return status_;
      if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
      if (out_ended_) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      } else {
        pollfd p{.fd = out_, .events = POLLIN, .revents = 0};
        ::poll(&p, 1, remaining_ms(deadline, 5));
      }
    }
  }

  // Sends `signal` and waits up to `grace` for it to exit; then SIGKILL. Its exit status, or -1 when
  // a signal ended it (the SIGKILL too) or it never started.
  int stop(int signal = SIGTERM, std::chrono::milliseconds grace = std::chrono::seconds(15)) {
    if (running()) {
      ::kill(pid_, signal);
      if (!wait(deadline_in(grace))) {
        ::kill(pid_, SIGKILL);
        reap(true);
      }
    }
    drain();
    return status_.value_or(-1);
  }

 private:
  void start(const std::vector<std::string>& argv, const ChildOptions& options) {
    if (argv.empty()) return;
    // Everything the child needs is made before fork: after it, only system calls.
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    int out[2] = {-1, -1}, in[2] = {-1, -1};
    int child_in = -1, child_out = -1;
    terminal_ = options.terminal;
    if (terminal_) {
      if (::openpty(&out[0], &out[1], nullptr, nullptr, nullptr) != 0) return;
      ::fcntl(out[0], F_SETFD, FD_CLOEXEC);
      ::fcntl(out[1], F_SETFD, FD_CLOEXEC);
      child_in = child_out = out[1];
    } else {
      if (::pipe2(out, O_CLOEXEC) != 0) return;
      ::fcntl(out[0], F_SETPIPE_SZ, 1 << 20);  // a chatty child waits on a full pipe less often
      child_out = out[1];
      if (options.input) {
        if (::pipe2(in, O_CLOEXEC) != 0) return;
        child_in = in[0];
      } else {
        child_in = in[0] = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      }
    }
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, options.death_signal);
      if (::getppid() != parent) ::_exit(127);  // the parent ended before the line above
      if (options.terminal) {
        ::setsid();
        ::ioctl(child_in, TIOCSCTTY, 0);
      }
      ::dup2(child_in, 0);
      ::dup2(child_out, 1);
      ::dup2(child_out, 2);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    if (!terminal_) close_fd(in[0]);
    close_fd(out[1]);
    out_ = out[0];
    in_ = in[1];
    if (pid_ < 0) {
      close_fd(out_);
      close_fd(in_);
      return;
    }
    ::fcntl(out_, F_SETFL, ::fcntl(out_, F_GETFL) | O_NONBLOCK);
    if (in_ >= 0) ::fcntl(in_, F_SETFL, ::fcntl(in_, F_GETFL) | O_NONBLOCK);
  }

  // Reads whatever output is waiting.
  void drain() {
    if (out_ < 0 || out_ended_) return;
    char buf[16384];
    for (;;) {
      const ssize_t n = ::read(out_, buf, sizeof buf);
      if (n > 0) {
        output_.append(buf, static_cast<size_t>(n));
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else {
        // End of file, or EIO: a terminal whose other side has closed.
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) out_ended_ = true;
        return;
      }
    }
  }

  // Collects the exit status; true when the child has exited (`block`: waits for it).
  bool reap(bool block) {
    if (pid_ <= 0) return false;
    int status = 0;
    pid_t r;
    do {
      r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == 0) return false;
    status_ = r == pid_ && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    pid_ = -1;
    drain();  // what it wrote before it ended (not what children it left behind write later)
    return true;
  }

  static int remaining_ms(Deadline deadline, int at_most) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    return left <= 0 ? 0 : left < at_most ? static_cast<int>(left) : at_most;
  }
  static void close_fd(int& fd) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }

  pid_t pid_ = -1;
  int out_ = -1;  // its output (a pipe, or the terminal's master side)
  int in_ = -1;   // its input pipe (ChildOptions::input)
  bool terminal_ = false;
  bool out_ended_ = false;
  std::optional<int> status_;  // once it has exited
  std::string output_;
};

// What a program that ran to its end did.
struct ProgramRun {
  int status = -1;         // exit status; -1 when a signal ended it or it was killed at the limit
  bool timed_out = false;  // still running after `limit`: killed
  std::string output;      // standard output and error, interleaved as written
};

// Runs argv[0] (a path) with `input` on its standard input, for at most `limit`.
inline ProgramRun run_program(const std::vector<std::string>& argv, std::string_view input = {},
                              std::chrono::milliseconds limit = std::chrono::seconds(120)) {
  ChildProcess child(argv, {.input = true});
  ProgramRun run;
  if (!child.started()) return run;
  const Deadline deadline = deadline_in(limit);
  child.write_input(input, limit);
  child.close_input();
  const std::optional<int> status = child.wait(deadline);
  run.timed_out = !status.has_value();
  run.status = run.timed_out ? child.stop(SIGKILL) : *status;
  run.output = child.output();
  return run;
}

}  // namespace ringcast::test
