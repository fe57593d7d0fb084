#pragma once
// RespParser: reads one RESP2 reply (the Redis serialization protocol, version 2) from the front of
// a byte span, without copying: strings are views into the input. Replies are flattened into a
// vector of values that is reused from reply to reply, so a connection that has warmed up parses
// without allocating.
//
//   RespParser p;
//   while (p.parse(bytes) == RespParser::Status::complete) {
//     const RespValue& reply = p.root();          // p.child(reply, i) for array elements
//     bytes = bytes.subspan(p.consumed());
//   }
//
// RESP2 types: simple string `+OK\r\n`, error `-ERR msg\r\n`, integer `:42\r\n`, bulk string
// `$3\r\nfoo\r\n` (or `$-1\r\n`, null), array `*2\r\n…` (or `*-1\r\n`, null). A reply that is not
// all there yet is `incomplete` and is parsed again from its start once more bytes have come (the
// bulk payload itself is never scanned, so re-parsing costs O(headers)). Bytes that cannot be RESP2
// are `malformed`: the stream has lost its framing and the connection must be dropped.
//
// Owned by one connection; not thread-safe. Views returned point into the span last parsed.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace ringcast {

enum class RespType : uint8_t { simple, error, integer, bulk, array, null };

struct RespValue {
  RespType type = RespType::null;
  std::string_view text;   // simple, error, bulk: the bytes (no CRLF)
  int64_t integer = 0;     // integer: its value; array: its element count
  uint32_t first = 0;      // array: index of its first element in the parser's value list

  bool is_bulk(std::string_view s) const noexcept { return type == RespType::bulk && text == s; }
};

class RespParser {
 public:
  enum class Status : uint8_t { complete, incomplete, malformed };

  struct Limits {
    size_t max_bulk = 512u << 20;  // Redis' own limit for one string
    size_t max_values = 1u << 20;  // values in one reply, arrays' elements included
    unsigned max_depth = 8;        // nested arrays
  };

  RespParser() = default;
  explicit RespParser(Limits limits) : limits_(limits) {}

  // Parses the reply at the front of `in`. On `complete`, root() and consumed() describe it.
  Status parse(std::span<const uint8_t> in);
  Status parse(std::string_view in) {
    return parse(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(in.data()), in.size()));
  }

  const RespValue& root() const noexcept { return values_[0]; }
  // Element i of `array` (i < array.integer).
  const RespValue& child(const RespValue& array, size_t i) const noexcept { return values_[array.first + i]; }
  // Bytes the last complete reply took.
  size_t consumed() const noexcept { return consumed_; }

 private:
  // Reads the line at pos_ up to its CRLF (pos_ moves past it only when complete).
  Status line(std::string_view& out);
  Status integer_line(int64_t& out);
  Status value(uint32_t slot, unsigned depth);

  Limits limits_;
  std::span<const uint8_t> in_;
  size_t pos_ = 0;
  size_t consumed_ = 0;
  std::vector<RespValue> values_;
};

}  // namespace ringcast
