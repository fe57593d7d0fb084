#pragma once
// NetworkLab: hosts for a test, each a network namespace of its own joined by a veth pair to one
// bridge, with an address of its own on a /24 taken from the test's pid (10.200-249.<pid % 256>.0/24,
// so tests running at once do not meet); the test's own namespace has .1 on the bridge, so the test's
// clients reach every host. A program runs on a host behind `ip netns exec` (run, launcher), and a
// host's cable can be pulled and put back (link_down, link_up: its veth's bridge end goes down, so the
// host keeps its address and reaches itself, and nobody else reaches it).
//
// Needs root and iproute2's `ip`; without them the test fails and says so. Names are short
// (interfaces have at most 15 characters): rc<pid>br the bridge, rc<pid>v<i> host i's veth on the
// bridge, rc<pid>-<i> its namespace. The destructor kills every process in the lab's namespaces
// first (deleting a namespace kills nothing), then deletes the namespaces, veths and bridge, whatever
// the test's outcome; construction removes what labs of dead processes left.
//
// Threads: driven by the test's thread; enter() moves another thread into a host's namespace.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/child_process.hpp"
#include "tests/support/server_process.hpp"

namespace ringcast::test {

class NetworkLab {
 public:
  NetworkLab() : pid_(::getpid()) {
    REQUIRE_MESSAGE(::geteuid() == 0, "the network lab needs root (ip netns, bridges, veth pairs); CI runs as root");
    ip_ = find_ip();
    REQUIRE_MESSAGE(!ip_.empty(), "the network lab needs iproute2's `ip` (apt-get install iproute2)");
    remove_leftovers();
    subnet_ = fmt::format("10.{}.{}", 200 + (pid_ / 256) % 50, pid_ % 256);
    bridge_ = fmt::format("rc{}br", pid_);
    try {
      ip({"link", "add", bridge_, "type", "bridge"});
      ip({"addr", "add", subnet_ + ".1/24", "dev", bridge_});
      ip({"link", "set", bridge_, "up"});
    } catch (...) {
      remove_lab(pid_);  // the destructor does not run for a constructor that threw
      throw;
    }
  }
  ~NetworkLab() { remove_lab(pid_); }
  NetworkLab(const NetworkLab&) = delete;
  NetworkLab& operator=(const NetworkLab&) = delete;

  // A new host, at .10 + its index; returns its index.
  size_t add_host() {
    const size_t i = hosts_.size();
    const std::string ns = fmt::format("rc{}-{}", pid_, i);
    const std::string outside = fmt::format("rc{}v{}", pid_, i), inside = fmt::format("rc{}p{}", pid_, i);
    hosts_.push_back({ns, outside, fmt::format("{}.{}", subnet_, 10 + i)});
    ip({"netns", "add", ns});
    ip({"link", "add", outside, "type", "veth", "peer", "name", inside});
    ip({"link", "set", inside, "netns", ns});
    ip({"link", "set", outside, "master", bridge_});
    ip({"link", "set", outside, "up"});
    ip({"-n", ns, "link", "set", inside, "name", "eth0"});
    ip({"-n", ns, "addr", "add", hosts_[i].address + "/24", "dev", "eth0"});
    ip({"-n", ns, "link", "set", "eth0", "up"});
    ip({"-n", ns, "link", "set", "lo", "up"});
    return i;
  }
  const std::string& address(size_t host) const { return hosts_.at(host).address; }

  // The command line that runs a program on `host`: put it before the program's own.
  std::vector<std::string> launcher(size_t host) const { return {ip_, "netns", "exec", hosts_.at(host).ns}; }
  // A server program on `host` (argv[0] its path), as ServerProcess runs one.
  ServerProcess run(size_t host, const std::vector<std::string>& argv,
                    std::chrono::milliseconds ready_within = std::chrono::seconds(10)) const {
    std::vector<std::string> full = launcher(host);
    full.insert(full.end(), argv.begin(), argv.end());
    return ServerProcess(full, ready_within);
  }

  // Pulls `host`'s cable: nothing reaches it and it reaches nobody, until link_up.
  void link_down(size_t host) { ip({"link", "set", hosts_.at(host).veth, "down"}); }
  void link_up(size_t host) { ip({"link", "set", hosts_.at(host).veth, "up"}); }

  // Moves the calling thread into `host`'s network namespace (the sockets it opens from then on are
  // the host's): for a thread of the test's that asks a host something while its cable is out.
  // False when that failed.
  bool enter(size_t host) const {
    const std::string path = "/var/run/netns/" + hosts_.at(host).ns;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    const bool ok = ::setns(fd, CLONE_NEWNET) == 0;
    ::close(fd);
    return ok;
  }

 private:
  struct Host {
    std::string ns;
    std::string veth;  // its end on the bridge
    std::string address;
  };

  static std::string find_ip() {
    for (const char* p : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"}) {
      if (::access(p, X_OK) == 0) return p;
    }
    return {};
  }

  // Runs `ip ARGS`; a failure fails the test with what ip said.
  void ip(const std::vector<std::string>& args) const {
    const ProgramRun run = ip_run(args);
    REQUIRE_MESSAGE(run.status == 0, "ip ", join(args), " failed: ", run.output);
  }
  ProgramRun ip_run(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {ip_};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_program(argv, {}, std::chrono::seconds(30));
  }
  static std::string join(const std::vector<std::string>& words) {
    std::string out;
    for (const std::string& w : words) out += (out.empty() ? "" : " ") + w;
    return out;
  }
  std::vector<std::string> lines_of(const std::vector<std::string>& args) const {
    std::istringstream in(ip_run(args).output);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }

  // Every process in the namespaces of the lab of `pid` killed (and gone), then its namespaces, veths
  // (a veth pair goes with either end) and bridge deleted. Best effort: it runs in a destructor.
  void remove_lab(int pid) const {
    const std::string prefix = fmt::format("rc{}-", pid);
    std::vector<std::string> namespaces;
    for (const std::string& line : lines_of({"netns", "list"})) {
      const std::string name = line.substr(0, line.find(' '));
      if (name.rfind(prefix, 0) == 0) namespaces.push_back(name);
    }
    for (const std::string& ns : namespaces) {
      for (const std::string& p : lines_of({"netns", "pids", ns})) ::kill(std::atoi(p.c_str()), SIGKILL);
    }
    for (const std::string& ns : namespaces) {
      for (int i = 0; i < 200 && !lines_of({"netns", "pids", ns}).empty(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      ip_run({"netns", "del", ns});
    }
    const std::regex veth(fmt::format("^\\d+: (rc{}v\\d+)@", pid));
    for (const std::string& line : lines_of({"-o", "link", "show"})) {
      std::smatch m;
      if (std::regex_search(line, m, veth)) ip_run({"link", "del", m[1].str()});
    }
    ip_run({"link", "del", fmt::format("rc{}br", pid)});
  }

  // Labs whose process is gone: their bridges and namespaces (what a crash, or a kill -9 of the test,
  // leaves).
  void remove_leftovers() const {
    std::vector<int> dead;
    const auto note = [&](const std::string& text, const std::regex& re) {
      std::smatch m;
      if (!std::regex_search(text, m, re)) return;
      const int pid = std::atoi(m[1].str().c_str());
      if (pid != pid_ && ::kill(pid, 0) != 0 && errno == ESRCH) dead.push_back(pid);
    };
    for (const std::string& line : lines_of({"netns", "list"})) note(line, std::regex("^rc(\\d+)-\\d+"));
    for (const std::string& line : lines_of({"-o", "link", "show", "type", "bridge"})) {
      note(line, std::regex("^\\d+: rc(\\d+)br:"));
    }
    std::sort(dead.begin(), dead.end());
    dead.erase(std::unique(dead.begin(), dead.end()), dead.end());
    for (int pid : dead) remove_lab(pid);
  }

  int pid_;
  std::string ip_;
  std::string subnet_;  // the first three numbers of the lab's /24
  std::string bridge_;
  std::vector<Host> hosts_;
};

}  // namespace ringcast::test
