// Fuzzes the RESP2 reply parser: any input, whole and fed in pieces. A complete reply's views lie
// inside the input and its elements are all there; the same reply fed a few bytes at a time, each
// time from a fresh copy (as a connection's leftover input moves), is incomplete until its last byte
// and then the same reply; input that is malformed whole is malformed (never complete) in pieces.
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>

#include <ringcast/net/redis/detail/resp_parser.hpp>

namespace {

using ringcast::RespParser;
using ringcast::RespType;
using ringcast::RespValue;

constexpr RespParser::Limits kLimits{.max_line = 1 << 10, .max_bulk = 1 << 16, .max_array = 1 << 10,
                                     .max_values = 1 << 12, .max_depth = 8};

void check_inside(const RespParser& p, const RespValue& v, const uint8_t* begin, const uint8_t* end) {
  if (v.type == RespType::simple || v.type == RespType::error || v.type == RespType::bulk) {
    const auto* s = reinterpret_cast<const uint8_t*>(v.text.data());
    assert(v.text.empty() || (s >= begin && s + v.text.size() <= end));
    (void)s;
  }
  if (v.type == RespType::array) {
    assert(v.integer >= 0);
    for (int64_t i = 0; i < v.integer; ++i) check_inside(p, p.child(v, static_cast<size_t>(i)), begin, end);
  }
}

// The reply as text, to compare two parses of it.
void dump(const RespParser& p, const RespValue& v, std::string& out) {
  out += static_cast<char>('0' + static_cast<int>(v.type));
  out += std::to_string(v.integer);
  out += ':';
  out += v.text;
  out += ';';
  if (v.type == RespType::array) {
    for (int64_t i = 0; i < v.integer; ++i) dump(p, p.child(v, static_cast<size_t>(i)), out);
  }
}

// Feeds in[0, size) to `p` in pieces of 1..16 bytes chosen by `seed`, from a fresh copy each time.
RespParser::Status feed(RespParser& p, const uint8_t* in, size_t size, uint32_t seed, std::unique_ptr<uint8_t[]>& held) {
  size_t have = 0;
  for (;;) {
    seed = seed * 1103515245u + 12345u;
    have += 1 + (seed >> 16) % 16;
    if (have > size) have = size;
    held = std::make_unique<uint8_t[]>(have ? have : 1);
    std::memcpy(held.get(), in, have);
    const RespParser::Status st = p.parse(std::span<const uint8_t>(held.get(), have));
    if (st != RespParser::Status::incomplete || have == size) return st;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  RespParser p(kLimits);
  const std::span<const uint8_t> in(data, size);
  const uint32_t seed = size > 0 ? data[0] * 2654435761u : 1;
  size_t at = 0;
  while (at < size) {
    const RespParser::Status st = p.parse(in.subspan(at));
    RespParser q(kLimits);
    std::unique_ptr<uint8_t[]> held;
    if (st == RespParser::Status::malformed) {
      // The same bytes in pieces: malformed as well (possibly sooner), never complete.
      assert(feed(q, data + at, size - at, seed, held) == RespParser::Status::malformed);
      break;
    }
    if (st != RespParser::Status::complete) break;
    const size_t used = p.consumed();
    assert(used > 0 && used <= size - at);
    check_inside(p, p.root(), data + at, data + at + used);
    std::string whole;
    dump(p, p.root(), whole);
    const RespParser::Status sq = feed(q, data + at, used, seed, held);
    assert(sq == RespParser::Status::complete);
    assert(q.consumed() == used);
    check_inside(q, q.root(), held.get(), held.get() + used);
    std::string pieces;
    dump(q, q.root(), pieces);
    assert(pieces == whole);
    (void)sq;
    at += used;
  }
  return 0;
}
