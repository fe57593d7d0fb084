#include "bench/load/process_stats.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

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

int64_t status_rss_bytes(const std::string& path) {
  std::ifstream in(path);
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

// `pid` and every live descendant (from each thread's "children" list).
std::vector<pid_t> process_tree(pid_t pid) {
  std::vector<pid_t> tree{pid};
  for (size_t i = 0; i < tree.size(); ++i) {
    std::error_code ec;
    for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(tree[i]) + "/task", ec)) {
      std::ifstream in(task.path() / "children");
      for (pid_t child; in >> child;) tree.push_back(child);
    }
  }
  return tree;
}

// The sum of `read` over the tree; -1 when not even the root can be read.
template <typename T, typename Read>
T sum_over_tree(pid_t pid, const char* file, Read read) {
  T total = 0;
  bool root = true;
  for (pid_t p : process_tree(pid)) {
    const T v = read("/proc/" + std::to_string(p) + "/" + file);
    if (v < 0 && root) return -1;
    if (v > 0) total += v;
    root = false;
  }
  return total;
}

}  // namespace

double process_cpu_seconds(pid_t pid) {
  return pid ? sum_over_tree<double>(pid, "stat", stat_cpu_seconds) : stat_cpu_seconds("/proc/self/stat");
}

double thread_cpu_seconds(pid_t tid) { return stat_cpu_seconds("/proc/self/task/" + std::to_string(tid) + "/stat"); }

int64_t process_rss_bytes(pid_t pid) {
  return pid ? sum_over_tree<int64_t>(pid, "status", status_rss_bytes) : status_rss_bytes("/proc/self/status");
}

pid_t current_tid() { return static_cast<pid_t>(::syscall(SYS_gettid)); }

}  // namespace ringcast::load
