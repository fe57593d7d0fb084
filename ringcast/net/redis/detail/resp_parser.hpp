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
// `$3\r\nfoo\r\n` (or `$-1\r\n`, null), array `*2\r\n…` (or `*-1\r\n`, null).
//
// Incremental: a reply that is not all there yet is `incomplete`, and the parser keeps its place.
// The next parse() must be given the same reply from its first byte, with more bytes after it (the
// bytes may have moved: a connection's leftover input is copied as it grows); it resumes where it
// stopped, so every byte is examined a bounded number of times however the reply is cut (a line is
// searched for its end once; a bulk payload is never scanned). After `complete` or `malformed`, or
// after reset(), the next parse() starts a new reply.
//
// Bounded: a line longer than max_line, a bulk string longer than max_bulk, an array longer than
// max_array, more than max_values values in one reply or arrays nested deeper than max_depth make
// the reply `malformed` as soon as the header that breaks the limit (or max_line bytes of a line
// without its end) has been seen, so a peer cannot make us buffer or scan more than the limits.
// `malformed` means the stream has lost its framing (or broke a limit): drop the connection.
// error() says why.
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
  enum class Error : uint8_t { none, syntax, line_too_long, bulk_too_long, array_too_long, too_many_values, too_deep };

  struct Limits {
    size_t max_line = 64u << 10;    // bytes of one line (simple string, error, integer, header), CRLF excluded
    size_t max_bulk = 32u << 20;    // bytes of one bulk string (Redis allows 512 MiB; we never need that)
    size_t max_array = 1u << 20;    // elements of one array
    size_t max_values = 1u << 20;   // values in one reply, arrays' elements included (40 bytes each)
    unsigned max_depth = 8;         // nested arrays
  };

  RespParser() : RespParser(Limits{}) {}
  explicit RespParser(Limits limits);

  // Parses (or goes on parsing) the reply at the front of `in`. On `complete`, root() and consumed()
  // describe it.
  Status parse(std::span<const uint8_t> in);
  Status parse(std::string_view in) {
    return parse(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(in.data()), in.size()));
  }
  // Forgets a reply under way (the connection it came from is gone).
  void reset() noexcept { started_ = false; }

  const RespValue& root() const noexcept { return values_[0]; }
  // Element i of `array` (i < array.integer).
  const RespValue& child(const RespValue& array, size_t i) const noexcept { return values_[array.first + i]; }
  // Bytes the last complete reply took.
  size_t consumed() const noexcept { return consumed_; }
  // Why the last parse was malformed.
  Error error() const noexcept { return error_; }
  static const char* describe(Error e) noexcept;
  const Limits& limits() const noexcept { return limits_; }

 private:
  // An array being filled: the slot of its next element, and how many are still to come.
  struct Frame {
    uint32_t next;
    uint32_t left;
  };

  void start() noexcept;
  Status fail(Error e) noexcept {
    error_ = e;
    started_ = false;
    return Status::malformed;
  }
  // The line of the item at pos_: its end is searched for from scan_ on (never twice).
  Status line(std::span<const uint8_t> in, size_t& length);
  // Moves to the next slot to fill once the value in slot_ is complete; true when the reply is.
  bool value_done() noexcept;
  void finish(const uint8_t* base) noexcept;

  Limits limits_;
  std::vector<RespValue> values_;
  std::vector<Frame> stack_;
  size_t pos_ = 0;        // the item being read: its type byte, or its bulk payload once bulk_ >= 0
  size_t scan_ = 0;       // where the search for the current line's CR goes on
  size_t consumed_ = 0;
  int64_t bulk_ = -1;     // the length of the bulk whose payload is awaited
  uint32_t slot_ = 0;     // the value the current item fills
  bool started_ = false;  // a reply is under way: the next parse resumes it
  Error error_ = Error::none;
};

}  // namespace ringcast
