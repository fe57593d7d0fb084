#pragma once
// RespWriter: writes RESP2 commands (arrays of bulk strings, as Redis expects them from clients) in
// place, into output space reserved on a connection, so a command costs no allocation. Compute the
// size first with the static helpers, reserve it, then write:
//
//   const size_t n = RespWriter::array_size(2) + RespWriter::bulk_size(9) + RespWriter::bulk_size(ch.size());
//   RespWriter w(loop.write_reserve(c, n).data());
//   w.array(2); w.bulk("SUBSCRIBE"); w.bulk(ch);
//   loop.write_commit(c, w.written());
//
// A bulk string may be written in pieces: bulk_header(total), raw(piece)…, end_bulk().
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace ringcast {

class RespWriter {
 public:
  explicit RespWriter(uint8_t* out) noexcept : start_(out), p_(out) {}

  static constexpr size_t digits(size_t n) noexcept {
    size_t d = 1;
    while (n >= 10) {
      n /= 10;
      ++d;
    }
    return d;
  }
  // "*<n>\r\n"
  static constexpr size_t array_size(size_t n) noexcept { return 1 + digits(n) + 2; }
  // "$<len>\r\n<bytes>\r\n"
  static constexpr size_t bulk_size(size_t len) noexcept { return 1 + digits(len) + 2 + len + 2; }

  void array(size_t n) noexcept { prefixed('*', n); }
  void bulk_header(size_t len) noexcept { prefixed('$', len); }
  void raw(std::string_view s) noexcept {
    if (!s.empty()) std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
  }
  void end_bulk() noexcept { crlf(); }
  void bulk(std::string_view s) noexcept {
    bulk_header(s.size());
    raw(s);
    crlf();
  }

  size_t written() const noexcept { return static_cast<size_t>(p_ - start_); }

 private:
  void prefixed(char c, size_t n) noexcept {
    *p_++ = static_cast<uint8_t>(c);
    const size_t d = digits(n);
    for (size_t i = d; i > 0; --i) {
      p_[i - 1] = static_cast<uint8_t>('0' + n % 10);
      n /= 10;
    }
    p_ += d;
    crlf();
  }
  void crlf() noexcept {
    *p_++ = '\r';
    *p_++ = '\n';
  }

  uint8_t* start_;
  uint8_t* p_;
};

}  // namespace ringcast
