#pragma once
// Shared by the permessage-deflate tests: byte strings, and a peer built directly on
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

#include "tests/support/sample_messages.hpp"

namespace ringcast::test {

inline std::string bytes(std::initializer_list<int> list) {
  std::string s;
  for (int b : list) s.push_back(static_cast<char>(b));
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
