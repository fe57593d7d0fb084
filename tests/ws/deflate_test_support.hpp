#pragma once
// Shared by the permessage-deflate tests: byte strings, message generators, and a peer built directly on
// zlib (not on ringcast's classes) that plays the other end of a connection.
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace ringcast::test {

inline std::string bytes(std::initializer_list<int> list) {
  std::string s;
  for (int b : list) s.push_back(static_cast<char>(b));
  return s;
}

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

// The receiving end of RFC 7692 §7.2.2 on zlib alone: append 00 00 ff ff, inflate. `strict` inflates one
// output byte per call, so every match must reach into the window zlib holds (2^window_bits bytes); with
// larger output buffers zlib also accepts matches into the current call's output. A final block (BFINAL)
// ends one DEFLATE stream; what follows is inflated as a new one, as browsers do.
class PeerInflater {
 public:
  PeerInflater(int window_bits, bool strict) : window_bits_(window_bits), strict_(strict) {
    if (inflateInit2(&z_, -window_bits) != Z_OK) throw std::runtime_error("inflateInit2");
  }
  ~PeerInflater() { inflateEnd(&z_); }
  PeerInflater(const PeerInflater&) = delete;
  PeerInflater& operator=(const PeerInflater&) = delete;

  // False on invalid data or a message that does not end on a block boundary.
  bool inflate_message(std::string_view payload, std::string& out) {
    std::string in(payload);
    in.append("\x00\x00\xff\xff", 4);
    z_.next_in = reinterpret_cast<Bytef*>(in.data());
    z_.avail_in = static_cast<uInt>(in.size());
    bool ended = false;
    bool boundary = false;
    unsigned char buf[4096];
    for (;;) {
      z_.next_out = buf;
      z_.avail_out = strict_ ? 1 : sizeof buf;
      const uInt out_before = z_.avail_out;
      const uInt in_before = z_.avail_in;
      const int rc = inflate(&z_, Z_NO_FLUSH);
      out.append(reinterpret_cast<char*>(buf), out_before - z_.avail_out);
      if (z_.avail_in < in_before) ended = false;
      // zlib's "between blocks" flag (data_type 128) is only meaningful after a call that moved data.
      if (z_.avail_in < in_before || z_.avail_out < out_before) boundary = (z_.data_type & 128) != 0;
      if (rc == Z_STREAM_END) {
        ended = true;
        inflateReset(&z_);
        continue;
      }
      if (rc != Z_OK && rc != Z_BUF_ERROR) return false;
      if (z_.avail_in == 0 && z_.avail_out > 0) break;
      if (rc == Z_BUF_ERROR) break;
    }
    return ended || boundary;
  }

  int window_bits() const { return window_bits_; }

 private:
  z_stream z_{};
  int window_bits_;
  bool strict_;
};

// The sending end on zlib alone: DEFLATE, Z_SYNC_FLUSH, drop 00 00 ff ff (RFC 7692 §7.2.1).
class PeerDeflater {
 public:
  PeerDeflater(int window_bits, bool takeover, int level = 6) : takeover_(takeover) {
    if (deflateInit2(&z_, level, Z_DEFLATED, -window_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
      throw std::runtime_error("deflateInit2");
    }
  }
  ~PeerDeflater() { deflateEnd(&z_); }
  PeerDeflater(const PeerDeflater&) = delete;
  PeerDeflater& operator=(const PeerDeflater&) = delete;

  // `flush_every` > 0 adds a sync flush after every so many bytes (several blocks per message).
  std::string compress(std::string_view msg, std::size_t flush_every = 0) {
    if (!takeover_) deflateReset(&z_);
    std::string out;
    std::size_t pos = 0;
    do {
      const std::size_t n = flush_every == 0 ? msg.size() - pos : std::min(flush_every, msg.size() - pos);
      feed(msg.substr(pos, n), Z_SYNC_FLUSH, out);
      pos += n;
    } while (pos < msg.size());
    if (out.size() < 4 || out.compare(out.size() - 4, 4, std::string("\x00\x00\xff\xff", 4)) != 0) {
      throw std::runtime_error("sync flush tail missing");
    }
    out.resize(out.size() - 4);
    return out;
  }

  // A message ending in a final block (Z_FINISH), then the RFC 7692 §7.2.3.4 form: one 0x00 after it.
  std::string compress_final(std::string_view msg, bool trailing_empty_block = true) {
    deflateReset(&z_);
    std::string out;
    feed(msg, Z_FINISH, out);
    if (trailing_empty_block) out.push_back('\0');
    return out;
  }

 private:
  void feed(std::string_view in, int flush, std::string& out) {
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z_.avail_in = static_cast<uInt>(in.size());
    unsigned char buf[16384];
    for (;;) {
      z_.next_out = buf;
      z_.avail_out = sizeof buf;
      const int rc = deflate(&z_, flush);
      out.append(reinterpret_cast<char*>(buf), sizeof buf - z_.avail_out);
      if (rc == Z_STREAM_END) return;
      if (z_.avail_out > 0 && z_.avail_in == 0 && flush != Z_FINISH) return;
    }
  }

  z_stream z_{};
  bool takeover_;
};

// Splits `s` into pieces at random points (frames and reads of a message).
inline std::vector<std::string_view> random_split(std::mt19937& rng, std::string_view s, std::size_t max_pieces = 8) {
  std::vector<std::string_view> pieces;
  std::size_t pos = 0;
  const std::size_t n = 1 + rng() % max_pieces;
  for (std::size_t i = 0; i + 1 < n && pos < s.size(); ++i) {
    const std::size_t len = rng() % (s.size() - pos + 1);
    pieces.push_back(s.substr(pos, len));
    pos += len;
  }
  pieces.push_back(s.substr(pos));
  return pieces;
}

}  // namespace ringcast::test
