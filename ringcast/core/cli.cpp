#include <ringcast/core/cli.hpp>

#include <fmt/format.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>

namespace ringcast {

Cli::Cli(std::string program, std::string description)
    : program_(std::move(program)), description_(std::move(description)) {}

int64_t& Cli::flag(std::string name, int64_t def, std::string help) {
  flags_.push_back({std::move(name), std::move(help), std::to_string(def), std::make_unique<Value>(def)});
  return std::get<int64_t>(*flags_.back().value);
}

std::string& Cli::flag(std::string name, std::string def, std::string help) {
  std::string shown = def.empty() ? "\"\"" : def;
  flags_.push_back({std::move(name), std::move(help), std::move(shown), std::make_unique<Value>(std::move(def))});
  return std::get<std::string>(*flags_.back().value);
}

bool& Cli::flag(std::string name, bool def, std::string help) {
  flags_.push_back({std::move(name), std::move(help), def ? "true" : "false", std::make_unique<Value>(def)});
  return std::get<bool>(*flags_.back().value);
}

double& Cli::flag(std::string name, double def, std::string help) {
  flags_.push_back({std::move(name), std::move(help), fmt::format("{}", def), std::make_unique<Value>(def)});
  return std::get<double>(*flags_.back().value);
}

Cli::Flag* Cli::find(std::string_view name) {
  for (auto& f : flags_) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

bool Cli::assign(Flag& f, std::string_view text, std::string& error) {
  Value& v = *f.value;
  if (auto* i = std::get_if<int64_t>(&v)) {
    int64_t parsed = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), parsed);
    if (ec != std::errc() || end != text.data() + text.size()) {
      error = fmt::format("--{} wants a whole number, not '{}'", f.name, text);
      return false;
    }
    *i = parsed;
  } else if (auto* d = std::get_if<double>(&v)) {
    char* end = nullptr;
    const std::string s(text);
    const double parsed = std::strtod(s.c_str(), &end);
    if (s.empty() || *end != '\0') {
      error = fmt::format("--{} wants a number, not '{}'", f.name, text);
      return false;
    }
    *d = parsed;
  } else if (auto* b = std::get_if<bool>(&v)) {
    if (text == "true" || text == "1" || text == "yes") {
      *b = true;
    } else if (text == "false" || text == "0" || text == "no") {
      *b = false;
    } else {
      error = fmt::format("--{} wants true or false, not '{}'", f.name, text);
      return false;
    }
  } else {
    std::get<std::string>(v) = std::string(text);
  }
  return true;
}

int Cli::parse(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(usage().c_str(), stdout);
      return 0;
    }
    if (arg.substr(0, 2) != "--" || arg.size() == 2) {
      positional_.emplace_back(arg);
      continue;
    }
    arg.remove_prefix(2);
    std::string_view name = arg, value;
    bool has_value = false;
    if (const size_t eq = arg.find('='); eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      has_value = true;
    }
    Flag* f = find(name);
    if (!f && name.substr(0, 3) == "no-") {
      if (Flag* neg = find(name.substr(3)); neg && std::holds_alternative<bool>(*neg->value) && !has_value) {
        std::get<bool>(*neg->value) = false;
        continue;
      }
    }
    if (!f) {
      fmt::print(stderr, "{}: unknown flag --{} (see --help)\n", program_, name);
      return 2;
    }
    if (!has_value) {
      if (std::holds_alternative<bool>(*f->value)) {
        std::get<bool>(*f->value) = true;
        continue;
      }
      if (i + 1 >= argc) {
        fmt::print(stderr, "{}: --{} needs a value (see --help)\n", program_, name);
        return 2;
      }
      value = argv[++i];
    }
    std::string error;
    if (!assign(*f, value, error)) {
      fmt::print(stderr, "{}: {}\n", program_, error);
      return 2;
    }
  }
  return -1;
}

std::string Cli::usage() const {
  std::string out = fmt::format("{} — {}\n\nUsage: {} [flags]\n\nFlags:\n", program_, description_, program_);
  size_t width = 0;
  for (const auto& f : flags_) width = std::max(width, f.name.size() + 2);
  for (const auto& f : flags_) {
    out += fmt::format("  --{:<{}} {} (default: {})\n", f.name, width, f.help, f.def_text);
  }
  out += fmt::format("  --{:<{}} {}\n", "help", width, "print this manual");
  if (!examples_.empty()) {
    out += "\nExamples:\n";
    for (const auto& e : examples_) out += "  " + e + "\n";
  }
  if (!epilog_.empty()) out += "\n" + epilog_ + "\n";
  return out;
}

}  // namespace ringcast
