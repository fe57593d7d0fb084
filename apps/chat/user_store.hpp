#pragma once
// UserStore: the chat's accounts — a name and a password hash (apps/chat/password_hash.hpp) each —
// read from a users file, one `name:hash` per line:
//
//   # comments and blank lines are ignored
//   alice:$scrypt$ln=15,r=8,p=1$<salt>$<key>
//
// Names are 1 to 32 characters of A-Z a-z 0-9 . _ - (they appear in every message and member list,
// so nothing that could be confused or needs escaping). `ringcast-chat adduser FILE NAME` writes
// these lines (set_user_line).
//
// Threads: filled before the server starts, then only read (check() is const): any thread may call
// check() at once (the login threads do; it blocks for a whole hash).
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_map>

#include "apps/chat/password_hash.hpp"

namespace ringcast::chat {

inline constexpr size_t kMaxUserName = 32;

inline bool valid_user_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > kMaxUserName) return false;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// The text of a users file with the line for `name` set to `name:hash`: the first line for that name
// is replaced in place (later duplicates dropped), or the line is appended. Other lines are kept as
// they are; the result ends with a newline.
inline std::string set_user_line(std::string_view text, std::string_view name, std::string_view hash) {
  std::string out;
  bool placed = false;
  while (!text.empty()) {
    const size_t eol = text.find('\n');
    const std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    const size_t colon = line.find(':');
    if (colon != std::string_view::npos && line.substr(0, colon) == name) {
      if (placed) continue;
      placed = true;
      out.append(name).append(":").append(hash).append("\n");
      continue;
    }
    out.append(line).append("\n");
  }
  if (!placed) out.append(name).append(":").append(hash).append("\n");
  return out;
}

class UserStore {
 public:
  // What check() verifies against for an unknown name: a well-formed hash, default parameters.
  static constexpr std::string_view kDummyHash =
      "$scrypt$ln=15,r=8,p=1$W7hKcmHk0wauXYR1ZLG4Vw$b/ybXNk2s7NYz1RxBE4H167kw9q8oBpB0AbpVFHnQPg";

  // Reads a users file's text; on a malformed line returns false with the line number and the
  // reason in `error` (and keeps what was read before it).
  bool load(std::string_view text, std::string& error) {
    size_t number = 0;
    while (!text.empty()) {
      const size_t eol = text.find('\n');
      std::string_view line = text.substr(0, eol);
      text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
      ++number;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      const size_t first = line.find_first_not_of(" \t");
      if (first == std::string_view::npos || line[first] == '#') continue;
      const size_t colon = line.find(':');
      const std::string_view name = line.substr(0, colon);
      if (colon == std::string_view::npos || !valid_user_name(name)) {
        error = "line " + std::to_string(number) + ": expected NAME:HASH with a name of 1 to 32 characters A-Z a-z 0-9 . _ -";
        return false;
      }
      const std::string_view hash = line.substr(colon + 1);
      if (!PasswordHash::parse(hash)) {
        error = "line " + std::to_string(number) + ": '" + std::string(name) +
                "' has no valid scrypt hash ($scrypt$ln=..,r=..,p=..$salt$key); set one with adduser";
        return false;
      }
      if (!users_.emplace(std::string(name), std::string(hash)).second) {
        error = "line " + std::to_string(number) + ": '" + std::string(name) + "' appears twice";
        return false;
      }
    }
    return true;
  }

  bool load_file(const std::string& path, std::string& error) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      error = "cannot read " + path;
      return false;
    }
    std::stringstream text;
    text << in.rdbuf();
    if (!load(text.str(), error)) {
      error = path + ": " + error;
      return false;
    }
    return true;
  }

  // True when `name` exists and `password` is its password. An unknown name costs the same as a
  // known one (a hash is computed against a dummy), so the time taken does not tell which names exist.
  bool check(std::string_view name, std::string_view password) const {
    const auto it = users_.find(std::string(name));
    if (it == users_.end()) {
      verify_password(password, kDummyHash);
      return false;
    }
    return verify_password(password, it->second);
  }

  bool contains(std::string_view name) const { return users_.count(std::string(name)) != 0; }
  size_t size() const noexcept { return users_.size(); }

 private:
  std::unordered_map<std::string, std::string> users_;  // name → PHC string
};

}  // namespace ringcast::chat
