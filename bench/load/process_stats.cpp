#include "process_stats.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace ringcast::load {
namespace {

// Fields 14 and 15 of a stat file (utime, stime), in clock ticks; the comm field may hold spaces.
double stat_cpu_seconds(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!std::getline(in, line)) return -1;
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  unsigned long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoul(field);
    if (i == 15) stime = std::stoul(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

}  // namespace

double process_cpu_seconds(pid_t pid) {
  return stat_cpu_seconds(pid ? "/proc/" + std::to_string(pid) + "/stat" : "/proc/self/stat");
}

double thread_cpu_seconds(pid_t tid) { return stat_cpu_seconds("/proc/self/task/" + std::to_string(tid) + "/stat"); }

int64_t process_rss_bytes(pid_t pid) {
  std::ifstream in(pid ? "/proc/" + std::to_string(pid) + "/status" : "/proc/self/status");
  std::string key;
  while (in >> key) {
    if (key == "VmRSS:") {
      int64_t kib = -1;
      in >> kib;
      return kib * 1024;
    }
    in.ignore(1 << 20, '\n');
  }
  return -1;
}

pid_t current_tid() { return static_cast<pid_t>(::syscall(SYS_gettid)); }

}  // namespace ringcast::load
