#include <ringcast/core/log.hpp>

#include <unistd.h>

#include <cstdlib>
#include <ctime>

namespace ringcast::log {
namespace {

Level initial_level() noexcept {
  Level l = Level::info;
  if (const char* env = std::getenv("RINGCAST_LOG")) parse_level(env, l);
  return l;
}

std::atomic<Level> g_level{initial_level()};
thread_local int t_shard = -1;

constexpr std::string_view kNames[] = {"debug", "info", "warn", "error", "off"};

}  // namespace

Level level() noexcept { return g_level.load(std::memory_order_relaxed); }
void set_level(Level l) noexcept { g_level.store(l, std::memory_order_relaxed); }
void set_thread_shard(int shard) noexcept { t_shard = shard; }

bool parse_level(std::string_view name, Level& out) noexcept {
  for (int i = 0; i < 5; ++i) {
    if (name == kNames[i]) {
      out = static_cast<Level>(i);
      return true;
    }
  }
  return false;
}

void write(Level lvl, std::string_view line) noexcept {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  tm t{};
  gmtime_r(&ts.tv_sec, &t);
  fmt::memory_buffer buf;
  auto who = t_shard < 0 ? std::string("main") : fmt::format("shard {}", t_shard);
  fmt::format_to(std::back_inserter(buf), "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z {:5} [{}] {}\n",
                 t.tm_year + 1900, t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec,
                 ts.tv_nsec / 1000000, kNames[static_cast<int>(lvl)], who, line);
  const char* p = buf.data();
  size_t left = buf.size();
  while (left > 0) {
    ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n <= 0) break;  // logging must never take the process down
    p += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace ringcast::log
