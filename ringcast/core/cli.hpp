#pragma once
// Cli: the command-line flags of a program, which are also its manual. Each flag has a name, a
// default and one line of help; `--help` prints them with the program's description and examples.
//
//   Cli cli("ringcast-tcp-echo", "A raw TCP echo server.");
//   auto& port = cli.flag("port", 9001, "port to listen on");
//   cli.example("ringcast-tcp-echo --port 9001 --shards 2");
//   if (int rc = cli.parse(argc, argv); rc >= 0) return rc;   // --help or a bad flag
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace ringcast {

class Cli {
 public:
  Cli(std::string program, std::string description);

  // Flags: `--name value` or `--name=value`; booleans also as bare `--name`.
  int64_t& flag(std::string name, int64_t def, std::string help);
  std::string& flag(std::string name, std::string def, std::string help);
  bool& flag(std::string name, bool def, std::string help);
  double& flag(std::string name, double def, std::string help);
  void example(std::string line) { examples_.push_back(std::move(line)); }
  // Free text after the flags in --help (exit status, environment, files).
  void epilog(std::string text) { epilog_ = std::move(text); }

  // Returns -1 to go on, 0 after printing --help, 2 after printing an error. Arguments that are not
  // flags are collected in positional().
  int parse(int argc, char** argv);
  const std::vector<std::string>& positional() const noexcept { return positional_; }
  std::string usage() const;

 private:
  using Value = std::variant<int64_t, std::string, bool, double>;
  struct Flag {
    std::string name;
    std::string help;
    std::string def_text;
    std::unique_ptr<Value> value;  // stable address: callers keep references
  };
  Flag* find(std::string_view name);
  bool assign(Flag& f, std::string_view text, std::string& error);

  std::string program_;
  std::string description_;
  std::string epilog_;
  std::vector<Flag> flags_;
  std::vector<std::string> examples_;
  std::vector<std::string> positional_;
};

}  // namespace ringcast
