#pragma once
// BenchReport: how benchmark programs report — a table on stdout and, with --json FILE, the same
// figures as one JSON object {"bench": ..., "machine": {...}, "results": [{...}, ...]}.
#include <fmt/format.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

namespace ringcast::bench {

class BenchReport {
 public:
  using Value = std::variant<int64_t, double, std::string>;
  using Row = std::vector<std::pair<std::string, Value>>;

  explicit BenchReport(std::string name) : name_(std::move(name)) {}

  void add(Row row) { rows_.push_back(std::move(row)); }

  // Prints every row as aligned columns (the keys of the first row are the header).
  void print_table() const {
    if (rows_.empty()) return;
    std::vector<size_t> width;
    for (const auto& [k, v] : rows_.front()) width.push_back(k.size());
    for (const auto& row : rows_) {
      for (size_t i = 0; i < row.size() && i < width.size(); ++i) width[i] = std::max(width[i], text(row[i].second).size());
    }
    std::string line;
    for (size_t i = 0; i < width.size(); ++i) line += fmt::format("{:>{}}  ", rows_.front()[i].first, width[i]);
    fmt::print("{}\n", line);
    for (const auto& row : rows_) {
      line.clear();
      for (size_t i = 0; i < row.size() && i < width.size(); ++i) line += fmt::format("{:>{}}  ", text(row[i].second), width[i]);
      fmt::print("{}\n", line);
    }
  }

  bool write_json(const std::string& path) const {
    std::ofstream out(path);
    if (!out) return false;
    utsname u{};
    ::uname(&u);
    out << fmt::format("{{\"bench\": \"{}\", \"machine\": {{\"kernel\": \"{}\", \"cpus\": {}}}, \"results\": [", name_,
                       u.release, std::thread::hardware_concurrency());
    for (size_t r = 0; r < rows_.size(); ++r) {
      out << (r ? ", {" : "{");
      for (size_t i = 0; i < rows_[r].size(); ++i) {
        out << (i ? ", " : "") << "\"" << rows_[r][i].first << "\": " << json(rows_[r][i].second);
      }
      out << "}";
    }
    out << "]}\n";
    return true;
  }

 private:
  static std::string text(const Value& v) {
    if (auto* i = std::get_if<int64_t>(&v)) return fmt::format("{}", *i);
    if (auto* d = std::get_if<double>(&v)) return fmt::format("{:.3g}", *d);
    return std::get<std::string>(v);
  }
  static std::string json(const Value& v) {
    if (auto* s = std::get_if<std::string>(&v)) return "\"" + *s + "\"";
    if (auto* d = std::get_if<double>(&v)) return fmt::format("{}", *d);
    return text(v);
  }

  std::string name_;
  std::vector<Row> rows_;
};

}  // namespace ringcast::bench
