#pragma once
// Deterministic sample messages for the permessage-deflate tests and bench/deflate_bench.cpp: ~200-byte
// JSON chat messages, English-like text, random bytes, and data full of long-distance repeats.
#include <algorithm>
#include <cstddef>
#include <random>
#include <string>

namespace ringcast::test {

// A chat message of about 200 bytes of JSON.
inline std::string json_message(std::mt19937& rng) {
  static const char* const words[] = {"hello", "world", "the", "quick", "brown", "fox", "jumps", "over", "lazy",
                                      "dog", "chat", "room", "message", "ok", "see", "you", "later", "what"};
  std::string text;
  while (text.size() < 90) {
    text += words[rng() % 18];
    text += ' ';
  }
  return R"({"type":"message","room":"lobby-)" + std::to_string(rng() % 10) + R"(","user":{"id":)" +
         std::to_string(rng() % 100000) + R"(,"name":"user_)" + std::to_string(rng() % 1000) + R"("},"ts":)" +
         std::to_string(1700000000000ULL + rng() % 1000000) + R"(,"text":")" + text + R"("})";
}

// English-like text.
inline std::string text_message(std::mt19937& rng, std::size_t size) {
  static const char* const words[] = {"the", "of", "and", "to", "in", "a", "is", "that", "for", "it", "as",
                                      "was", "with", "be", "by", "on", "not", "server", "connection", "message",
                                      "shard", "window", "buffer", "latency", "throughput", "compression"};
  std::string t;
  while (t.size() < size) {
    t += words[rng() % 26];
    t += rng() % 12 == 0 ? ".\n" : " ";
  }
  t.resize(size);
  return t;
}

inline std::string random_bytes(std::mt19937& rng, std::size_t size) {
  std::string s(size, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

// Copies of earlier bytes at distances up to `max_distance`: exercises long matches and small windows.
inline std::string far_matches(std::mt19937& rng, std::size_t size, std::size_t max_distance = 40000) {
  std::string s;
  while (s.size() < size) {
    if (s.size() > 300 && rng() % 4 == 0) {
      const std::size_t d = 1 + rng() % std::min(s.size(), max_distance);
      const std::size_t len = 3 + rng() % 60;
      for (std::size_t i = 0; i < len; ++i) s.push_back(s[s.size() - d]);
    } else {
      s.push_back(static_cast<char>('a' + rng() % 6));
    }
  }
  s.resize(size);
  return s;
}

}  // namespace ringcast::test
