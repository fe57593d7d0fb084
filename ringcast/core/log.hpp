#pragma once
// Structured, leveled logging through fmt. One write(2) per line, so lines from different shards
// never interleave. Callable from any thread; the shard index of the calling thread prefixes each line.
#include <fmt/format.h>

#include <atomic>
#include <string_view>

namespace ringcast::log {

enum class Level : int { debug = 0, info = 1, warn = 2, error = 3, off = 4 };

// Initial level comes from RINGCAST_LOG (debug|info|warn|error|off), default info.
Level level() noexcept;
void set_level(Level level) noexcept;
bool parse_level(std::string_view name, Level& out) noexcept;

// The shard index the calling thread prints (-1: not a shard thread, printed as "main").
void set_thread_shard(int shard) noexcept;

void write(Level level, std::string_view line) noexcept;

template <typename... Args>
void emit(Level lvl, fmt::format_string<Args...> format, Args&&... args) {
  if (lvl < level()) return;
  write(lvl, fmt::vformat(format, fmt::make_format_args(args...)));
}

template <typename... Args>
void debug(fmt::format_string<Args...> f, Args&&... a) { emit(Level::debug, f, std::forward<Args>(a)...); }
template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... a) { emit(Level::info, f, std::forward<Args>(a)...); }
template <typename... Args>
void warn(fmt::format_string<Args...> f, Args&&... a) { emit(Level::warn, f, std::forward<Args>(a)...); }
template <typename... Args>
void error(fmt::format_string<Args...> f, Args&&... a) { emit(Level::error, f, std::forward<Args>(a)...); }

}  // namespace ringcast::log
